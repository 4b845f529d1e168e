"""The command line with hostile input (issue 16, items 6-8)."""

import numpy as np
import pandas as pd
import pytest

from skassign._cli import main
from skassign.datasets import make_tumor_mice
from skassign.utils.discovery import all_designs


def _run(argv, capsys):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def _error_line(status, err):
    assert status == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("skassign: error: "), err
    return lines[0]


@pytest.fixture
def mice_csv(tmp_path):
    mice = make_tumor_mice()
    mice["age"] = np.arange(20) % 7 + 0.5
    path = tmp_path / "mice.csv"
    mice.to_csv(path, index=False)
    return path


# Item 6: every listed design works from the command line.


@pytest.mark.parametrize("name", [name for name, _ in all_designs()])
def test_every_design_assigns_from_the_command_line(name, mice_csv, capsys):
    argv = ["assign", mice_csv, "--design", name, "--seed", 1]
    argv += ["--columns", "initial_weight", "age"]
    if name == "OptimalBalance":
        argv += ["--param", "time_limit=5"]
    status, out, err = _run(argv, capsys)
    assert status == 0, err
    assert "error" not in err
    labels = pd.read_csv(pd.io.common.StringIO(out))["group"]
    assert sorted(np.bincount(labels).tolist()) == [10, 10]


# Item 7: a numeric column with a few bad cells is an error naming column,
# row and value, whatever the options.

_TYPO = 'id,weight,sex\n1,70.1,f\n2,"69,4",m\n3,71.0,f\n4,68.2,m\n5,66.0,f\n6,72,m\n'


@pytest.mark.parametrize(
    "extra",
    [[], ["--columns", "weight"], ["--columns", "weight", "--one-hot"]],
    ids=["default-columns", "columns", "one-hot"],
)
def test_typo_in_a_numeric_column_is_an_error(extra, tmp_path, capsys):
    path = tmp_path / "typo.csv"
    path.write_text(_TYPO)
    status, _, err = _run(
        ["assign", path, "--design", "complete-randomization", "--seed", 0, *extra],
        capsys,
    )
    line = _error_line(status, err)
    assert "'weight'" in line and "data row 2" in line and "'69,4'" in line


def test_text_column_with_one_hot_still_works(tmp_path, capsys):
    path = tmp_path / "typo.csv"
    path.write_text(_TYPO)
    status, out, err = _run(
        ["assign", path, "--design", "complete-randomization", "--seed", 0]
        + ["--columns", "sex", "--one-hot"],
        capsys,
    )
    assert status == 0, err


# Item 8: seeds, overwriting, duplicate names, the --fixed column.


def test_param_random_state_is_the_seed(mice_csv, capsys):
    base = ["assign", mice_csv, "--design", "rerandomization"]
    status, by_param, err = _run([*base, "--param", "random_state=3"], capsys)
    assert status == 0 and "seed 3;" in err
    status, by_seed, _ = _run([*base, "--seed", 3], capsys)
    assert by_param == by_seed
    status, _, err = _run([*base, "--seed", 4, "--param", "random_state=3"], capsys)
    assert "disagree" in _error_line(status, err)


def test_output_is_not_overwritten_without_force(mice_csv, tmp_path, capsys):
    before = mice_csv.read_text()
    base = ["assign", mice_csv, "--design", "complete-randomization", "--seed", 0]
    status, _, err = _run([*base, "--output", mice_csv], capsys)
    assert "--force" in _error_line(status, err)
    assert mice_csv.read_text() == before
    out = tmp_path / "out.csv"
    out.write_text("keep me\n")
    status, _, err = _run([*base, "--output", out], capsys)
    assert "--force" in _error_line(status, err)
    assert out.read_text() == "keep me\n"
    status, _, err = _run([*base, "--output", out, "--force"], capsys)
    assert status == 0, err
    assert "group" in pd.read_csv(out).columns


def test_duplicate_column_names_are_refused(tmp_path, capsys):
    path = tmp_path / "dup.csv"
    path.write_text("a,b,a\n1,2,3\n4,5,6\n7,8,9\n10,11,12\n")
    status, _, err = _run(
        ["assign", path, "--design", "complete-randomization", "--seed", 0], capsys
    )
    assert "column 'a' appears more than once" in _error_line(status, err)


@pytest.mark.parametrize("cell", ["x", "inf", "0.5"])
def test_bad_fixed_cell_names_the_column_and_row(cell, tmp_path, capsys):
    path = tmp_path / "fixed.csv"
    path.write_text(f"w,arm\n1.0,0\n2.0,{cell}\n3.0,\n4.0,1\n5.0,\n6.0,\n")
    status, _, err = _run(
        ["assign", path, "--design", "complete-randomization", "--seed", 0]
        + ["--columns", "w", "--fixed", "arm"],
        capsys,
    )
    line = _error_line(status, err)
    assert "--fixed column 'arm'" in line and "data row 2" in line
