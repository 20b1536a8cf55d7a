"""``nnlab report``'s Fashion-MNIST sections: what a CNN's first convolution learned and shows."""

import json
import shutil

import keras
import numpy as np
import pytest

from nnlab.core.report import REPORT_DIR, write_report
from nnlab.core.training import train
from nnlab.fashion.insight import _activations, _first_conv
from nnlab.fashion.task import TASK


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory, small_splits):
    config = TASK.config("cnn", runs_dir=str(tmp_path_factory.mktemp("cnn")), epochs=1, verbose=0, name="cnn")
    return train(config, splits=small_splits).run_dir


def test_first_convolution_filters_and_activation_maps(cnn_run, small_splits, tmp_path):
    run_dir = shutil.copytree(cnn_run, tmp_path / "cnn")
    write_report(run_dir, limit=500)
    report = json.loads((run_dir / REPORT_DIR / "report.json").read_text())
    model = keras.models.load_model(run_dir / "best.keras")
    conv = _first_conv(model)
    assert report["sections"]["learned"] == {"layer": conv.name, "filters": int(conv.kernel.shape[-1])}
    for picture in ("conv-filters.png", "conv-activations.png", "wrong-gallery.png"):
        assert (run_dir / REPORT_DIR / picture).stat().st_size > 5000
    # The maps are the convolution's output: the same as Keras' own sub-model up to that layer.
    x = small_splits.x_test[:4]
    expected = keras.Model(model.inputs, conv.output).predict(x, verbose=0)
    np.testing.assert_allclose(_activations(model, conv, x), expected, rtol=1e-5, atol=1e-6)
