"""Search stage: an Optuna study over the spec's space, run by worker processes on this machine.

The study lives in the sweep folder (``study.journal``, Optuna's journal file
storage, which several processes may share), so a sweep stopped by Ctrl-C or
``kill -9`` continues where it stopped when the same command runs again:

- finished trials are kept (their run folders are not touched);
- a trial that was running is continued: its values are queued again under the
  same run folder, which resumes from its last finished epoch;
- the sampler is seeded per trial (``seed + trials so far``), so a seeded search
  with one job asks the same trials whether or not it was stopped on the way.

``--jobs N`` starts N worker processes; each takes the next trial from the study
and is pinned to its share of the cores (``os.sched_setaffinity``: XLA sizes its
CPU thread pool from the cores a process may use, and ignores OMP_NUM_THREADS).
A grid is queued whole, in order, before any worker starts, so a grid runs the
same trials at any parallelism.
"""

import contextlib
import fcntl
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

from nnlab.core.errors import NnlabError
from nnlab.core.pool import pin

STATE_FILE = "sweep.json"
JOURNAL = "study.journal"
FAILURES = "failures.json"
STUDY = "nnlab"


# ---------------------------------------------------------------- the study


def _optuna():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def open_study(sweep_dir, direction):
    """The sweep's Optuna study, in its journal file (created on first use).

    The journal's path is made absolute: Optuna's lock is a symbolic link to the journal, and a
    relative target resolves next to the link, not from the working folder, so the link dangled. A
    process killed with ``kill -9`` while it held the lock then left a link that Optuna could neither
    stat nor, after its 30 s grace period, release: the next ``nnlab sweep`` spun on it for ever.
    A dangling link (left by a sweep before this fix) is removed here; a live one is released by
    Optuna once it is 30 s old.
    """
    optuna = _optuna()
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    path = (Path(sweep_dir) / JOURNAL).resolve()
    lock = Path(f"{path}.lock")
    if lock.is_symlink() and not lock.exists():  # a dangling lock link: no process can be holding it
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()
    storage = JournalStorage(JournalFileBackend(str(path)))
    return optuna.create_study(study_name=STUDY, storage=storage, direction=
                               "maximize" if direction == "max" else "minimize", load_if_exists=True)


def read_state(sweep_dir):
    from nnlab.sweep.spec import parse_spec

    state = json.loads((Path(sweep_dir) / STATE_FILE).read_text())
    state["spec"] = parse_spec(state["spec"])
    return state


def _encode(value):
    """Optuna's categorical values are None, bool, int, float or str: lists ([300, 100]) travel as JSON text."""
    return value if value is None or isinstance(value, (bool, int, float, str)) else json.dumps(value)


def _decode(param, value):
    choices = getattr(param, "grid", None) or getattr(param, "choice", None)
    if choices is not None and isinstance(value, str) and value not in choices:
        return json.loads(value)
    return value


def suggest(trial, spec):
    """The trial's value of each dotted key of the space (Optuna's suggest_* calls)."""
    values = {}
    for key, param in spec.space.items():
        if hasattr(param, "grid") or hasattr(param, "choice"):
            choices = getattr(param, "grid", None) or getattr(param, "choice")
            values[key] = _decode(param, trial.suggest_categorical(key, [_encode(c) for c in choices]))
        elif hasattr(param, "uniform"):
            values[key] = trial.suggest_float(key, *param.uniform)
        elif hasattr(param, "loguniform"):
            values[key] = trial.suggest_float(key, *param.loguniform, log=True)
        else:
            values[key] = trial.suggest_int(key, *param.int)
    return values


def decoded_params(trial, spec):
    return {key: _decode(spec.space[key], value) for key, value in trial.params.items() if key in spec.space}


def continued_numbers(trials):
    """Numbers of trials stopped while running and queued again as another trial (left out of the results)."""
    return {t.user_attrs["continues"] for t in trials if "continues" in t.user_attrs}


def counted(trials):
    skipped = continued_numbers(trials)
    return [t for t in trials if t.number not in skipped]


def _pruner(name):
    optuna = _optuna()
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)
    if name == "asha":
        return optuna.pruners.SuccessiveHalvingPruner()
    return optuna.pruners.NopPruner()


def save_state(sweep_dir, spec, preset, base, metric, direction, spec_dir):
    """Write the sweep's state (``sweep.json``) and its ``runs/`` folder; a folder of another spec is refused."""
    sweep_dir = Path(sweep_dir)
    state = {"spec": spec.model_dump(mode="json"), "preset": preset, "base": base, "metric": metric,
             "direction": direction, "spec_dir": str(Path(spec_dir).resolve())}
    path = sweep_dir / STATE_FILE
    if path.exists():
        old = json.loads(path.read_text())
        if {k: old.get(k) for k in ("spec", "preset", "base")} != {k: state[k] for k in ("spec", "preset", "base")}:
            raise NnlabError(f"{sweep_dir} holds a sweep of another spec (see {path}); give another --out, or "
                             "run that sweep's own spec to continue it.")
    else:
        sweep_dir.mkdir(parents=True, exist_ok=True)
        (sweep_dir / "runs").mkdir(exist_ok=True)
        from nnlab.core.runs import write_json

        write_json(path, state)


