"""Run folders: atomic file writes, new folders, and reading folders that may be broken.

Every file nnlab writes goes to a temporary file in the same folder and is then
renamed into place (``os.replace`` is atomic on POSIX): a crash or ``kill -9`` at
any instant leaves either the previous good file or the new one, never half a file.

    >>> from nnlab.core.runs import write_json, read_run, list_runs
    >>> write_json("runs/demo/metrics.json", {"loss": 0.3})
    >>> [run["name"] for run in list_runs("runs")]       # broken folders come back with run["broken"]
    ['demo']

A run folder's state, from its files:

    finished      metrics.json says status "finished"
    interrupted   metrics.json says status "interrupted" (Ctrl-C); ``nnlab train --resume`` continues it
    incomplete    no metrics.json: still training, or killed; ``--resume`` continues it
    broken        config.json or metrics.json missing or unreadable (the reason is given)
"""

import contextlib
import datetime
import json
import os
import platform
import subprocess
from pathlib import Path

from nnlab.core.errors import NnlabError

TMP_MARK = ".tmp-"  # temporary files are named .<name>.tmp-<pid>-<n>.<suffixes>; see clean_temporary()
_counter = 0


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path`` with the same suffixes; rename it into place on success.

    The temporary name keeps the file's endings (``.keras``, ``.weights.h5``, ``.png``) because
    Keras and matplotlib choose the format from them. On an exception (Ctrl-C included) the
    temporary file is removed and ``path`` is left as it was.

        >>> with atomic_path("runs/demo/final.keras") as tmp:
        ...     model.save(tmp)
    """
    global _counter
    path = Path(path)
    _counter += 1
    stem, _, suffixes = path.name.partition(".")
    tmp = path.with_name(f".{stem}{TMP_MARK}{os.getpid()}-{_counter}.{suffixes}" if suffixes
                         else f".{stem}{TMP_MARK}{os.getpid()}-{_counter}")
    try:
        yield tmp
        with open(tmp, "rb") as f:  # on disk before the rename, so a power cut cannot leave an empty file
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_text(path, text):
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_json(path, value):
    return write_text(path, json.dumps(value, indent=2) + "\n")


def clean_temporary(folder):
    """Delete temporary files a killed process left in ``folder``; returns their names."""
    removed = []
    for path in Path(folder).glob(f".*{TMP_MARK}*"):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(path.name)
    return removed


# ---------------------------------------------------------------- new run folders


def new_run_dir(config):
    """Create ``runs_dir/name``; refuses to reuse a folder so nothing saved is overwritten."""
    root = Path(config.runs_dir)
    if config.name:
        run_dir = root / config.name
        if run_dir.exists():
            raise NnlabError(f"Run folder {run_dir} already exists; pick another --name, continue it with "
                             f"`nnlab train --resume {run_dir}`, or delete that folder to replace it.")
    else:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        prefix = config.preset or config.model_label()
        run_dir, n = root / f"{prefix}-{stamp}", 1
        while run_dir.exists():
            n += 1
            run_dir = root / f"{prefix}-{stamp}-{n}"
    run_dir.mkdir(parents=True)
    return run_dir


def git_commit():
    import nnlab

    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=Path(nnlab.__file__).parent, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def versions():
    """nnlab, Keras, backend and Python versions and the git commit, for metrics.json and reports."""
    import keras

    import nnlab

    backend = keras.backend.backend()
    module = {"jax": "jax", "tensorflow": "tensorflow", "torch": "torch"}.get(backend, backend)
    try:
        backend_version = __import__(module).__version__
    except (ImportError, AttributeError):
        backend_version = None
    return {"nnlab": nnlab.__version__, "keras": keras.__version__, "backend": backend,
            "backend_version": backend_version, "python": platform.python_version(), "git_commit": git_commit()}


# ---------------------------------------------------------------- reading run folders


def _read_json(path):
    """(value, None) or (None, reason) for a JSON file that may be missing, half-written or not JSON."""
    try:
        return json.loads(Path(path).read_text()), None
    except FileNotFoundError:
        return None, f"{Path(path).name} is missing"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        return None, f"{Path(path).name} is unreadable ({type(error).__name__}: {error})"


def run_status(config, metrics):
    if metrics is None:
        return "incomplete"
    return metrics.get("status", "interrupted" if metrics.get("interrupted") else "finished")


def read_run(run_dir):
    """A run folder's config, metrics and status as one dict; never raises for a broken folder.

    Keys: ``name``, ``path``, ``config`` and ``metrics`` (dicts or None), ``status``
    (finished, interrupted, incomplete or broken) and ``broken`` (the reason, or None).
    """
    run_dir = Path(run_dir)
    info = {"name": run_dir.name, "path": str(run_dir), "broken": None}
    info["config"], config_problem = _read_json(run_dir / "config.json")
    metrics, metrics_problem = _read_json(run_dir / "metrics.json")
    problem = config_problem
    if metrics_problem and (run_dir / "metrics.json").exists():
        problem = problem or metrics_problem
    for name, value, unread in (("config.json", info["config"], config_problem),
                                ("metrics.json", metrics, metrics_problem)):
        if not unread and not isinstance(value, dict):  # read, but a list, a string, null, ...
            problem = problem or f"{name} holds {type(value).__name__}, not an object"
    info["config"] = info["config"] if isinstance(info["config"], dict) else None
    info["metrics"] = metrics if isinstance(metrics, dict) else None
    info["broken"] = problem
    info["status"] = "broken" if problem else run_status(info["config"], info["metrics"])
    return info


def find_run(name, runs_dir="runs"):
    """A run folder given as a path or as a name under ``runs_dir``."""
    path = Path(name)
    if not path.is_dir():
        path = Path(runs_dir) / name
    if not path.is_dir():
        raise NnlabError(f"no run named {str(name)!r} in {runs_dir}/; `nnlab runs list` shows the runs.")
    return path


# The files a run folder serves, in the order tried (nnlab.core.saving.resolve_model_path is model_file).
# Kept here, where no Keras is imported, for `nnlab predict`'s fast path.
RUN_MODEL_FILES = ("best.keras", "final.keras", "best.h5", "final.h5")


def model_file(path):
    """A model file, or a run folder's best model (else its final one), without importing Keras.

        >>> model_file("runs/seeds-final")
        PosixPath('runs/seeds-final/best.keras')
    """
    path = Path(path)
    if path.is_dir():
        for name in RUN_MODEL_FILES:
            if (path / name).is_file():
                return path / name
        raise NnlabError(f"{path} is a folder without a saved model ({', '.join(RUN_MODEL_FILES)}); "
                         "pass a .keras or .h5 file or a run folder made by `nnlab train`.")
    if not path.exists():
        raise NnlabError(f"Model file {path} does not exist; check the path (`nnlab runs list` shows saved runs).")
    return path


def list_runs(runs_dir="runs"):
    """Every run folder under ``runs_dir`` (any subfolder with files), newest first, broken ones included."""
    root = Path(runs_dir)
    if not root.is_dir():
        return []
    folders = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and any(p.iterdir())]
    return [read_run(p) for p in sorted(folders, key=lambda p: p.stat().st_mtime, reverse=True)]
