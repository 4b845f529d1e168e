"""``skassign compare`` (kept apart from tests/test_cli.py)."""

import pandas as pd
import pytest

from skassign._cli import main
from skassign.datasets import make_tumor_mice


@pytest.fixture
def mice_csv(tmp_path):
    mice = make_tumor_mice(n_mice=12)
    mice["age"] = [3.0, 5.0, 4.0, 6.0, 2.0, 7.0] * 2
    path = tmp_path / "mice.csv"
    mice.to_csv(path, index=False)
    return path


def _run(argv, capsys):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_compare_writes_the_table(mice_csv, tmp_path, capsys):
    output = tmp_path / "table.csv"
    argv = [
        "compare", mice_csv,
        "--design", "complete-randomization",
        "--design", "rerandomization:acceptance_prob=0.2,max_draws=1000",
        "--outcome", "tumor", "--noise-sd", "10",
        "--effects", "0", "-250",
        "--n-experiments", "6", "--n-jobs", "1",
        "--columns", "initial_weight", "age",
        "-o", output,
    ]  # fmt: skip
    status, out, err = _run(argv, capsys)
    assert status == 0, err
    table = pd.read_csv(output)
    assert table["design"].tolist() == [
        "complete-randomization",
        "complete-randomization",
        "rerandomization:acceptance_prob=0.2,max_draws=1000",
        "rerandomization:acceptance_prob=0.2,max_draws=1000",
    ]
    assert table["effect"].tolist() == [0, -250, 0, -250]
    assert (table["n_experiments"] == 6).all() and (table["n_failed"] == 0).all()
    assert "compared 2 design(s) over 6 simulated experiments" in out
    # Same seed, same table (timing aside), also with two jobs.
    again = tmp_path / "again.csv"
    argv[argv.index("1")] = "2"
    argv[-1] = again
    assert _run(argv, capsys)[0] == 0
    pd.testing.assert_frame_equal(
        table.drop(columns="time_per_assignment"),
        pd.read_csv(again).drop(columns="time_per_assignment"),
    )


def test_compare_linear_outcome_with_randomization_test_to_stdout(mice_csv, capsys):
    status, out, err = _run(
        [
            "compare",
            mice_csv,
            "--design",
            "complete-randomization",
            "--effects",
            "1",
            "--n-experiments",
            "3",
            "--n-jobs",
            "1",
            "--test",
            "randomization",
            "--n-resamples",
            "19",
        ],  # fmt: skip
        capsys,
    )
    assert status == 0, err
    assert out.splitlines()[0].startswith("design,effect,n_experiments")
    assert "randomization test" in err


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--design", "no-such-design"], "unknown design 'no-such-design'"),
        (["--design", "complete-randomization:speed=3"], "has no parameter 'speed'"),
        (
            [
                "--design",
                "complete-randomization",
                "--outcome",
                "tumor",
                "--weight-column",
                "w",
            ],
            "column 'w' is not in",
        ),  # fmt: skip
        (
            [
                "--design",
                "complete-randomization",
                "--design",
                "complete-randomization",
            ],
            "given twice",
        ),  # fmt: skip
        (
            ["--design", "complete-randomization", "--n-experiments", "0"],
            "at least 1",
        ),
    ],
)
def test_compare_errors_are_one_line(mice_csv, capsys, extra, fragment):
    status, _, err = _run(["compare", mice_csv, *extra], capsys)
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("skassign: error: ")
    assert fragment in lines[0]
