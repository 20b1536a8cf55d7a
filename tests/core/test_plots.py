"""nnlab.core.plots: learning curves one panel per metric family, overlays, atomic PNG files."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from nnlab.core.plots import plot_curves, plot_history, save_figure  # noqa: E402

HISTORY = {"loss": [1.0, 0.6, 0.5], "val_loss": [0.9, 0.7, 0.8], "accuracy": [0.5, 0.7, 0.8],
           "val_accuracy": [0.55, 0.65, 0.6]}


def _png_size(path):
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


@pytest.mark.parametrize("families, panels", [
    (None, 2),  # one panel per metric: loss, accuracy
    ({"loss": ["loss", "val_loss"]}, 1),
    ({"loss": ["loss"], "accuracy": ["accuracy"], "val": ["val_loss", "val_accuracy"]}, 3),
])
def test_plot_history_draws_one_panel_per_family(tmp_path, families, panels):
    path = plot_history(HISTORY, tmp_path / "curves.png", families=families, title="run",
                        marks={"best": 1, "stopped": None})
    width, height = _png_size(path)
    assert width == pytest.approx(550 * panels, rel=0.02) and height == pytest.approx(400, rel=0.02)
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]  # no temporary file left


def test_plot_history_of_an_empty_history_still_writes_a_chart(tmp_path):
    assert _png_size(plot_history({}, tmp_path / "empty.png")) == _png_size(
        plot_history({"loss": []}, tmp_path / "loss.png"))


def test_plot_curves_overlays_named_series(tmp_path):
    path = plot_curves({"sgd": [1.0, 0.8], "adam": [0.9, 0.4]}, tmp_path / "loss.png", title="E5")
    assert _png_size(path) == (700, 450)


def test_save_figure_closes_the_figure_even_when_saving_fails(tmp_path):
    before = len(plt.get_fignums())
    fig, _ = plt.subplots()
    assert _png_size(save_figure(fig, tmp_path / "a.png")) and len(plt.get_fignums()) == before
    fig, _ = plt.subplots()
    with pytest.raises(FileNotFoundError):
        save_figure(fig, tmp_path / "missing-folder" / "a.png")
    assert len(plt.get_fignums()) == before  # long sessions (reproduce) do not pile up open figures


@pytest.mark.parametrize("families, panels", [
    (None, 3),  # loss, accuracy, learning rate
    ({"loss": ["loss", "val_loss"], "learning_rate": ["learning_rate"]}, 2),  # a task's grouping: drawn once
    ({"loss": ["loss", "val_loss", "learning_rate"]}, 2),
])
def test_the_learning_rate_gets_a_panel_of_its_own(tmp_path, families, panels):
    history = {**HISTORY, "learning_rate": [0.01, 0.001, 0.0001]}
    path = plot_history(history, tmp_path / "curves.png", families=families, marks={"best": 1})
    width, _ = _png_size(path)
    assert width == pytest.approx(550 * panels, rel=0.02)


def test_the_learning_rate_panel_is_logarithmic_when_the_rate_spans_decades(tmp_path, monkeypatch):
    scales, set_yscale = [], plt.Axes.set_yscale
    # Watched, and still done (a 0 on a log axis must not break the chart).
    monkeypatch.setattr(plt.Axes, "set_yscale",
                        lambda ax, scale, **kw: (scales.append(scale), set_yscale(ax, scale, **kw)))
    plot_history({**HISTORY, "learning_rate": [0.01, 0.0005, 0.0]}, tmp_path / "decay.png")
    plot_history({**HISTORY, "learning_rate": [0.01, 0.005, 0.002]}, tmp_path / "flat.png")
    assert scales == ["log"]
