"""Batch prediction on Ray Data: ``nnlab predict RUN SOURCE --executor ray [--out FILE.csv|.parquet]``.

The same answers as the local ``nnlab predict`` (the same model file, photo path and
rows: the command passes its own helpers in), computed by a pool of Ray actors
(``map_batches`` with ``concurrency=--jobs``): each actor loads the model and the photo
path once, then reads and classifies batches of files. A SOURCE is an image file, a
folder tree, a glob (``'photos/**/*.jpg'``), or a CSV / Parquet list of image paths
(its ``image``, ``file`` or ``path`` column, else its first; relative paths are read
from the list's folder). Files are read on the workers by their absolute path, so on a
cluster they must be on storage every node sees; rows name them as given. An unreadable
file is a row with its reason, as locally, never a failed job.

    >>> output_format("predictions.parquet"), output_format("out/p.CSV")
    ('parquet', 'csv')
"""

import glob
import json
import math
import os
from pathlib import Path

from nnlab.core.errors import NnlabError

LIST_COLUMNS = ("image", "file", "path")
BATCH = 256  # photos an actor reads, then predicts, at a time (the local PREDICT_CHUNK)


def output_format(out):
    suffix = Path(out).suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise NnlabError(f"--out must be a .csv or .parquet file with --executor ray, got {out}.")
    return suffix[1:]


def _listed(path):
    """The image paths a CSV or Parquet list names (relative ones from the list's folder)."""
    import pyarrow.csv
    import pyarrow.parquet

    try:
        table = pyarrow.parquet.read_table(path) if path.suffix.lower() == ".parquet" else \
            pyarrow.csv.read_csv(path)
    except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError
        raise NnlabError(f"{path} is not a readable {path.suffix[1:]} list of image paths: {error}.") from None
    names = [name for name in LIST_COLUMNS if name in table.column_names] or table.column_names[:1]
    if not names:
        raise NnlabError(f"{path} has no columns; give a list with an 'image' column of image paths.")
    return [Path(value) if Path(value).is_absolute() else path.parent / value
            for value in table.column(names[0]).to_pylist() if value]


def find_sources(sources):
    """Files to classify: each file, the image files in each folder tree, each glob's matches, each list's paths."""
    from nnlab.fashion.photos import find_photos

    found = []
    for source in map(Path, sources):
        if source.is_file() and source.suffix.lower() in (".csv", ".parquet"):
            found.extend(_listed(source))
        elif not source.exists() and any(char in str(source) for char in "*?["):
            # As the shell would expand it: the matching files, each as given (folders matched are skipped).
            found.extend(sorted(Path(p) for p in glob.glob(str(source), recursive=True) if Path(p).is_file()))
        else:
            found.extend(find_photos([source]))
    return found


