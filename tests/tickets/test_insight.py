"""``nnlab report`` on a ticket run: per-department report, priority error by department and level, worst-routed."""

import json
import shutil

import keras
import numpy as np
import pytest
from sklearn.metrics import classification_report

from nnlab.core.report import REPORT_DIR, write_report
from nnlab.tickets.task import TASK


@pytest.fixture
def ticket_copy(ticket_run, tmp_path):
    return shutil.copytree(ticket_run, tmp_path / "tiny")


def _test_split(run_dir):
    config = TASK.config_from_dict(json.loads((run_dir / "config.json").read_text()))
    state = TASK.preprocessing(run_dir)
    splits = TASK.with_labels(state.labels).load_data(config, preprocessing=state)
    return splits, state.labels


def test_ticket_report_against_scikit_learn_and_numpy(ticket_copy):
    import nnlab.tickets  # noqa: F401  registers the ticket models' classes

    write_report(ticket_copy)
    report = json.loads((ticket_copy / REPORT_DIR / "report.json").read_text())
    splits, labels = _test_split(ticket_copy)
    model = keras.models.load_model(ticket_copy / "best.keras")
    outputs = model.predict(splits.x_test, verbose=0)
    outputs = outputs if isinstance(outputs, dict) else dict(zip(model.output_names, outputs))
    true = splits.y_test["department"].argmax(axis=1)
    predicted = outputs["department"].argmax(axis=1)
    departments = labels["department"]
    assert report["per_class"] == classification_report(
        true, predicted, labels=list(range(len(departments))), target_names=departments, output_dict=True,
        zero_division=0)
    error = np.abs(outputs["priority"].reshape(-1) - splits.y_test["priority"].reshape(-1))
    priority = report["sections"]["priority"]
    assert priority["mae"] == pytest.approx(error.mean(), rel=1e-6)
    for index, name in enumerate(departments):
        mask = true == index
        if mask.any():
            assert priority["by_department"][name]["mae"] == pytest.approx(error[mask].mean(), rel=1e-6)
            assert priority["by_department"][name]["tickets"] == mask.sum()
    assert sum(entry["tickets"] for entry in priority["by_level"].values()) == len(true)
    worst = report["sections"]["worst_routed"]
    source = splits.source
    tickets = source.tickets.take(source.indices["test"])
    assert worst, "a 2-epoch model on 400 tickets routes some tickets wrongly"
    for entry in worst:
        assert entry["title"] == tickets.title[entry["index"]]
        assert entry["true"] != entry["predicted"] and entry["true"] == tickets.labels["department"][entry["index"]]
    page = (ticket_copy / REPORT_DIR / "index.html").read_text()
    assert "Worst-routed tickets" in page and "Priority error by department and by level" in page
