"""Real trainings on the full Fashion-MNIST (slow: about a minute in all).

They check figures against what the seeds report, so a regression in the data
pipeline, the presets or the training loop shows up as a wrong number.
"""

import json

import pytest

from nnlab.core.training import train
from nnlab.fashion.task import TASK
from nnlab.seeds.reproduce import reproduce

pytestmark = pytest.mark.slow


def test_seeds_final_pipeline_learns_on_the_full_data(splits, tmp_path):
    # Three epochs of the main job; the seeds' E10 reaches ~0.88 val accuracy after ten.
    result = train(TASK.config("seeds-final", epochs=3, verbose=0, runs_dir=str(tmp_path)), splits=splits)
    assert result.metrics["epochs_run"] == 3
    assert result.metrics["val"]["accuracy"] > 0.85
    assert result.metrics["test"]["accuracy"] > 0.84
    history = json.loads((result.run_dir / "history.json").read_text())
    assert history["val_loss"][-1] < history["val_loss"][0]


def test_reproduce_e2_matches_the_seeds(tmp_path):
    # E2 on the full data: Dense(10, softmax), RMSprop, 5 epochs, batch 32 (1,500 steps per epoch).
    reproduce(only="E2", out=tmp_path, verbose=0)
    results = json.loads((tmp_path / "results.json").read_text())
    figures = results["experiments"]["E2"]["figures"]
    assert len(figures) == 5
    assert [f["verdict"] for f in figures] == ["matches"] * 5, figures
