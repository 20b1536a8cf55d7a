"""``nnlab data info | show`` on the real data and on a folder of the user's own IDX files."""

import pytest
from PIL import Image

from helpers import write_idx_folder


def test_data_info(run_cli):
    code, out, _ = run_cli("data", "info")
    assert code == 0
    assert "(60000, 28, 28)" in out and "(10000,)" in out and "uint8" in out
    assert out.count(" ok") == 4 and "official Fashion-MNIST" in out
    assert "6,000" in out and "Ankle boot" in out


def test_data_info_on_own_data(run_cli, isolated_data):
    write_idx_folder(isolated_data / "mine")
    with pytest.warns(UserWarning, match="SHA-256 mismatch"):
        code, out, _ = run_cli("data", "info", "--data-dir", isolated_data / "mine")
    assert code == 0
    assert "(30, 28, 28)" in out and out.count("differs") == 4 and "not the official files" in out


def test_data_show_writes_a_png(run_cli, tmp_path):
    code, out, _ = run_cli("data", "show", "--n", "10", "samples.png")
    assert code == 0 and "wrote samples.png" in out
    with Image.open(tmp_path / "samples.png") as image:
        assert image.format == "PNG" and image.width > image.height  # one row of ten
