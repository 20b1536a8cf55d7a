"""``nnlab predict`` with the run's Keras-free exported model (nnlab.core.exported): same output, no Keras."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from nnlab.core.exported import load_exported
from nnlab.fashion.data import CLASS_NAMES
from nnlab.fashion.photoset import main as write_photos

RUN = "runs/tiny"


@pytest.fixture
def run(tiny_run, tmp_path):
    shutil.copytree(tiny_run.run_dir, tmp_path / RUN)
    return tmp_path / RUN


@pytest.fixture
def photos(tmp_path, capsys):
    write_photos([str(tmp_path / "photos"), "--n", "8"])  # 8: the one-row-per-file table
    capsys.readouterr()
    return "photos"


@pytest.fixture
def no_keras_loading(monkeypatch):
    """Make loading a model with Keras fail: what still works used the exported file."""
    import nnlab.core.saving

    def refuse(*args, **kwargs):
        raise AssertionError("the Keras model was loaded")

    monkeypatch.setattr(nnlab.core.saving, "load_model", refuse)


# JSON, the one-row-per-file table (8 photos), the one-column-per-photo table, the CSV file
CASES = (["photos", "--json"], ["photos"], ["photos/0000.jpg", "photos/0001.png"], ["photos", "--out", "p.csv"])


def outputs(run_cli):
    """What ``nnlab predict`` prints (or writes, for --out) in each of CASES."""
    results = []
    for args in CASES:
        code, out, err = run_cli("predict", RUN, *args)
        assert code == 0 and "Traceback" not in err and "note:" not in err, err
        results.append(open("p.csv").read() if "--out" in args else out)
    return results


def test_the_first_predict_writes_it_and_the_next_give_the_same_bytes(run_cli, run, photos, monkeypatch,
                                                                      request):
    monkeypatch.setenv("NNLAB_EXPORT", "0")
    with_keras = outputs(run_cli)
    assert not (run / "best.keras.jaxexport").exists()  # turned off: none written
    monkeypatch.setenv("NNLAB_EXPORT", "1")
    assert outputs(run_cli) == with_keras  # the first with Keras, which writes the exported copy
    assert (run / "best.keras.jaxexport").is_file()
    request.getfixturevalue("no_keras_loading")
    assert outputs(run_cli) == with_keras  # all with the exported copy


def test_a_damaged_file_is_noted_in_one_line_and_written_again(run_cli, run, photos):
    assert run_cli("predict", RUN, photos, "--json")[0] == 0
    good = (run / "best.keras.jaxexport").read_bytes()
    (run / "best.keras.jaxexport").write_bytes(good[:len(good) // 2])
    code, out, err = run_cli("predict", RUN, photos, "--json")
    assert code == 0 and len(json.loads(out)) == 8
    notes = [line for line in err.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "best.keras.jaxexport is truncated or damaged" in notes[0]
    assert notes[0].endswith("; predicting with Keras") and "Traceback" not in err
    load_exported(run / "best.keras")  # written again, whole


def test_calibrate_writes_it_and_predict_gives_the_calibrated_model_s_probabilities(run_cli, run, photos,
                                                                                   request):
    from nnlab.core.saving import load_model
    from nnlab.fashion.photos import load_photos

    code, out, _ = run_cli("calibrate", RUN, "--ood-images", "1000", "--ood-photos", "100")
    assert code == 0 and "wrote runs/tiny/calibrated.keras.jaxexport (the same model without Keras" in out
    keras_model = load_model(run / "calibrated.keras")
    request.getfixturevalue("no_keras_loading")
    code, out, err = run_cli("predict", RUN, photos, "--json")
    assert code == 0 and "model: runs/tiny/calibrated.keras (calibrated, T = " in err
    rows = json.loads(out)
    expected = keras_model.predict(load_photos([row["image"] for row in rows]), verbose=0)
    got = np.array([[row["probabilities"][name] for name in CLASS_NAMES] for row in rows])
    np.testing.assert_allclose(got, expected, atol=1e-5)  # rounded to 6 places: 5e-7 of that is rounding


def test_a_cold_predict_imports_no_keras(run_cli, run, photos, tmp_path):
    assert run_cli("predict", RUN, photos, "--json")[0] == 0  # writes the exported copy
    code = ("import sys\nfrom nnlab.cli import main\ntry:\n    main(['predict', 'runs/tiny', 'photos/0001.png'])\n"
            "except SystemExit as done:\n    print('exit', done.code, sorted(m for m in ('keras', 'sklearn', "
            "'tensorflow', 'matplotlib', 'scipy.stats') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={**os.environ, "NNLAB_CACHE_DIR": str(tmp_path / "cache")})
    assert done.stdout.strip().splitlines()[-1] == "exit 0 []", done.stdout + done.stderr
    assert "predicted" in done.stdout and "model: runs/tiny/best.keras" in done.stderr
