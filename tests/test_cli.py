"""The skassign command line."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skassign import __version__
from skassign._cli import main
from skassign.datasets import make_tumor_mice
from skassign.utils.discovery import all_designs

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def mice_csv(tmp_path):
    mice = make_tumor_mice()
    mice["sex"] = ["f", "m"] * 10
    mice["age"] = np.arange(20) % 7 + 0.5
    path = tmp_path / "mice.csv"
    mice.to_csv(path, index=False)
    return path


def _run(argv, capsys):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def _assert_one_line_error(status, err, *fragments):
    assert status == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("skassign: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


# ---------------------------------------------------------------------------
# demo


def _table_rows(out):
    return {
        line.split()[0]: [float(v) for v in line.split()[1:]]
        for line in out.splitlines()
        if line.startswith(("control ", "treated "))
    }


def test_demo_reads_like_a_lab_report(capsys):
    status, out, err = _run(["demo", "--n-resamples", "60", "--n-jobs", "1"], capsys)
    assert status == 0, err
    assert err == ""
    # The case study's optimal split: initial-weight mean and SD of each arm.
    rows = _table_rows(out)
    assert {tuple(r[:3]) for r in rows.values()} == {
        (10.0, 302.79, 202.54),
        (10.0, 303.61, 162.12),
    }
    # Which mouse went where: every mouse listed once.
    listed = [
        line.split(":")[1].replace(" ", "").split(",")
        for line in out.replace(",\n", ", ").splitlines()
        if line.startswith(("  control:", "  treated:"))
    ]
    assert sorted(int(n) for arm in listed for n in arm) == list(range(1, 21))
    # What the design optimised, in words, and how it ended.
    assert "differ least between the groups" in out
    assert "= 0.2127 (proven optimal" in out
    # Effect, interval and p-value, once each, in plain words.
    assert "treated minus control): -260.2 mg" in out
    assert "95% confidence interval:" in out
    assert out.count("p-value:") == 1
    pvalue = float(out.split("p-value: ")[1].split()[0])
    assert 1 / 61 <= pvalue <= 0.05
    for jargon in ("delta", "avg_delta_bootstrap", "1 vs 0", "n_bootstrap"):
        assert jargon not in out
    assert max(len(line) for line in out.splitlines()) <= 79


def test_demo_options(capsys, tmp_path):
    path = tmp_path / "mice.csv"
    status, out, _ = _run(
        [
            "demo",
            *("--seed", "3", "--n-mice", "12", "--effect", "-100"),
            *("--n-resamples", "20", "--n-jobs", "1", "--output", path),
        ],
        capsys,
    )
    assert status == 0
    assert "12 mice" in out and "seed 3" in out and "effect -100 mg" in out
    assert [row[0] for row in _table_rows(out).values()] == [6, 6]
    written = pd.read_csv(path)
    assert written.columns.tolist() == [
        "mouse",
        "initial_weight",
        "group",
        "final_weight",
    ]
    assert written["group"].value_counts().tolist() == [6, 6]
    assert f"written to {path}" in out.replace("\n", " ")


# ---------------------------------------------------------------------------
# assign: successful runs


def test_assign_appends_a_group_column_and_keeps_the_rest(mice_csv, tmp_path, capsys):
    out_path = tmp_path / "out.csv"
    argv = ["assign", mice_csv, "--design", "rerandomization", "--groups", "2"]
    argv += ["--columns", "initial_weight", "--seed", "1", "--output", out_path]
    status, out, err = _run(argv, capsys)
    assert status == 0, err
    assert "assigned 20 units to 2 groups of sizes 10, 10 with Rerandomization" in out
    original = mice_csv.read_text().splitlines()
    written = out_path.read_text().splitlines()
    assert written[0] == original[0] + ",group"
    for before, after in zip(original[1:], written[1:], strict=True):
        assert after.rsplit(",", 1)[0] == before
    labels = pd.read_csv(out_path)["group"].to_numpy()
    assert np.bincount(labels).tolist() == [10, 10]
    # Same seed, same assignment.
    again = tmp_path / "again.csv"
    _run(argv[:-1] + [again], capsys)
    assert again.read_text() == out_path.read_text()


def test_assign_to_standard_output_with_default_columns(mice_csv, capsys):
    argv = ["assign", mice_csv, "--design", "Complete-Randomization", "--groups", "3"]
    status, out, err = _run(argv + ["--seed", "0"], capsys)
    assert status == 0
    frame = pd.read_csv(pd.io.common.StringIO(out))
    assert sorted(np.bincount(frame["group"])) == [6, 7, 7]
    # The summary goes to stderr when the data go to stdout.
    assert "on mice, initial_weight, age" in err
    assert "not used (non-numeric): sex" in err


def test_assign_options(mice_csv, tmp_path, capsys):
    out_path = tmp_path / "out.csv"
    frame = pd.read_csv(mice_csv)
    frame["done"] = [0, 1, 1] + [np.nan] * 17
    frame.to_csv(mice_csv, index=False)
    argv = [
        "assign", mice_csv, "--design", "block_randomization",
        "--columns", "initial_weight,sex", "age", "--one-hot",
        "--fixed", "done", "--group-sizes", "8,12", "--param", "n_strata=2",
        "--label-column", "arm", "--seed", "5", "-o", out_path,
    ]  # fmt: skip
    status, out, err = _run(argv, capsys)
    assert status == 0, err
    result = pd.read_csv(out_path)
    assert result["arm"].iloc[:3].tolist() == [0, 1, 1]
    assert np.bincount(result["arm"]).tolist() == [8, 12]
    assert "on initial_weight, age, sex" in out


def test_assign_strata(mice_csv, tmp_path, capsys):
    out_path = tmp_path / "out.csv"
    frame = pd.read_csv(mice_csv)
    frame["cage"] = ["a"] * 7 + ["b"] * 7 + ["c"] * 6
    frame.to_csv(mice_csv, index=False)
    argv = ["assign", mice_csv, "--design", "rerandomization", "--strata", "cage"]
    argv += ["--seed", "3", "-o", out_path]
    status, out, err = _run(argv, capsys)
    assert status == 0, err
    result = pd.read_csv(out_path)
    for cage in "abc":
        counts = np.bincount(result.loc[result["cage"] == cage, "group"], minlength=2)
        assert abs(int(counts[0]) - int(counts[1])) <= 1
    assert "cage" not in out.split(" on ")[1].split(";")[0]
    argv = ["assign", mice_csv, "--design", "rerandomization", "--strata", "pen"]
    _assert_one_line_error(*_run(argv, capsys)[::2], "--strata column 'pen'")
    argv = ["assign", mice_csv, "--design", "rerandomization", "--strata", "cage"]
    argv += ["--columns", "cage,initial_weight"]
    _assert_one_line_error(*_run(argv, capsys)[::2], "holds the strata")


def test_assign_impute(tmp_path, capsys):
    path = tmp_path / "gaps.csv"
    path.write_text("w,site\n1.0,a\n,b\n3.0,\n4.0,a\n5.0,b\n6.0,a\n")
    out_path = tmp_path / "out.csv"
    argv = ["assign", path, "--design", "rerandomization", "--columns", "w,site"]
    argv += ["--one-hot", "--impute", "--seed", "0", "-o", out_path]
    status, _, err = _run(argv, capsys)
    assert status == 0, err
    written = out_path.read_text().splitlines()
    assert written[2] == ",b,0" or written[2] == ",b,1"  # empty cell kept as is


def test_assign_reports_design_warnings(mice_csv, tmp_path, capsys):
    argv = ["assign", mice_csv, "--design", "rerandomization", "--param", "threshold=0"]
    argv += ["--param", "max_draws=50", "--seed", "0", "-o", tmp_path / "o.csv"]
    status, _, err = _run(argv, capsys)
    assert status == 0
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert len(warnings) == 1
    assert warnings[0].startswith("skassign: warning: No randomisation among")


# ---------------------------------------------------------------------------
# assign: one-line errors


@pytest.mark.parametrize(
    "extra, fragments",
    [
        (["--design", "nosuch"], ["unknown design 'nosuch'", "Rerandomization"]),
        (["--design", "rerandomization", "--columns", "weight"],
         ["column 'weight' is not in", "initial_weight"]),
        (["--design", "rerandomization", "--columns", "sex"],
         ["column 'sex' is not numeric", "--one-hot"]),
        (["--design", "rerandomization", "--columns", "age,age"], ["given twice"]),
        (["--design", "rerandomization", "--groups", "30"],
         ["n_samples=20 is smaller than n_groups=30"]),
        (["--design", "rerandomization", "--groups", "1"], ["'n_groups' parameter"]),
        (["--design", "rerandomization", "--group-sizes", "5,5"],
         ["sum to 10", "n_samples=20"]),
        (["--design", "rerandomization", "--group-sizes", "5,x"],
         ["comma-separated integers"]),
        (["--design", "rerandomization", "--param", "foo=1"],
         ["no parameter 'foo'", "acceptance_prob"]),
        (["--design", "rerandomization", "--param", "threshold"], ["KEY=VALUE"]),
        (["--design", "rerandomization", "--param", "acceptance_prob=2"],
         ["'acceptance_prob' parameter of Rerandomization"]),
        (["--design", "rerandomization", "--param", "threshold=1",
          "--param", "acceptance_prob=0.1"], ["either threshold or acceptance_prob"]),
        (["--design", "rerandomization", "--label-column", "sex"],
         ["already has a column 'sex'"]),
        (["--design", "rerandomization", "--fixed", "cage"],
         ["--fixed column 'cage' is not in"]),
        (["--design", "rerandomization", "--fixed", "age"],
         ["fixed_labels must contain integers"]),
        (["--design", "rerandomization", "--fixed", "mice", "--columns", "mice"],
         ["cannot also be a covariate"]),
    ],
)  # fmt: skip
def test_assign_bad_requests(mice_csv, tmp_path, capsys, extra, fragments):
    argv = ["assign", mice_csv, *extra, "--seed", "0", "-o", tmp_path / "o.csv"]
    status, out, err = _run(argv, capsys)
    _assert_one_line_error(status, err, *fragments)
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize(
    "content, fragments",
    [
        ("", ["is empty"]),
        ("w,v\n", ["no data rows"]),
        ("w,v\n1,2\n3,4,5,6\n", ["cannot parse", "as CSV"]),
        ("w,v\n1,\n2,3\n3,4\n", ["column 'v' has 1 missing value(s)", "--impute"]),
        ("w,v\n1,inf\n2,3\n3,4\n", ["column 'v' has infinite values"]),
        ("name,site\na,x\nb,y\n", ["has no numeric column", "--columns"]),
        ("w\n1\n", ["n_samples=1 is smaller than n_groups=2"]),
    ],
)
def test_assign_bad_files(tmp_path, capsys, content, fragments):
    path = tmp_path / "in.csv"
    path.write_text(content)
    status, _, err = _run(["assign", path, "--design", "rerandomization"], capsys)
    _assert_one_line_error(status, err, *fragments)


def test_assign_unreadable_inputs(tmp_path, capsys):
    status, _, err = _run(
        ["assign", tmp_path / "no.csv", "--design", "rerandomization"], capsys
    )
    _assert_one_line_error(status, err, "does not exist")
    status, _, err = _run(["assign", tmp_path, "--design", "rerandomization"], capsys)
    _assert_one_line_error(status, err, "is a directory")
    binary = tmp_path / "data.xlsx"
    binary.write_bytes(b"PK\x03\x04\xff\xfe\x00\x81")
    status, _, err = _run(["assign", binary, "--design", "rerandomization"], capsys)
    _assert_one_line_error(status, err, "not UTF-8 text")


def test_assign_unwritable_output(mice_csv, tmp_path, capsys):
    target = tmp_path / "missing-dir" / "out.csv"
    argv = ["assign", mice_csv, "--design", "rerandomization", "-o", target]
    status, _, err = _run(argv, capsys)
    _assert_one_line_error(status, err, "cannot write")


# ---------------------------------------------------------------------------
# designs, help, version, python -m


def test_designs_lists_every_design(capsys):
    status, out, _ = _run(["designs"], capsys)
    assert status == 0
    names = [line.split()[0] for line in out.splitlines()]
    assert names == [name for name, _ in all_designs()]


def test_help_and_version(capsys):
    assert _run(["--version"], capsys)[1].strip() == f"skassign {__version__}"
    status, out, _ = _run(["--help"], capsys)
    assert status == 0 and "demo" in out and "assign" in out
    status, out, _ = _run(["assign", "--help"], capsys)
    assert status == 0 and "--design NAME" in out and "--one-hot" in out
    status, _, err = _run([], capsys)
    assert status == 2 and "required" in err
    status, _, err = _run(["assign", "x.csv", "--groups", "two"], capsys)
    assert status == 2 and "invalid int value" in err and "Traceback" not in err


def _python_m(*args, stdin=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "skassign", *map(str, args)],
        capture_output=True,
        text=True,
        input=stdin,
        env=env,
        timeout=120,
    )


def test_python_m_skassign(mice_csv):
    result = _python_m("assign", "-", "--design", "rerandomization", "--seed", "2",
                       stdin=mice_csv.read_text())  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "mice,initial_weight,sex,age,group"
    assert len(result.stdout.splitlines()) == 21
    failed = _python_m("assign", "nowhere.csv", "--design", "rerandomization")
    assert failed.returncode == 2
    assert failed.stdout == ""
    assert failed.stderr == (
        "skassign: error: input file 'nowhere.csv' does not exist.\n"
    )


def test_assign_batch_layout_on_categorical_columns(tmp_path, capsys):
    animals = pd.DataFrame(
        {
            "id": [f"m{i}" for i in range(12)],
            "strain": ["A"] * 6 + ["B"] * 6,
            "sex": ["F", "M"] * 6,
            "earmark": ["L", "R", "2L"] * 4,
        }
    )
    path = tmp_path / "animals.csv"
    animals.to_csv(path, index=False)
    out = tmp_path / "out.csv"
    status, _, err = _run(
        [
            "assign",
            path,
            "--design",
            "batch-layout",
            "--group-sizes",
            "6,6",
            "--columns",
            "strain,sex,earmark",
            "--param",
            "balance=['strain']",
            "--param",
            "keep_together=['strain', 'sex']",
            "--param",
            "keep_separate=['earmark']",
            "--param",
            "subgroup_sizes=(1, 3, 3)",
            "--seed",
            "0",
            "-o",
            out,
        ],
        capsys,
    )
    assert status == 0, err
    result = pd.read_csv(out)
    assert result["group"].value_counts().tolist() == [6, 6]
    assert result.groupby("group_cage")["group"].nunique().max() == 1
    assert pd.crosstab(result["group"], result["strain"]).values.tolist() == [
        [3, 3],
        [3, 3],
    ]
    status, _, err = _run(
        [
            "assign",
            path,
            "--design",
            "BatchLayout",
            "--group-sizes",
            "6,6",
            "--param",
            "keep_together=['strain']",
            "--param",
            "subgroup_sizes=(4, 4, 4)",
            "--seed",
            "0",
        ],
        capsys,
    )
    assert status != 0
    assert "subgroup_sizes" in err and len(err.strip().splitlines()) == 1
