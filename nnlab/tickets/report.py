"""What a ticket run adds to its folder (``TicketTask.write_extras``), after the core's files:

    served.keras           the served model: raw text and tags in (TextVectorization + StringLookup inside)
    vectorizer.json        the word and tag vocabularies, the labels of every class output, the
                           file's column names and the priority levels (as the served model holds them)
    model.png              keras.utils.plot_model(show_shapes=True) of the trained model
    confusion_matrix.png   test-split confusion matrix of every class output (department, ...)

and returns the entries it adds to metrics.json: ``confusion_matrix`` (labels and counts, rows = true, columns =
predicted), ``baselines`` (majority department, mean priority: on the same test split)
and ``data`` (file, tickets used, rows skipped, split sizes).
"""

import shutil

import numpy as np

from nnlab.core.evaluation import predict
from nnlab.core.runs import atomic_path
from nnlab.tickets.preprocessing import Preprocessing, write_preprocessing


def confusion_counts(true, predicted, classes):
    """``counts[i][j]``: tickets of class i predicted as class j."""
    counts = np.zeros((classes, classes), dtype=int)
    np.add.at(counts, (np.asarray(true), np.asarray(predicted)), 1)
    return counts


def plot_confusion(matrices, path, title=None):
    """One panel per class output: counts in each cell, rows true, columns predicted."""
    from nnlab.core.plots import save_figure  # first: it selects matplotlib's Agg backend

    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(matrices), figsize=(4.8 * len(matrices), 4.4), squeeze=False)
    for ax, (name, entry) in zip(axes[0], matrices.items()):
        counts, labels = np.asarray(entry["counts"]), entry["labels"]
        ax.imshow(counts, cmap="Blues")
        for (i, j), value in np.ndenumerate(counts):
            ax.text(j, i, str(value), ha="center", va="center",
                    color="white" if value > counts.max() / 2 else "black")
        ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
        ax.set_yticks(range(len(labels)), labels)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        accuracy = np.trace(counts) / max(counts.sum(), 1)
        ax.set_title(f"{name}: accuracy {accuracy:.3f} ({counts.sum()} tickets)")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def plot_graph(model, path):
    """``keras.utils.plot_model(show_shapes=True)``; None, or why it was skipped."""
    import keras

    if shutil.which("dot") is None:
        return "skipped: Graphviz's `dot` is not installed (sudo apt-get install -y graphviz)"
    with atomic_path(path) as tmp:
        keras.utils.plot_model(model, to_file=str(tmp), show_shapes=True, show_layer_names=True)
    return None


def write_report(task, run_dir, model, splits):
    """The files above for a finished run of ``task`` (its outputs name the predictions); returns the
    metrics.json entries: ``{"confusion_matrix": ..., "baselines": ..., "data": ...}`` (and ``model_png``
    when the graph was not drawn)."""
    from nnlab.core.saving import save_model
    from nnlab.tickets.models import TicketTriage

    source = splits.source
    labels = source.labels
    columns, levels = source.columns, list(source.priority_levels or [])
    write_preprocessing(run_dir, Preprocessing(source.vectorizer, labels), columns, levels)
    # The served model carries how to read the run's files (columns) and name its scores (levels).
    served = TicketTriage(model, source.vectorizer.words, source.vectorizer.tags, labels, name="served",
                          columns=columns, priority_levels=levels)
    save_model(served, run_dir / "served.keras")

    outputs = predict(model, splits.x_test, task)
    if isinstance(outputs, dict):
        outputs = [outputs[o.name] for o in task.outputs]
    outputs = dict(zip((o.name for o in task.outputs), outputs))
    metrics, matrices = {}, {}
    for name, names in labels.items():
        true, predicted = splits.y_test[name].argmax(axis=1), np.asarray(outputs[name]).argmax(axis=1)
        matrices[name] = {"split": "test", "labels": list(names),
                          "counts": confusion_counts(true, predicted, len(names)).tolist()}
    metrics["confusion_matrix"] = matrices
    plot_confusion(matrices, run_dir / "confusion_matrix.png", title=f"{run_dir.name}: test split")

    train_index = source.indices["train"]
    majority = np.bincount(splits.y_train["department"].argmax(axis=1)).argmax()
    mean_priority = float(np.mean(source.tickets.priority[train_index]))
    metrics["baselines"] = {
        "test_department_accuracy_majority": float(np.mean(splits.y_test["department"].argmax(axis=1) == majority)),
        "test_priority_mae_mean": float(np.mean(np.abs(splits.y_test["priority"] - mean_priority))),
        "note": "always the training split's most common department / mean priority"}
    metrics["data"] = {"file": str(source.path), "tickets": len(source.tickets), "skipped": len(source.skipped),
                       **{f"{name}_tickets": int(len(index)) for name, index in source.indices.items()}}
    note = plot_graph(model, run_dir / "model.png")
    if note:
        metrics["model_png"] = note
    return metrics
