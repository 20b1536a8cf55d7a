"""``nnlab summary | plot-model``: look at a model (a file, a run folder's or a named preset's).

    nnlab summary cnn-fast                 Keras' summary table of the preset, built fresh
    nnlab plot-model runs/<name> model.png the graph with shapes (needs Graphviz's `dot`)
"""

from pathlib import Path

import typer

from nnlab.cli.common import console
from nnlab.cli.output import check_png
from nnlab.core.errors import NnlabError


def _model_or_preset(model):
    from nnlab.core.saving import load_model
    from nnlab.fashion.models import MODELS, build_model

    if str(model) in MODELS and not Path(model).exists():
        return build_model(str(model))
    return load_model(model, compile=False)


def summary(model: str = typer.Argument(..., help="A model file, a run folder or a preset name.")):
    """Print Keras' summary table of a saved model or a preset."""
    _model_or_preset(model).summary(print_fn=lambda line, **_: console.print(line, markup=False, highlight=False))


def plot_model(model: str = typer.Argument(..., help="A model file, a run folder or a preset name."),
               out: Path = typer.Argument(..., help="PNG file to write.")):
    """Draw the model graph with keras.utils.plot_model (shapes shown); needs Graphviz's `dot`."""
    import shutil

    import keras

    from nnlab.core.runs import atomic_path

    check_png(out)
    if shutil.which("dot") is None:
        raise NnlabError("Graphviz is not installed (no `dot` on PATH); install it with "
                         "`sudo apt-get install -y graphviz`.")
    with atomic_path(out) as tmp:
        keras.utils.plot_model(_model_or_preset(model), to_file=str(tmp), show_shapes=True, show_layer_names=True)
    console.print(f"wrote {out}")
