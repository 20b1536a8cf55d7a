"""Plots of any task's runs: learning curves with one panel per metric family, and overlays.

A history with ``learning_rate`` (every run since schedules and ReduceLROnPlateau) gets one
more panel, the learning rate per epoch on a log scale when it spans more than 10x.

    >>> from nnlab.core.plots import plot_history, plot_curves
    >>> plot_history(result.history, "curves.png", marks={"best": 7, "stopped": 9})
    >>> plot_curves({"sgd": [...], "adam": [...]}, "loss.png")

Plots are written with matplotlib's non-interactive Agg backend (no screen needed),
to a temporary file renamed into place.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from nnlab.core.runs import atomic_path  # noqa: E402

LEARNING_RATE = "learning_rate"  # the history key nnlab.core.callbacks.LearningRateLogger writes


def _epochs(values):
    return list(range(len(values)))  # 0-based, as Keras' stopped_epoch and the seeds' plots


def _label_axes(ax, metric):
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()


def save_figure(fig, path):
    """Save ``fig`` as PNG atomically and close it."""
    fig.tight_layout()
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=100, format="png")
    finally:
        plt.close(fig)
    return Path(path)


def _families(names):
    """Without a task's grouping: one panel per metric, train and val together."""
    families = {}
    for name in names:
        families.setdefault(name[4:] if name.startswith("val_") else name, []).append(name)
    return families


def plot_history(history, path, families=None, title=None, marks=None):
    """Train vs val curves per epoch, one panel per metric family, with optional marked epochs.

    ``families`` maps a panel title to the history keys drawn in it (``Task.families``
    gives ``{"loss": ["loss", "val_loss", "priority_loss", ...], "accuracy": [...]}``);
    default: one panel per metric. ``marks`` maps a label to a 0-based epoch
    (e.g. ``{"best": 7, "stopped": 9}``); None values are skipped. ``learning_rate``
    is drawn in a panel of its own, last, whatever ``families`` says of it.
    """
    # An empty history (Ctrl-C during the first epoch) still gets an (empty) loss chart.
    families = families or _families(history) or {"loss": []}
    families = {family: [key for key in keys if key != LEARNING_RATE] for family, keys in families.items()}
    families = {family: keys for family, keys in families.items() if keys} or {"loss": []}
    rates = history.get(LEARNING_RATE)
    panels = len(families) + bool(rates)
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 4), squeeze=False)
    if rates:
        _plot_rates(axes[0][-1], rates)
    for ax, (family, keys) in zip(axes[0], families.items()):
        for key in keys:
            values = history.get(key, [])
            label = key.replace("val_", "val ").replace("_", " ") if key != family else "train"
            ax.plot(_epochs(values), values, marker="o", ms=3, label="val" if key == f"val_{family}" else label)
        for (label, epoch), style in zip((marks or {}).items(), ("--", ":", "-.")):
            if epoch is not None:
                ax.axvline(epoch, color="gray", linestyle=style, label=f"{label} (epoch {epoch})")
        _label_axes(ax, family)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def _plot_rates(ax, rates):
    """The learning rate per epoch; a log scale when it spans more than 10x (decays, plateaus), linear else."""
    ax.plot(_epochs(rates), rates, marker="o", ms=3, color="tab:green", label="learning rate")
    positive = [rate for rate in rates if rate > 0]
    if positive and max(positive) > 10 * min(positive):
        ax.set_yscale("log")
    _label_axes(ax, "learning rate")


def plot_curves(curves, path, metric="loss", title=None):
    """Several named series on one axis, e.g. ``{"sgd": [...], "adam": [...]}`` (the E5 overlay)."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, values in curves.items():
        ax.plot(_epochs(values), values, marker="o", ms=3, label=label)
    _label_axes(ax, metric)
    if title:
        ax.set_title(title)
    return save_figure(fig, path)
