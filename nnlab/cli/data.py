"""``nnlab data info | show``: where the Fashion-MNIST data is, what it holds, a grid of samples."""

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from nnlab.cli.common import DataDir, console, stoppable
from nnlab.cli.output import check_png
from nnlab.core.errors import NnlabError

app = typer.Typer(help="Inspect the Fashion-MNIST data.", no_args_is_help=True)


@app.command("info")
@stoppable
def data_info(data_dir: Optional[Path] = DataDir):
    """Where the data was found, array shapes, class counts and the SHA-256 check."""
    import numpy as np

    from nnlab.fashion.data import CLASS_NAMES, FILES, locate

    ((x_train, y_train), (x_test, y_test)), source = locate(data_dir)
    console.print(f"[bold]Fashion-MNIST[/] from {source.folder}")
    for name, array in (("x_train", x_train), ("y_train", y_train), ("x_test", x_test), ("y_test", y_test)):
        console.print(f"  {name:8s} {str(array.shape):16s} {array.dtype}")
    table = Table("class", "name", "train", "test")
    train_counts, test_counts = np.bincount(y_train, minlength=10), np.bincount(y_test, minlength=10)
    for i, name in enumerate(CLASS_NAMES):
        table.add_row(str(i), name, f"{train_counts[i]:,}", f"{test_counts[i]:,}")
    console.print(table)
    for name, (sha, _) in FILES.items():
        got = source.sha256.get(name)
        status = "[green]ok[/]" if got == sha else ("not checked" if got is None else "[red]differs[/]")
        console.print(f"  sha256 {name:26s} {status}")
    console.print("official Fashion-MNIST" if source.official else "[yellow]not the official files[/]")


@app.command("show")
@stoppable
def data_show(out: Path = typer.Argument(..., help="PNG file to write."),
              n: int = typer.Option(10, "--n", help="How many images."),
              split: str = typer.Option("train", help="train or test."),
              data_dir: Optional[Path] = DataDir):
    """Save a grid of the first N images with their class names."""
    from nnlab.fashion.data import load_fashion_mnist
    from nnlab.fashion.plots import sample_grid

    if split not in ("train", "test"):
        raise NnlabError(f"--split must be train or test, got {split!r}.")
    check_png(out)
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist(data_dir)
    images, labels = (x_train, y_train) if split == "train" else (x_test, y_test)
    sample_grid(images, labels, out, n=n)
    console.print(f"wrote {out}")
