"""The local executor: ``nnlab sweep`` on this machine, with ``--jobs N`` worker processes.

The sweep process checks the spec, prepares the study (see :mod:`nnlab.sweep.search`),
starts the workers (``python -m nnlab.sweep.search``, each pinned to its share of
the cores, their output in ``SWEEP/worker-N.log``), prints one line per finished
trial with a progress bar of trials, and writes the results at the end, or when
stopped. A worker killed on the way (``kill -9``, out of memory) fails its trial
with the reason, and another worker takes its place.
"""

import contextlib
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from nnlab.core.errors import NnlabError
from nnlab.core.pool import split_cores, stop_processes
from nnlab.sweep import results, search
from nnlab.sweep.results import cell
from nnlab.sweep.spec import read_spec
from nnlab.sweep.trials import base_settings, check_space, trial_config

POLL_SECONDS = 0.5


def sweep_folder(name, spec_dir, spec_values, out=None, root="sweeps"):
    """``--out`` as given, else the newest unfinished ``sweeps/<name>-*`` of the same spec, else a new one."""
    if out is not None:
        return Path(out)
    candidates = sorted(Path(root).glob(f"{name}-*/{search.STATE_FILE}"), reverse=True)
    for state_file in candidates:
        try:
            state = json.loads(state_file.read_text())
        except (OSError, ValueError):
            continue
        if {k: state.get(k) for k in spec_values} == spec_values and not (state_file.parent / "done").exists():
            return state_file.parent
    return Path(root) / f"{name}-{datetime.datetime.now().strftime('%Y%m%d-%H%M%S')}"


def _spawn(sweep_dir, index, cores):
    log = open(Path(sweep_dir) / f"worker-{index}.log", "a")
    command = [sys.executable, "-m", "nnlab.sweep.search", str(sweep_dir), ",".join(map(str, cores or []))]
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def _line(row, state, best):
    metric = state["metric"]
    values = " ".join(f"{key}={cell(row[key])}" for key in state["spec"].space)
    figure = "" if row[metric] is None else f"{metric} {row[metric]:.4f}"
    if row.get(f"{metric}_std") is not None:
        figure += f" ± {row[f'{metric}_std']:.4f}"
    best_text = f"best {best[metric]:.4f} (trial {best['trial']})" if best else ""
    seconds = f"{row['seconds']:.0f} s" if row.get("seconds") is not None else ""
    reason = f" ({row['reason']})" if row["status"] != "complete" and row.get("reason") else ""
    return f"trial {row['trial']:>3}  {row['status']:<8} {values}  {figure}  {best_text}  {seconds}{reason}"


