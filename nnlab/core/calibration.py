"""Calibration stage: temperature scaling of any task's class outputs, and how well calibrated they are.

    nnlab calibrate runs/<name>          fits T on the run's validation split and writes, atomically:
        calibrated.keras    the run's model with each class output divided by its temperature
                            (built-in Keras layers and ops only: keras.models.load_model reads it
                            in safe mode without nnlab)
        calibrated.keras.jaxexport   its Keras-free copy for a fast cold `nnlab predict`
                            (nnlab.core.exported; JAX backend, one-input models)
        calibration.json    T per output, accuracy / NLL / Brier / ECE before and after on val and test
                            (and what the task fits besides: the fashion task's "ood" detector)
        reliability.png     reliability diagram of the test split, before and after
        ood.keras           fashion runs: the "not an item" detector (nnlab.fashion.ood)

    >>> from nnlab.core.calibration import calibration_metrics, fit_temperature, scale_probabilities
    >>> t = fit_temperature(p_val, y_val)                       # the validation split, never the test split
    >>> calibration_metrics(scale_probabilities(p_test, t), y_test)      # seeds-final: T = 0.970
    {'accuracy': 0.8703, 'nll': 0.3605, 'brier': 0.1843, 'ece': 0.0118}

Temperature scaling (Guo et al. 2017, "On calibration of modern neural networks") divides
a classifier's logits ``z`` by one number ``T > 0``, fitted to minimise the negative
log-likelihood on held-out data: ``T > 1`` softens over-confident probabilities, ``T < 1``
sharpens under-confident ones; the arg-max, so the accuracy, never changes. Our models end
in a softmax, so the logits are taken back from the probabilities: ``softmax(log(p) / T)``
equals ``softmax(z / T)`` (``log p = z - logsumexp(z)``, and a softmax ignores a constant shift).

Measured on full-data runs (T fitted on the 12,000 validation images, ECE on the 10,000 test
images): seeds-final T = 0.970, test ECE 1.37 % -> 1.18 %; cnn T = 1.133, 0.91 % -> 0.84 %.

Metrics, for ``n`` samples and ``K`` classes (``y`` integer labels or one-hot rows):

    accuracy   share of samples whose most probable class is the label
    nll        mean of -log p[label] (the cross-entropy loss)
    brier      mean over samples of sum over classes of (p_k - [k == label])^2, in 0..2
    ece        expected calibration error: the samples put in 15 equal-width bins of confidence
               (the top probability; bin m holds ((m-1)/15, m/15]), the mean over bins of
               |accuracy - mean confidence| weighted by each bin's share of samples
"""

import hashlib
import json
import math
from pathlib import Path

import numpy as np

from nnlab.core.errors import NnlabError

BINS = 15
CALIBRATED_FILE = "calibrated.keras"
CALIBRATION_FILE = "calibration.json"
RELIABILITY_FILE = "reliability.png"
TEMPERATURE_RANGE = (0.05, 20.0)  # searched on a log scale
_TINY = 1e-12  # floor of a probability before its log: -27.6, far below any real log-probability


# ---------------------------------------------------------------- the math


def labels_of(y):
    """Integer labels from labels or one-hot rows."""
    y = np.asarray(y)
    return y.argmax(axis=-1) if y.ndim == 2 else y.astype(np.int64).reshape(-1)


def _check(probabilities, y):
    p = np.asarray(probabilities, np.float64)
    labels = labels_of(y)
    if p.ndim != 2 or len(p) != len(labels) or not len(p):
        raise NnlabError(f"expected probabilities of shape (n, classes) and n labels with n >= 1, got "
                         f"{p.shape} and {len(labels)} labels.")
    if labels.min() < 0 or labels.max() >= p.shape[1]:
        raise NnlabError(f"labels must be in 0..{p.shape[1] - 1}, got {labels.min()}..{labels.max()}.")
    return p, labels


def scale_probabilities(probabilities, temperature):
    """``softmax(log(p) / T)`` row by row, in float64: the probabilities temperature scaling gives."""
    if not temperature > 0:
        raise NnlabError(f"temperature must be > 0, got {temperature}.")
    logits = np.log(np.clip(np.asarray(probabilities, np.float64), _TINY, 1.0)) / temperature
    logits -= logits.max(axis=-1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=-1, keepdims=True)


def nll(probabilities, y):
    p, labels = _check(probabilities, y)
    return float(-np.mean(np.log(np.clip(p[np.arange(len(p)), labels], _TINY, 1.0))))


def brier(probabilities, y):
    p, labels = _check(probabilities, y)
    target = np.zeros_like(p)
    target[np.arange(len(p)), labels] = 1.0
    return float(np.mean(np.sum((p - target) ** 2, axis=1)))