class Predictor:
    """A Ray Data actor: the model and the photo path loaded once, then batches of files classified.

    ``helpers`` is the ``nnlab predict`` command's module: its ``_served_model`` and
    ``_answers`` make the same rows as the local path.
    """

    def __init__(self, model, helpers, max_pixels, jobs=1):
        from rich.console import Console

        from nnlab.core.raycluster import claim_cores
        from nnlab.fashion.photos import PhotoError, load_photo

        # Before the model's first JAX call: XLA's threads on this actor's share of the cores (all, for one actor).
        claim_cores(max(1, len(os.sched_getaffinity(0)) // jobs))

        self.helpers, self.max_pixels = helpers, max_pixels
        self.load_photo, self.PhotoError = load_photo, PhotoError
        self.served = helpers._served_model(model, Console(stderr=True, quiet=True))

    def __call__(self, batch):
        import numpy as np

        good, arrays, out = [], [], []
        for index, given, path in zip(batch["index"], batch["image"], batch["path"]):
            try:
                arrays.append(self.load_photo(path, max_pixels=self.max_pixels))
                good.append((int(index), str(given)))
            except self.PhotoError as error:
                out.append((int(index), {"image": str(given), "error": error.reason, "kind": error.kind}))
        if good:
            stacked = np.stack(arrays)
            statuses = self.served["assessor"].assess(stacked) if self.served["assessor"] else None
            rows = self.helpers._answers([given for _, given in good], self.served["predict"](stacked), statuses)
            out.extend((index, row) for (index, _), row in zip(good, rows))
        return {"index": np.array([index for index, _ in out], dtype=np.int64),
                "row": np.array([json.dumps(row) for _, row in out], dtype=object)}


def predict_rows(model, files, helpers, max_pixels, jobs=1):
    """``(rows, failures)`` as the local loop makes them: rows of readable files in order, then (path, PhotoError)."""
    import ray

    from nnlab.fashion.photos import PhotoError

    items = [{"index": index, "image": str(path), "path": str(Path(path).resolve())} for index, path in
             enumerate(files)]
    blocks = max(jobs, math.ceil(len(items) / BATCH))  # every actor gets work
    dataset = ray.data.from_items(items, override_num_blocks=min(blocks, len(items)))
    dataset = dataset.map_batches(Predictor, fn_constructor_args=(str(model), helpers, max_pixels, jobs),
                                  batch_size=BATCH, batch_format="numpy", num_cpus=1,
                                  compute=ray.data.ActorPoolStrategy(size=jobs))
    answered = sorted((int(item["index"]), json.loads(item["row"])) for item in dataset.take_all())
    rows = [row for _, row in answered if "error" not in row]
    failures = [(Path(row["image"]), PhotoError(row["image"], row["kind"], row["error"]))
                for _, row in answered if "error" in row]
    return rows, failures


def run(model, sources, helpers, out=None, as_json=False, max_pixels=None, jobs=1, address=None):
    """``nnlab predict --executor ray``: classify ``sources`` on Ray, then write or print as the local command."""
    from rich.console import Console

    from nnlab.core import raycluster
    from nnlab.core.config import at_least
    from nnlab.core.runs import read_run
    from nnlab.fashion.photos import DEFAULT_MAX_PIXELS, SUFFIXES

    kind = output_format(out) if out is not None else None
    if out is not None and not Path(out).resolve().parent.is_dir():
        raise NnlabError(f"folder {Path(out).parent} does not exist; create it first.")
    if max_pixels is not None:
        at_least("--max-pixels", max_pixels, 1)
    at_least("--jobs", jobs, 1)
    if Path(model).is_dir() and (read_run(model)["config"] or {}).get("task", "fashion") != "fashion":
        raise NnlabError(f"{model} is not a Fashion-MNIST run; `nnlab predict` classifies product photos.")
    files = find_sources(sources)
    if not files:
        raise NnlabError(f"no image files in {', '.join(map(str, sources))} (looked for {', '.join(SUFFIXES)}).")
    stderr = Console(stderr=True, highlight=False, soft_wrap=True)
    where = raycluster.connect(address)
    stderr.print(f"predicting {len(files)} files with {jobs} Ray Data actor(s) on {where}")
    rows, failures = predict_rows(Path(model).resolve(), files, helpers, max_pixels or DEFAULT_MAX_PIXELS, jobs)
    rows = helpers._with_failures(rows, failures, stderr)
    if out is None:
        if as_json:
            print(json.dumps(rows, indent=2))
        else:
            helpers._print_predictions([row for row in rows if "error" not in row])
        return rows
    if kind == "csv":
        helpers._write_csv(out, rows)
    else:
        write_parquet(out, rows, helpers)
    helpers.console.print(f"wrote {len(rows) - len(failures)} predictions to {out}"
                          + (f" ({len(failures)} unreadable files listed with their reason)" if failures else ""))
    return rows


def write_parquet(out, rows, helpers):
    """The local CSV's columns and values, as Parquet (empty cells are nulls)."""
    import tempfile

    import pyarrow.csv
    import pyarrow.parquet

    with tempfile.TemporaryDirectory() as folder:
        csv_path = Path(folder) / "predictions.csv"
        helpers._write_csv(csv_path, rows)
        # Every column typed from the CSV, except the file names and reasons: always text.
        options = pyarrow.csv.ConvertOptions(column_types={"file": "string", "reason": "string", "error": "string",
                                                           "status": "string", "class": "string"})
        table = pyarrow.csv.read_csv(csv_path, convert_options=options)
    pyarrow.parquet.write_table(table, out)
