"""Reporting stage: learning curves, sample grids and the table of runs.

    >>> from nnlab.reporting import plot_history, sample_grid, list_runs
    >>> plot_history(result.history, "curves.png", marks={"best": 7, "stopped": 9})
    >>> sample_grid(x_train, y_train, "samples.png", n=10)
    >>> rows = list_runs("runs")          # one dict per run folder, newest first

Plots are written with matplotlib's non-interactive Agg backend (no screen needed).
"""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from nnlab.data import CLASS_NAMES  # noqa: E402
from nnlab.errors import NnlabError  # noqa: E402


def _epochs(values):
    return list(range(len(values)))  # 0-based, as Keras' stopped_epoch and the seeds' plots


def _label_axes(ax, metric):
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()


def _save(fig, path):
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def plot_history(history, path, title=None, marks=None):
    """Train vs val loss (left) and accuracy (right) per epoch, with optional marked epochs.

    ``marks`` maps a label to a 0-based epoch (e.g. ``{"best": 7, "stopped": 9}``);
    None values are skipped.
    """
    # An empty history (Ctrl-C during the first epoch) still gets an (empty) loss chart.
    metrics = [m for m in ("loss", "accuracy") if m in history] or ["loss"]
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 4), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        values = history.get(metric, [])
        ax.plot(_epochs(values), values, marker="o", ms=3, label="train")
        if f"val_{metric}" in history:
            ax.plot(_epochs(history[f"val_{metric}"]), history[f"val_{metric}"], marker="o", ms=3, label="val")
        for (label, epoch), style in zip((marks or {}).items(), ("--", ":", "-.")):
            if epoch is not None:
                ax.axvline(epoch, color="gray", linestyle=style, label=f"{label} (epoch {epoch})")
        _label_axes(ax, metric)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_curves(curves, path, metric="loss", title=None):
    """Several named series on one axis, e.g. ``{"sgd": [...], "adam": [...]}`` (the E5 overlay)."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, values in curves.items():
        ax.plot(_epochs(values), values, marker="o", ms=3, label=label)
    _label_axes(ax, metric)
    if title:
        ax.set_title(title)
    return _save(fig, path)


def sample_grid(images, labels, path, n=10, probabilities=None):
    """The first ``n`` images with their class names (and predicted top class, if given)."""
    if n < 1:
        raise NnlabError(f"--n must be an integer >= 1, got {n}.")
    n = min(n, len(images))
    cols = min(n, 10)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.55 * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(images[i], cmap="gray_r")
        title = CLASS_NAMES[int(labels[i])]
        if probabilities is not None:
            top = int(probabilities[i].argmax())
            title += f"\n→ {CLASS_NAMES[top]} {probabilities[i][top]:.0%}"
        ax.set_title(title, fontsize=7)
    return _save(fig, path)


def read_run(run_dir):
    """A run folder's config and metrics as one dict (metrics may be missing for a run in progress)."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file():
        raise NnlabError(f"{run_dir} is not a run folder (no config.json); `nnlab runs list` shows the runs.")
    info = {"name": run_dir.name, "path": str(run_dir), "config": json.loads((run_dir / "config.json").read_text())}
    metrics_file = run_dir / "metrics.json"
    info["metrics"] = json.loads(metrics_file.read_text()) if metrics_file.is_file() else None
    return info


def list_runs(runs_dir="runs"):
    """Every run under ``runs_dir``, newest first."""
    root = Path(runs_dir)
    if not root.is_dir():
        return []
    folders = [p for p in root.iterdir() if (p / "config.json").is_file()]
    return [read_run(p) for p in sorted(folders, key=lambda p: p.stat().st_mtime, reverse=True)]
