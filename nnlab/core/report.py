"""Reporting stage: what a run's model gets right and wrong, as a page that opens offline.

    nnlab report runs/<run>                 -> runs/<run>/report/: index.html, report.json, *.png
    nnlab report runs/<run> --split val     on the run's validation split
    nnlab report runs/<a> runs/<b>          a's report, and a against b on the same test items

The model is the one ``nnlab predict`` uses (:func:`nnlab.core.calibration.served_model_path`:
calibrated.keras when it is current, else best.keras); the pictures of what the model learned
show the run's own model file (the same weights). For every class output of the task:

- ``per_class``: scikit-learn's ``classification_report(..., output_dict=True)`` as it is
  (precision, recall, F1, support per class; accuracy, macro and weighted averages);
- the confusion matrix, counts and row-normalised, class names on the axes;
- the most confidently wrong items (index in the split, true class, predicted class, probability);
- the reliability diagram and ECE, before and after calibration when the run is calibrated;

and the learning curves with the learning rate per epoch (history.json). ``report.json``
holds every number: ``per_class`` is the first class output's dict (fashion: ``class``; tickets:
``department``), ``outputs`` has each class output's. A task adds its own sections through its
package's ``insight.py`` (found by name, as tasks are: ``nnlab.fashion.insight``,
``nnlab.tickets.insight``): ``sections(context) -> [Section, ...]`` and, optionally,
``prepare(run_dir, task, config) -> (task, splits)`` where its data need the run folder.

Two runs: the accuracy difference (a - b) with a bootstrap 95 % interval and McNemar's exact
test (:mod:`nnlab.core.comparison`, as X1), the items where they disagree, both confusion
matrices side by side. Both runs must be of the same task and score the same items.
"""

import dataclasses
import importlib
import json
from pathlib import Path

import numpy as np

from nnlab.core.errors import NnlabError
from nnlab.core.report_page import Section, escape  # noqa: F401  (task insight modules take them from here)

REPORT_DIR = "report"
WRONG_ITEMS = 24  # most confidently wrong items listed per class output
DISAGREEMENTS = 30  # items listed where two runs disagree
SPLITS = ("test", "val")


@dataclasses.dataclass
class Context:
    """What a report is made from; task insight modules read it."""

    run_dir: Path
    out_dir: Path
    task: object
    config: object
    split: str
    splits: object
    x: object
    y: object
    model: object  # the served model (calibrated when current)
    raw: object  # the run's own model file (best.keras, ...)
    model_path: Path
    raw_path: Path
    note: str  # which model and why (served_model_path's note)
    probabilities: dict  # class output -> (n, K), served model
    raw_probabilities: dict  # the same from the raw model
    outputs: dict = dataclasses.field(default_factory=dict)  # class output -> numbers (per_class, confusion, wrong)

    def labels(self, output):
        return next(o.labels for o in self.task.outputs if o.name == output)

    def true(self, output):
        from nnlab.core.calibration import labels_of, named_targets

        return labels_of(named_targets(self.y, self.task)[output])


def insight_module(task):
    """The task package's ``insight`` module (its own report sections), or None."""
    package = type(task).__module__.rpartition(".")[0]
    try:
        return importlib.import_module(f"{package}.insight")
    except ModuleNotFoundError as error:
        if error.name != f"{package}.insight":
            raise
        return None


def _head(values, count):
    if count is None:
        return values
    if isinstance(values, dict):
        return {key: value[:count] for key, value in values.items()}
    return values[:count]


def load_context(run_dir, split="test", limit=None, out_dir=None):
    """Load a finished run's model (as ``nnlab predict`` picks it), its split, and the predictions."""
    from nnlab.core.calibration import class_outputs, predict_outputs, served_model_path
    from nnlab.core.runs import model_file, read_run
    from nnlab.core.saving import load_model
    from nnlab.core.task import get_task, num_samples

    run_dir = Path(run_dir)
    if split not in SPLITS:
        raise NnlabError(f"--split must be test or val, got {split!r}.")
    if not run_dir.is_dir():
        raise NnlabError(f"{run_dir} is not a run folder; `nnlab runs list` shows the runs.")
    info = read_run(run_dir)
    if info["status"] != "finished":
        raise NnlabError(f"{run_dir} is {info['status']}" + (f" ({info['broken']})" if info["broken"] else "")
                         + "; a report needs a finished run (`nnlab train --resume` continues one).")
    task = get_task(info["config"].get("task", "fashion"))
    config = task.config_from_dict(info["config"])
    if split == "val" and not config.has_validation():
        raise NnlabError(f"{run_dir} was trained without a validation split; use --split test.")
    if not class_outputs(task):
        raise NnlabError(f"{run_dir}: the {task.name} task has no class output to report on.")
    insight = insight_module(task)
    if insight is not None and hasattr(insight, "prepare"):
        task, splits = insight.prepare(run_dir, task, config)
    else:
        splits = task.load_data(config)
    x, y = (splits.x_val, splits.y_val) if split == "val" else (splits.x_test, splits.y_test)
    if limit is not None:
        if limit < 1:
            raise NnlabError(f"--limit must be an integer >= 1, got {limit}.")
        x, y = _head(x, min(limit, num_samples(y))), _head(y, min(limit, num_samples(y)))
    path, note = served_model_path(run_dir)
    raw_path = model_file(run_dir)
    model = load_model(path)
    raw = model if path == raw_path else load_model(raw_path)
    probabilities = predict_outputs(model, x, task)
    raw_probabilities = probabilities if raw is model else predict_outputs(raw, x, task)
    return Context(run_dir, Path(out_dir or run_dir / REPORT_DIR), task, config, split, splits, x, y, model, raw,
                   path, raw_path, note, probabilities, raw_probabilities)