def reliability(probabilities, y, bins=BINS):
    """Per confidence bin: ``count``, mean ``confidence`` and ``accuracy`` (NaN in empty bins), and ``edges``."""
    p, labels = _check(probabilities, y)
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == labels).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.searchsorted(edges[1:-1], confidence, side="left")  # bin m holds ((m-1)/bins, m/bins]
    count = np.bincount(index, minlength=bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(index, confidence, minlength=bins) / count
        accuracy = np.bincount(index, correct, minlength=bins) / count
    return {"edges": edges, "count": count, "confidence": mean_confidence, "accuracy": accuracy}


def ece(probabilities, y, bins=BINS):
    """Expected calibration error with ``bins`` equal-width confidence bins (0 = perfectly calibrated)."""
    table = reliability(probabilities, y, bins)
    used = table["count"] > 0
    gaps = np.abs(table["accuracy"][used] - table["confidence"][used])
    return float(np.sum(table["count"][used] * gaps) / table["count"].sum())


def calibration_metrics(probabilities, y, bins=BINS):
    """``{"accuracy", "nll", "brier", "ece"}`` of class probabilities against labels."""
    p, labels = _check(probabilities, y)
    return {"accuracy": float(np.mean(p.argmax(axis=1) == labels)), "nll": nll(p, labels),
            "brier": brier(p, labels), "ece": ece(p, labels, bins)}


def fit_temperature(probabilities, y, bounds=TEMPERATURE_RANGE):
    """The ``T`` in ``bounds`` that minimises the NLL of ``scale_probabilities(p, T)``: a 1-D search on log T.

    Fit it on a validation split; the test split then measures the result honestly.
    """
    from scipy.optimize import minimize_scalar

    p, labels = _check(probabilities, y)
    log_p = np.log(np.clip(p, _TINY, 1.0))
    picked = log_p[np.arange(len(p)), labels]

    def loss(log_t):  # NLL of softmax(log_p / T); log-sum-exp kept stable by the row maximum
        z = log_p / math.exp(log_t)
        top = z.max(axis=1)
        return float(np.mean(top + np.log(np.exp(z - top[:, None]).sum(axis=1)) - picked / math.exp(log_t)))

    result = minimize_scalar(loss, bounds=tuple(math.log(b) for b in bounds), method="bounded",
                             options={"xatol": 1e-5})
    return float(math.exp(result.x))


# ---------------------------------------------------------------- the calibrated model


def _fresh_inputs(model, x):
    """New keras.Input tensors like the model's own inputs (or, for a subclassed model, like the data ``x``)."""
    import keras

    try:
        structure = model.input  # Functional: a tensor, list or dict of KerasTensors, as it was built
    except (AttributeError, ValueError):
        structure = getattr(model, "inputs", None)  # Sequential: a list; a subclassed model: None
    if isinstance(structure, (list, tuple)) and len(structure) == 1:
        structure = structure[0]  # Sequential: one input, called with one array
    if structure is not None:
        return keras.tree.map_structure(
            lambda t: keras.Input(shape=tuple(t.shape[1:]), dtype=t.dtype, name=t.name), structure)
    if isinstance(x, dict):
        return {name: keras.Input(shape=np.shape(v)[1:], name=name) for name, v in x.items()}
    return keras.Input(shape=np.shape(x)[1:])


def _scaled(probabilities, temperature, name):
    """softmax(log(p) / T) from built-in pieces: two keras.ops nodes, Rescaling(1/T), Activation("softmax")."""
    import keras

    log_p = keras.ops.log(keras.ops.maximum(probabilities, _TINY))
    return keras.layers.Activation("softmax", name=name)(
        keras.layers.Rescaling(1.0 / temperature, name=f"{name}_temperature")(log_p))


def calibrated_model(model, temperatures, x=None):
    """``model`` with each output named in ``temperatures`` ({output name: T}) temperature-scaled.

    The result is a Functional model that calls ``model`` (nested, weights shared) and ends each
    scaled output in ``softmax(log(p) / T)`` made of built-in layers and ops only, so plain
    ``keras.models.load_model`` reads its ``.keras`` file in safe mode (provided the original
    model's own layers are built-in). Other outputs pass through unchanged; outputs keep their
    names. A one-output model takes any single name (the task's, e.g. ``class``). ``x``: sample
    inputs, needed only for a subclassed ``model`` (no symbolic inputs).
    """
    import keras

    inputs = _fresh_inputs(model, x)
    outputs = model(inputs)
    names = list(getattr(model, "output_names", None) or [layer.name for layer in model.layers[-1:]])
    if not isinstance(outputs, (list, tuple, dict)):
        if len(temperatures) != 1:
            raise NnlabError(f"model '{model.name}' has one output; give one temperature, got {temperatures}.")
        name = names[0] if names and names[0] != model.name else "calibrated_output"
        scaled = _scaled(outputs, next(iter(temperatures.values())), name)
    else:
        if isinstance(outputs, dict):
            names, values = list(outputs), list(outputs.values())
        else:
            values = list(outputs)
        unknown = set(temperatures) - set(names)
        if unknown:
            raise NnlabError(f"model '{model.name}' has no output {sorted(unknown)}; its outputs: {names}.")
        scaled = [_scaled(v, temperatures[n], n) if n in temperatures else keras.layers.Identity(name=n)(v)
                  for n, v in zip(names, values)]
        scaled = dict(zip(names, scaled)) if isinstance(outputs, dict) else scaled
    return keras.Model(inputs, scaled, name=f"{model.name}_calibrated")


# ---------------------------------------------------------------- reliability diagram


def plot_reliability(curves, path, title=None, bins=BINS):
    """Reliability diagram: accuracy against confidence per bin, one line per entry of ``curves``.

    ``curves`` maps a label to ``(probabilities, y)`` (e.g. ``{"before (T=1)": ..., "after (T=1.21)": ...}``).
    The lower panel shows how many samples each bin holds (log scale).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nnlab.core.plots import save_figure

    fig, (ax, counts) = plt.subplots(2, 1, figsize=(6, 7), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.plot([0, 1], [0, 1], color="gray", linestyle="--", label="perfect calibration")
    centres = None
    for (label, (probabilities, y)), marker in zip(curves.items(), "os^v"):
        table = reliability(probabilities, y, bins)
        used = table["count"] > 0
        centres = (table["edges"][:-1] + table["edges"][1:]) / 2
        ax.plot(table["confidence"][used], table["accuracy"][used], marker=marker, ms=4,
                label=f"{label}: ECE {100 * ece(probabilities, y, bins):.2f} %")
        counts.step(centres, table["count"], where="mid", label=label)
    ax.set(xlim=(0, 1), ylim=(0, 1), ylabel="accuracy in bin", title=title or "reliability")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    counts.set(xlabel=f"confidence (top probability), {bins} equal-width bins", ylabel="samples", yscale="log")
    counts.grid(alpha=0.3)
    return save_figure(fig, path)


# ---------------------------------------------------------------- a run folder


def class_outputs(task):
    """Names of the task's class outputs (outputs with labels)."""
    return [output.name for output in task.outputs if output.labels is not None]


def named_predictions(model, predictions, task):
    """``model.predict`` output as ``{output name: array}``, named by the task's outputs."""
    if not task.multi_output:
        return {task.outputs[0].name: np.asarray(predictions)}
    if isinstance(predictions, dict):
        return {name: np.asarray(value) for name, value in predictions.items()}
    names = list(getattr(model, "output_names", None) or [o.name for o in task.outputs])
    return {name: np.asarray(value) for name, value in zip(names, predictions)}


def named_targets(y, task):
    return y if isinstance(y, dict) else {task.outputs[0].name: y}


def file_digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_calibration(run_dir):
    """A run's calibration.json as a dict, or None (absent or unreadable)."""
    try:
        value = json.loads((Path(run_dir) / CALIBRATION_FILE).read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def calibrated_path(run_dir):
    """``(path, None)`` of a run's calibrated.keras when it is there and made from the run's current model;
    else ``(None, reason)`` (reason None when the run was simply never calibrated). Imports no Keras."""
    from nnlab.core.runs import model_file

    run_dir = Path(run_dir)
    path = run_dir / CALIBRATED_FILE
    if not path.is_file():
        return None, None
    info = read_calibration(run_dir)
    if info is None:
        return None, f"{run_dir / CALIBRATION_FILE} is missing or unreadable"
    source = model_file(run_dir)
    if source.name != info.get("source_model") or file_digest(source) != info.get("source_sha256"):
        return None, (f"{path.name} was made from another {info.get('source_model')} than the run has now; "
                      f"run `nnlab calibrate {run_dir}` again")
    return path, None


def served_model_path(model):
    """The file to predict with, and a note saying which it is and why.

    A run folder gives its calibrated.keras when it is current, else its best (or final)
    model; a model file is used as it is. Imports no Keras (``nnlab predict``'s fast path).

        >>> served_model_path("runs/seeds-final")
        (PosixPath('runs/seeds-final/calibrated.keras'), 'calibrated, T = 0.970')
    """
    from nnlab.core.runs import model_file

    if not Path(model).is_dir():
        return model_file(model), "as given"
    path, problem = calibrated_path(model)
    if path is not None:
        temperatures = {name: entry.get("temperature") for name, entry in
                        (read_calibration(model).get("outputs") or {}).items()}
        return path, "calibrated, " + ", ".join(f"T = {t:.3f}" if len(temperatures) == 1 else f"{n} T = {t:.3f}"
                                                for n, t in temperatures.items())
    return model_file(model), (f"not calibrated: {problem}" if problem else
                                        f"not calibrated; `nnlab calibrate {model}` calibrates it")


def predict_outputs(model, x, task, batch_size=1000):
    from nnlab.core.evaluation import predict

    return named_predictions(model, predict(model, x, task, batch_size), task)


def calibrate(model, task, splits, bins=BINS):
    """Fit a temperature per class output on ``splits``' validation data; measure val and test before and after.

    Returns ``(calibrated keras.Model, report, predicted, targets)``: the report is what
    calibration.json holds (without the run's fields); ``predicted`` and ``targets`` map
    ``"val"`` / ``"test"`` to ``{output name: array}`` (the uncalibrated probabilities).
    """
    names = class_outputs(task)
    if not names:
        raise NnlabError(f"task {task.name!r} has no class output (an output with labels) to calibrate.")
    if splits.x_val is None:
        raise NnlabError("calibration fits the temperature on the validation split, and this run has none "
                         "(validation 'none'); train with a validation split (e.g. --validation seeds).")
    data = {"val": (splits.x_val, splits.y_val), "test": (splits.x_test, splits.y_test)}
    predicted = {split: predict_outputs(model, x, task) for split, (x, _) in data.items()}
    targets = {split: named_targets(y, task) for split, (_, y) in data.items()}
    report = {"method": "temperature scaling: softmax(log(p) / T), T fitted on val by minimising NLL",
              "bins": bins, "outputs": {}}
    temperatures = {}
    for name in names:
        t = fit_temperature(predicted["val"][name], targets["val"][name])
        temperatures[name] = t
        entry = {"temperature": t}
        for split in data:
            p, y = predicted[split][name], targets[split][name]
            entry[split] = {"samples": int(len(p)), "before": calibration_metrics(p, y, bins),
                            "after": calibration_metrics(scale_probabilities(p, t), y, bins)}
        report["outputs"][name] = entry
    return calibrated_model(model, temperatures, splits.x_val), report, predicted, targets


def calibrate_run(run_dir, splits=None, bins=BINS, overrides=None, extras=None):
    """``nnlab calibrate``: calibrated.keras, calibration.json and reliability.png in ``run_dir``; returns the report.

    ``splits``: the data to use instead of the run's own (as its config loads them);
    ``overrides``: config settings to change before loading them (e.g. ``{"data_dir": ...}``);
    ``extras``: keyword arguments of the task's ``calibrate_extras`` (the fashion task's detector sizes).
    """
    from nnlab.core.exported import export_beside
    from nnlab.core.runs import read_run, versions, write_json
    from nnlab.core.saving import load_model, resolve_model_path, save_model
    from nnlab.core.task import task_for

    run_dir = Path(run_dir)
    run = read_run(run_dir)
    if run["config"] is None:
        raise NnlabError(f"{run_dir} is not a usable run folder ({run['broken']}); calibrate a run made by "
                         "`nnlab train`.")
    values = {**run["config"], **(overrides or {})}  # overrides may name the task of a folder older than "task"
    task = task_for(values)
    config = task.config_from_dict(values)
    source = resolve_model_path(run_dir)
    model = load_model(source)
    splits = task.load_data(config) if splits is None else splits
    calibrated, report, predicted, targets = calibrate(model, task, splits, bins)
    report = {"run": run_dir.name, "source_model": source.name, "source_sha256": file_digest(source),
              **report, "versions": versions()}
    save_model(calibrated, run_dir / CALIBRATED_FILE)
    # The Keras-free copy that a cold `nnlab predict` runs (nnlab.core.exported), when the model allows it.
    path, problem = export_beside(calibrated, run_dir / CALIBRATED_FILE)
    if path or problem:
        report["exported"] = {"file": path.name} if path else {"error": problem}
    name = class_outputs(task)[0]
    t = report["outputs"][name]["temperature"]
    p, y = predicted["test"][name], targets["test"][name]
    plot_reliability({"before (T = 1)": (p, y), f"after (T = {t:.3f})": (scale_probabilities(p, t), y)},
                     run_dir / RELIABILITY_FILE, title=f"{run_dir.name}: {name}, test split", bins=bins)
    # What the task fits besides temperatures, e.g. the fashion task's "not an item" detector.
    extras = task.calibrate_extras(run_dir, config, splits, calibrated, **(extras or {}))
    if extras is not None:
        report["ood"] = extras
    write_json(run_dir / CALIBRATION_FILE, report)  # last: its presence says the other two files are complete
    return report
