"""``nnlab predict --executor ray`` (Ray Data) gives the local ``nnlab predict``'s rows, and finds its sources.

The photos come from both generators (nnlab's photoset and the independent one, in a
folder tree) with the unreadable kinds beside them; the model is the session's tiny run.
"""

import csv
import os
import subprocess
import sys
from pathlib import Path

import pyarrow
import pyarrow.parquet
import pytest
from hypothesis import given, settings, strategies as st

from nnlab.core.errors import NnlabError
from nnlab.fashion import photoset, photoset_independent
from nnlab.fashion.batch_predict import find_sources, output_format

NNLAB = str(Path(sys.executable).with_name("nnlab"))


def nnlab(cwd, *args):
    return subprocess.run([NNLAB, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NNLAB_OFFLINE": "1", "COLUMNS": "200"})


@pytest.fixture
def tree(tmp_path, capsys):
    """``shop/``: 4 photos of each generator in subfolders, and the unreadable files (empty, truncated, ...)."""
    photoset.main([str(tmp_path / "shop" / "own"), "--n", "4"])
    photoset_independent.main([str(tmp_path / "shop" / "other" / "deeper"), "--n", "4"])
    bad = tmp_path / "shop" / "bad"
    bad.mkdir()
    for name, data in photoset.bad_files().items():
        (bad / name).write_bytes(data)
    capsys.readouterr()
    return tmp_path / "shop"


def rows(path):
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


def same_rows(local, other):
    """The same header and cells; probabilities equal to 1e-6 (both are rounded to 6 places)."""
    assert local[0] == other[0] and len(local) == len(other)
    for a, b in zip(local[1:], other[1:]):
        for x, y in zip(a, b):
            try:
                assert float(x) == pytest.approx(float(y), abs=1e-6)
            except ValueError:
                assert x == y


def test_ray_data_gives_the_local_rows_for_a_folder_tree_with_unreadable_files(ray_address, tiny_run, tree,
                                                                                 tmp_path):
    run = tiny_run.run_dir
    local = nnlab(tmp_path, "predict", run, "shop", "--out", "local.csv")
    assert local.returncode == 0, local.stderr
    ray = nnlab(tmp_path, "predict", run, "shop", "--out", "ray.csv", "--executor", "ray", "--jobs", "2",
                "--address", ray_address)
    assert ray.returncode == 0 and "Traceback" not in ray.stderr, ray.stderr
    expected = rows(tmp_path / "local.csv")
    same_rows(expected, rows(tmp_path / "ray.csv"))
    assert len(expected) == 1 + 8 + len(photoset.bad_files())
    unreadable = [row for row in expected if row[1] == "unreadable"]
    assert len(unreadable) == len(photoset.bad_files()) and all(row[-1] for row in unreadable)
    assert "4 unreadable files listed with their reason" in ray.stdout and "skipped" in ray.stderr

    # A CSV list and a glob as sources, Parquet out: the rows of the local command given the same files.
    listed = [row[0] for row in expected[1:] if row[0].startswith("shop/own")]
    (tmp_path / "list.csv").write_text("image\n" + "\n".join(listed) + "\n")
    parquet = nnlab(tmp_path, "predict", run, "list.csv", "shop/other/**/*", "--out", "p.parquet",
                    "--executor", "ray", "--address", ray_address)
    assert parquet.returncode == 0, parquet.stderr
    globbed = sorted(str(p.relative_to(tmp_path)) for p in (tree / "other").rglob("*") if p.is_file())
    assert "shop/other/deeper/labels.csv" in globbed  # a glob's files as the shell gives them: an unreadable row
    files = nnlab(tmp_path, "predict", run, *listed, *globbed, "--out", "files.csv")
    assert files.returncode == 0, files.stderr
    table = pyarrow.parquet.read_table(tmp_path / "p.parquet")
    got = [["" if v is None else str(v) for v in row.values()] for row in table.to_pylist()]
    same_rows(rows(tmp_path / "files.csv"), [table.column_names, *got])


def test_ray_predict_refuses_other_output_files(tiny_run, tree, tmp_path):
    result = nnlab(tmp_path, "predict", tiny_run.run_dir, "shop", "--out", "p.txt", "--executor", "ray")
    assert result.returncode == 2 and "--out must be a .csv or .parquet file" in result.stderr
    assert "Traceback" not in result.stderr


@settings(max_examples=20, deadline=None)
@given(st.lists(st.sampled_from(["a.png", "b.jpg", "sub/c.webp", "sub/deep/d.png", "e.txt", ".hidden/f.png"]),
                unique=True, min_size=1))
def test_sources_are_folders_globs_and_lists(tmp_path_factory, names):
    root = tmp_path_factory.mktemp("sources")
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"x")
    images = sorted(n for n in names if not n.endswith(".txt") and not n.startswith("."))
    assert sorted(str(p.relative_to(root)) for p in find_sources([root])) == images
    globbed = find_sources([f"{root}/**/*.png"])
    assert sorted(str(p.relative_to(root)) for p in globbed) == sorted(  # hidden ones left out, as by the shell
        n for n in names if n.endswith(".png") and not n.startswith("."))
    (root / "list.csv").write_text("path,label\n" + "".join(f"{n},0\n" for n in names))
    assert [str(p.relative_to(root)) for p in find_sources([root / "list.csv"])] == names  # as listed, from its folder
    pyarrow.parquet.write_table(pyarrow.table({"image": [str(root / n) for n in names]}), root / "list.parquet")
    assert find_sources([root / "list.parquet"]) == [root / n for n in names]


def test_output_format_names_the_file():
    assert output_format("x/y.PARQUET") == "parquet"
    with pytest.raises(NnlabError, match="got p.json"):
        output_format("p.json")