# ---------------------------------------------------------------- numbers


def output_numbers(ctx, output):
    """per_class (scikit-learn's dict), confusion counts, ECE before/after and the most confidently wrong items."""
    from sklearn.metrics import classification_report, confusion_matrix

    from nnlab.core.calibration import ece

    labels = list(ctx.labels(output))
    true, p = ctx.true(output), ctx.probabilities[output]
    predicted = p.argmax(axis=-1)
    classes = list(range(len(labels)))
    per_class = classification_report(true, predicted, labels=classes, target_names=labels, output_dict=True,
                                      zero_division=0)
    counts = confusion_matrix(true, predicted, labels=classes)
    confidence = p[np.arange(len(p)), predicted]
    wrong = np.flatnonzero(predicted != true)
    wrong = wrong[np.argsort(-confidence[wrong], kind="stable")][:WRONG_ITEMS]
    calibrated = ctx.model is not ctx.raw
    return {
        "labels": labels,
        "per_class": per_class,
        "confusion_matrix": counts.tolist(),  # rows true, columns predicted
        "ece": {"model": float(ece(ctx.raw_probabilities[output], true)),
                **({"calibrated": float(ece(p, true))} if calibrated else {})},
        "wrong": [{"index": int(i), "true": labels[true[i]], "predicted": labels[predicted[i]],
                   "probability": float(confidence[i])} for i in wrong],
    }


def compare(ctx_a, ctx_b, seed=0):
    """Run a against run b on the same items, first class output: paired_comparison and where they disagree."""
    from nnlab.core.calibration import class_outputs
    from nnlab.core.comparison import paired_comparison

    if ctx_a.task.name.split("_")[0] != ctx_b.task.name.split("_")[0]:
        raise NnlabError(f"{ctx_a.run_dir} is a {ctx_a.task.name} run and {ctx_b.run_dir} a {ctx_b.task.name} run; "
                         "compare two runs of the same task.")
    output = class_outputs(ctx_a.task)[0]
    true_a, true_b = ctx_a.true(output), ctx_b.true(output)
    if len(true_a) != len(true_b) or not np.array_equal(true_a, true_b) or ctx_a.labels(output) != ctx_b.labels(output):
        raise NnlabError(f"{ctx_a.run_dir} and {ctx_b.run_dir} are scored on different {ctx_a.split} items "
                         f"({len(true_a)} and {len(true_b)}, or other labels): they were trained on other data or "
                         "splits, so they cannot be compared item by item.")
    pa, pb = ctx_a.probabilities[output], ctx_b.probabilities[output]
    a, b = pa.argmax(axis=-1), pb.argmax(axis=-1)
    stats = paired_comparison(a == true_a, b == true_a, seed=seed)
    labels = ctx_a.labels(output)
    disagree = np.flatnonzero(a != b)
    return {"output": output, "a": ctx_a.run_dir.name, "b": ctx_b.run_dir.name, **stats,
            "disagreements": len(disagree),
            "disagreeing_items": [{"index": int(i), "true": labels[true_a[i]], "a": labels[a[i]],
                                   "a_probability": float(pa[i, a[i]]), "b": labels[b[i]],
                                   "b_probability": float(pb[i, b[i]])} for i in disagree[:DISAGREEMENTS]],
            "confusion_matrix_b": np.asarray(ctx_b.outputs[output]["confusion_matrix"]).tolist()}


# ---------------------------------------------------------------- the report


def write_report(run_dir, other=None, split="test", limit=None):
    """Write ``run_dir/report/`` (index.html, report.json, pictures); returns the index.html path."""
    from nnlab.core import report_page
    from nnlab.core.calibration import class_outputs
    from nnlab.core.runs import write_json

    ctx = load_context(run_dir, split, limit)
    ctx.out_dir.mkdir(exist_ok=True)
    sections = []
    for output in class_outputs(ctx.task):
        ctx.outputs[output] = output_numbers(ctx, output)
        sections += report_page.output_sections(ctx, output)
    sections.append(report_page.curves_section(ctx))
    insight = insight_module(ctx.task)
    if insight is not None:
        sections += insight.sections(ctx)
    comparison = None
    if other is not None:
        ctx_b = load_context(other, split, limit)
        for output in class_outputs(ctx_b.task):
            ctx_b.outputs[output] = output_numbers(ctx_b, output)
        comparison = compare(ctx, ctx_b)
        sections.insert(0, report_page.comparison_section(ctx, ctx_b, comparison))
    first = class_outputs(ctx.task)[0]
    report = {"run": ctx.run_dir.name, "task": ctx.task.name, "split": ctx.split,
              "items": int(len(ctx.true(first))), "model": ctx.model_path.name, "model_note": ctx.note,
              "per_class": ctx.outputs[first]["per_class"], "outputs": ctx.outputs,
              "sections": {s.key: s.data for s in sections if s.data is not None},
              **({"comparison": comparison} if comparison else {})}
    write_json(ctx.out_dir / "report.json", json.loads(json.dumps(report, default=_plain)))
    return report_page.write_index(ctx, sections)


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
