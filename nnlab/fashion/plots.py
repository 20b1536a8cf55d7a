"""Fashion-MNIST pictures: a grid of sample images with their class names.

    >>> from nnlab.fashion.plots import sample_grid
    >>> sample_grid(x_train, y_train, "samples.png", n=10)
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from nnlab.core.errors import NnlabError  # noqa: E402
from nnlab.core.plots import save_figure  # noqa: E402
from nnlab.fashion.data import CLASS_NAMES  # noqa: E402


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
    return save_figure(fig, path)