def run(spec_path, out=None, jobs=1, console=None):
    """Run (or continue) the sweep of ``spec_path``; returns the sweep folder."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = console or Console(highlight=False, soft_wrap=True)
    if jobs < 1:
        raise NnlabError(f"--jobs must be at least 1, got {jobs}.")
    spec_path = Path(spec_path)
    spec = read_spec(spec_path)
    preset, base = base_settings(spec, spec_path.parent)
    metric, direction = check_space(spec, preset, base)
    name = spec.name or spec_path.stem
    spec = spec.model_copy(update={"name": name})
    identity = {"spec": spec.model_dump(mode="json"), "preset": preset, "base": base}
    sweep_dir = sweep_folder(name, spec_path.parent, identity, out)
    if (sweep_dir / "ray").is_dir():
        raise NnlabError(f"{sweep_dir} holds a sweep run on Ray; continue it with --executor ray, or give another "
                         "--out.")
    sweep_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(search.file_lock(sweep_dir / "sweep.lock", wait=False))
        except BlockingIOError:
            raise NnlabError(f"a sweep is running in {sweep_dir} already; wait for it, or see it with "
                             f"`nnlab sweep --status {sweep_dir}`.") from None
        study = search.prepare(sweep_dir, spec, preset, base, metric, direction, spec_path.parent)
        state = search.read_state(sweep_dir)
        from nnlab.core import tracking  # MLflow: the sweep one run, its trials (tracked by their settings) children

        settings = trial_config(spec, preset, base, {})
        parent = tracking.start_sweep(settings, sweep_dir, spec.model_dump(mode="json")["space"])
        (sweep_dir / "done").unlink(missing_ok=True)
        console.print(f"sweep folder: [bold]{sweep_dir}[/] ({spec.planned_trials()} trials, {jobs} at a time, "
                      f"metric {metric}, {direction})")
        progress = Progress(TextColumn("trials"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            console=console, transient=True)
        try:
            _run_workers(sweep_dir, study, state, jobs, console, progress)
        except KeyboardInterrupt:
            results.write_all(study, state, sweep_dir)
            tracking.finish_sweep(settings, parent, None, metric, status="KILLED")
            console.print(f"sweep stopped; finished trials are kept. Continue with: nnlab sweep {spec_path} "
                          f"--out {sweep_dir}", style="yellow")
            raise
        table, best = results.write_all(study, state, sweep_dir)
        tracking.finish_sweep(settings, parent, best, metric)
        (sweep_dir / "done").write_text("")
    console.print(results.summary_line(table, best, metric, sweep_dir))
    return sweep_dir


def _finished(table):
    return {row["trial"] for row in table if row["status"] in ("complete", "pruned", "failed")}


def _run_workers(sweep_dir, study, state, jobs, console, progress):
    shares = split_cores(os.sched_getaffinity(0), jobs)
    workers = {index: _spawn(sweep_dir, index, shares[index]) for index in range(jobs)}
    table = results.rows(study, state, sweep_dir)
    shown = _finished(table)
    planned = state["spec"].planned_trials()
    with progress:
        bar = progress.add_task("trials", total=planned, completed=min(len(shown), planned))
        try:
            while workers:
                time.sleep(POLL_SECONDS)
                for index, worker in list(workers.items()):
                    code = worker.poll()
                    if code is None:
                        continue
                    del workers[index]
                    if code < 0 or code not in (0, 130):  # killed, or died of a fault: fail its trial, carry on
                        _fail_running(study, sweep_dir, worker.pid, code)
                        workers[index] = _spawn(sweep_dir, index, shares[index])
                table = results.rows(study, state, sweep_dir)
                best = results.best_row(table, state)
                for row in table:
                    if row["status"] in ("complete", "pruned", "failed") and row["trial"] not in shown:
                        shown.add(row["trial"])
                        progress.console.print(_line(row, state, best))
                        progress.update(bar, completed=min(len(shown), planned))
        except KeyboardInterrupt:
            stop_processes(workers.values())
            raise
    return table


def _fail_running(study, sweep_dir, pid, code):
    import optuna

    reason = f"worker killed by signal {-code}" if code < 0 else f"worker exited with status {code}"
    for trial in study.get_trials(deepcopy=False):
        if trial.state == optuna.trial.TrialState.RUNNING and trial.user_attrs.get("pid") == pid:
            search.record_failure(sweep_dir, trial.number, f"{reason}; see worker log in {sweep_dir}")
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL)


def status(sweep_dir, console=None):
    """Print a running or stopped sweep's trials and best; returns the rows."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console(highlight=False)
    sweep_dir = Path(sweep_dir)
    if not (sweep_dir / search.STATE_FILE).exists():
        raise NnlabError(f"{sweep_dir} is not a sweep folder (it has no {search.STATE_FILE}); give the folder "
                         "`nnlab sweep` printed.")
    state = search.read_state(sweep_dir)
    study = search.open_study(sweep_dir, state["direction"])
    table = results.rows(study, state, sweep_dir)
    try:
        with search.file_lock(sweep_dir / "sweep.lock", wait=False):
            running = False
    except BlockingIOError:
        running = True
    metric = state["metric"]
    view = Table(title=f"{sweep_dir}: {'running' if running else 'stopped' if not (sweep_dir / 'done').exists() else 'done'}")
    columns = ["trial", "status", *state["spec"].space, metric, "seconds", "reason"]
    for column in columns:
        view.add_column(column)
    for row in table:
        view.add_row(*[cell(row.get(column)) for column in columns])
    console.print(view)
    best = results.best_row(table, state)
    planned = state["spec"].planned_trials()
    console.print(f"{len(_finished(table))} of {planned} trials finished"
                  + (f"; best trial {best['trial']}: {metric} {best[metric]:.4f}" if best else ""))
    return table