def prepare(sweep_dir, spec, preset, base, metric, direction, spec_dir):
    """Write the sweep's state, create its study and queue a grid; a folder of another spec is refused."""
    save_state(sweep_dir, spec, preset, base, metric, direction, spec_dir)
    study = open_study(sweep_dir, direction)
    trials = study.get_trials(deepcopy=False)
    if spec.is_grid() and not trials:
        for point in spec.grid_points():
            study.enqueue_trial({key: _encode(value) for key, value in point.items()})
    # Trials left running by a stopped sweep: queue them again (same values, same run folder), mark the old failed.
    optuna = _optuna()
    for trial in trials:
        if trial.state == optuna.trial.TrialState.RUNNING:
            study.enqueue_trial(trial.params, user_attrs={
                "continues": trial.number, "folder": trial.user_attrs.get("folder", trial.number)})
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
    return study


@contextlib.contextmanager
def file_lock(path, wait=True):
    """An exclusive ``flock`` on ``path``; with ``wait=False`` raises BlockingIOError when it is held."""
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        try:
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def next_trial(study, spec, sweep_dir):
    """The next trial to run (a queued one first), or None when the sweep has all it needs."""
    optuna = _optuna()
    with file_lock(Path(sweep_dir) / "ask.lock"):
        trials = study.get_trials(deepcopy=False)
        if not any(t.state == optuna.trial.TrialState.WAITING for t in trials):
            if spec.is_grid() or len(counted(trials)) >= spec.trials:
                return None
        # Seeded per trial: the same spec asks the same values whether or not the sweep was stopped on the way.
        study.sampler = optuna.samplers.TPESampler(seed=spec.seed + len(trials))
        study.pruner = _pruner(spec.pruner)
        trial = study.ask()
        values = suggest(trial, spec)
    return trial, values


def run_one(study, trial, values, state, sweep_dir):
    """Train one trial and tell the study how it went."""
    optuna = _optuna()
    from nnlab.sweep.trials import run_trial

    spec = state["spec"]
    folder = trial.user_attrs.get("folder", trial.number)
    trial.set_user_attr("folder", folder)
    trial.set_user_attr("pid", os.getpid())

    def report(epoch, value):
        trial.report(value, epoch)
        return trial.should_prune()

    try:
        outcome = run_trial(spec, state["preset"], state["base"], values, folder, Path(sweep_dir) / "runs",
                            state["metric"], state["direction"], report)
    except NnlabError as error:  # a combination the settings refuse
        outcome = {"status": "failed", "reason": str(error)}
    except (MemoryError, RuntimeError, ValueError, TypeError, ArithmeticError, OSError) as error:
        outcome = {"status": "failed", "reason": f"{type(error).__name__}: {error}"}
    for key in ("status", "reason", "std", "scores", "runs", "seconds"):
        if key in outcome:
            trial.set_user_attr(key, outcome[key])
    states = {"complete": optuna.trial.TrialState.COMPLETE, "pruned": optuna.trial.TrialState.PRUNED,
              "failed": optuna.trial.TrialState.FAIL}
    value = outcome.get("value") if outcome["status"] == "complete" else None
    study.tell(trial, value, state=states[outcome["status"]])


def _die_with_parent():
    """A worker whose sweep process was killed (kill -9) stops too; its run folder is continued next time."""
    parent = os.getppid()

    def watch():
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, daemon=True).start()


def worker_main(sweep_dir, cores):
    """One worker process: trials until the study has all it needs. Exit 130 on Ctrl-C (its trial resumes later)."""
    pin(cores)
    _die_with_parent()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from nnlab.core import interrupt

    interrupt.install()
    try:
        state = read_state(sweep_dir)
        study = open_study(sweep_dir, state["direction"])
        while (picked := next_trial(study, state["spec"], sweep_dir)) is not None:
            run_one(study, *picked, state, sweep_dir)
    except KeyboardInterrupt:
        sys.exit(130)


def record_failure(sweep_dir, number, reason):
    from nnlab.core.runs import write_json

    path = Path(sweep_dir) / FAILURES
    failures = json.loads(path.read_text()) if path.exists() else {}
    failures[str(number)] = reason
    write_json(path, failures)


def failures(sweep_dir):
    path = Path(sweep_dir) / FAILURES
    return json.loads(path.read_text()) if path.exists() else {}


if __name__ == "__main__":  # a worker: python -m nnlab.sweep.search SWEEP_DIR CORES (comma-separated, or empty)
    worker_main(sys.argv[1], [int(core) for core in sys.argv[2].split(",") if core])
