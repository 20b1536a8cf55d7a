"""``nnlab evaluate RUN --ood`` and ``--bags``: the served answers on uploads, measured.

    nnlab evaluate runs/<name> --ood       AUROC of the "not an item" score; real item photos and uploads
                                           that are not items, the share of each that is not ok, by kind
    nnlab evaluate runs/<name> --bags      simulated 5-item lucky bags through the photo path: Brier score of
                                           "chance of at least one", MAE of expected counts; bags.png
"""

from pathlib import Path

import numpy as np
from rich.table import Table

from nnlab.cli.common import console
from nnlab.core.errors import NnlabError


def _assessor(run):
    from nnlab.fashion.ood import load_assessor

    assessor = load_assessor(run, keras_free=False) if Path(run).is_dir() else None
    if assessor is None:
        raise NnlabError(f"{run} has no \"not an item\" detector; `nnlab calibrate {run}` fits it (a run folder "
                         "of a fashion model is needed, not a bare model file).")
    return assessor


def _photos(x, seed, what):
    from rich.progress import Progress

    from nnlab.fashion.photoset import through_photos

    stderr = type(console)(stderr=True)
    with Progress(console=stderr, transient=True, disable=not stderr.is_terminal) as progress:
        bar = progress.add_task(what, total=len(x))
        return through_photos(np.rint(np.asarray(x) * 255).astype(np.uint8), seed=seed,
                              advance=lambda: progress.advance(bar))


def evaluate_ood(run, x, split, n, uploads):
    """Real item photos of the split's first ``n`` images against ``uploads`` of nnlab's OOD set."""
    from nnlab.fashion.ood import measure, ood_uploads, rejection

    assessor = _assessor(run)
    photos = _photos(x[:n], 2, "item photos")
    outliers, kinds = ood_uploads(uploads, seed=0)
    result = measure(assessor, photos, outliers, kinds)
    originals = rejection(assessor, x[:n])
    table = Table("inputs", "samples", "empty", "unknown", "not ok", title=f"{run}: statuses (threshold "
                  f"{assessor.threshold:.4f}), AUROC {result['auroc']:.4f}", title_justify="left")
    for label, row in ((f"{split} images as photos (items)", result["item_photos"]),
                       (f"{split} 28x28 originals (items)", originals),
                       ("uploads that are not items", result["uploads"])):
        table.add_row(label, f"{row['samples']:,}", f"{row['empty']:.1%}", f"{row['unknown']:.1%}",
                      f"{row['not_ok']:.1%}")
    console.print(table)
    kinds_table = Table("kind of upload", "not ok", title="uploads that are not items, by kind",
                        title_justify="left")
    for kind, share in result["uploads"]["by_kind"].items():
        kinds_table.add_row(kind, f"{share:.0%}")
    console.print(kinds_table)
    console.print(f"goal: >= 95% of uploads not ok ({result['uploads']['not_ok']:.1%}), <= 2% of item photos not "
                  f"ok ({result['item_photos']['not_ok']:.1%})")


def evaluate_bags(run, model, x, y, split, n, size, count, mix):
    from nnlab.core.evaluation import predict as run_predict
    from nnlab.fashion.bags import bag_scores, plot_bag_reliability
    from nnlab.fashion.ood import load_assessor
    from nnlab.fashion.task import TASK

    x, y = x[:n], np.asarray(y[:n])
    assessor = load_assessor(run, keras_free=False) if Path(run).is_dir() else None
    photos = _photos(x, 2, "bag items as photos")
    ok = None if assessor is None else assessor.statuses(photos)[0] == "ok"
    scores = bag_scores(lambda a: run_predict(model, a, TASK), x, y, photos, ok, size, count, mix)
    scores = {"28x28 originals": scores["originals"], "photos": scores["photos"]}
    table = Table("items", "bags", "Brier (at least one)", "count MAE", "items left out",
                  title=f"{run}: {count:,} simulated {size}-item bags from the first {len(y):,} {split} images",
                  title_justify="left")
    for label, row in scores.items():
        table.add_row(label, f"{row['bags']:,}", f"{row['brier_at_least_one']:.4f}", f"{row['count_mae']:.4f}",
                      f"{row['items_left_out']:.1%}")
    console.print(table)
    if assessor is None:
        console.print("[yellow]no \"not an item\" detector: every item counted[/] (`nnlab calibrate RUN` fits it)")
    if Path(run).is_dir():
        figure = plot_bag_reliability(scores, Path(run) / f"bags-{split}.png", title=f"{Path(run).name}: lucky bags")
        console.print(f"reliability diagram: {figure}")
