"""Independent runs trained side by side: one process per run, ``jobs`` at a time, each on its share of the cores.

Keras on JAX trains one model per process, and XLA sizes its CPU thread pool from
the cores the process may run on (it ignores OMP_NUM_THREADS), so parallel runs are
separate processes pinned with ``os.sched_setaffinity``: two runs on two cores each
get one core instead of fighting over both. ``nnlab reproduce --jobs`` and
``nnlab sweep --jobs`` use it.

    >>> split_cores([0, 1, 2, 3], jobs=2)
    [[0, 1], [2, 3]]
    >>> split_cores([0], jobs=2)          # fewer cores than jobs: no pinning
    [None, None]

A run that was stopped (Ctrl-C, ``kill -9``) is continued from its last finished
epoch the next time, as ``nnlab train --resume`` does.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nnlab.core.errors import NnlabError


def split_cores(cores, jobs):
    """Each job's cores: an equal share of ``cores``; None (no pinning) when there are fewer cores than jobs."""
    cores = sorted(cores)
    share = len(cores) // jobs
    if share == 0:
        return [None] * jobs
    return [cores[i * share:(i + 1) * share] for i in range(jobs)]


def pin(cores):
    """Run this process on ``cores`` only (before JAX starts its thread pools); None leaves it as it is."""
    if cores:
        os.sched_setaffinity(0, cores)


def train_all(configs, jobs, say=print, env=None, poll=0.2):
    """Train each config (a resolved run config) in its own process, ``jobs`` at a time; returns their run folders.

    A run that fails stops nothing else; its error is raised at the end as one NnlabError naming the run.
    Ctrl-C stops every process (each saves what ``--resume`` needs) and raises KeyboardInterrupt.
    ``env``: variables added to the processes' environment (e.g. NNLAB_DATA_DIR).
    """
    from nnlab.core.config import to_dict

    if jobs < 1:
        raise NnlabError(f"--jobs must be at least 1, got {jobs}.")
    shares = split_cores(os.sched_getaffinity(0), jobs)
    pending = list(configs)
    running, failed, done = {}, [], []
    with tempfile.TemporaryDirectory(prefix="nnlab-pool-") as folder:
        try:
            while pending or running:
                free = [slot for slot in range(jobs) if slot not in running]
                while pending and free:
                    slot, config = free.pop(0), pending.pop(0)
                    path = Path(folder) / f"{config.name}.json"
                    path.write_text(json.dumps(to_dict(config)))
                    log = Path(folder) / f"{config.name}.log"
                    cores = ",".join(map(str, shares[slot] or []))
                    command = [sys.executable, "-m", "nnlab.core.pool", str(path), cores]
                    with open(log, "w") as out:
                        running[slot] = (subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                                          stdin=subprocess.DEVNULL,
                                                          env={**os.environ, **(env or {})}), config, log)
                    say(f"  training {config.name} ({config.epochs} epochs) in a process of its own")
                time.sleep(poll)
                for slot, (process, config, log) in list(running.items()):
                    if process.poll() is None:
                        continue
                    del running[slot]
                    run_dir = Path(config.runs_dir) / config.name
                    if process.returncode == 0:
                        done.append(run_dir)
                    else:
                        failed.append(f"{config.name} (exit {process.returncode}): {_tail(log)}")
        except KeyboardInterrupt:
            stop_processes([process for process, _, _ in running.values()])
            raise
    if failed:
        raise NnlabError("these runs failed: " + "; ".join(failed))
    return done


def _tail(log, lines=3):
    try:
        return " | ".join(Path(log).read_text().strip().splitlines()[-lines:])
    except OSError:
        return "no output"


def stop_processes(processes, grace=60):
    """Ctrl-C reached them too (same process group); make sure, then let them save their resume state."""
    processes = list(processes)
    time.sleep(0.3)
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()


def train_one(values):
    """One run in this process, from its config dict: trained, or continued if its folder holds a stopped run."""
    from nnlab.core.errors import AlreadyFinished
    from nnlab.core.task import get_task
    from nnlab.core.training import resume, train

    config = get_task(values["task"]).config_from_dict(values)
    run_dir = Path(config.runs_dir) / config.name
    try:
        if (run_dir / "config.json").exists():
            resume(run_dir, verbose=0)
        else:
            config.verbose = 0
            train(config)
    except AlreadyFinished:
        pass


def _main(config_file, cores):
    """One run in this process (see :func:`train_one`), pinned to ``cores``."""
    pin(cores)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from nnlab.core import interrupt

    interrupt.install()
    try:
        train_one(json.loads(Path(config_file).read_text()))
    except KeyboardInterrupt:
        sys.exit(130)


# ---------------------------------------------------------------- the same runs as Ray tasks (--executor ray)

MAX_RETRIES = 2  # times Ray reruns a run whose worker died (a node lost, a kill -9): it continues its run folder


def _ray_run(values, env, jobs):
    """A Ray task: one run (:func:`train_one`) on a worker, pinned to its ``jobs``-th share of its node's cores.

    Workers are reused from run to run: Python, JAX and Keras are imported once per worker.
    """
    from nnlab.core.raycluster import claim_cores

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    claim_cores(max(1, len(os.sched_getaffinity(0)) // jobs))  # as a sweep's trials: cores no other run holds
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)  # e.g. NNLAB_DATA_DIR, for this run only: the worker serves other runs after it
    try:
        train_one(values)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return values["name"]


def train_all_ray(configs, jobs, address=None, say=print, env=None, poll=0.5):
    """:func:`train_all` on a Ray cluster: each run a Ray task, ``jobs`` at a time; returns their run folders.

    ``address`` (else RAY_ADDRESS, else a local Ray) as ``nnlab sweep --executor ray``; run
    folders and the data must be on storage every node sees. A run whose worker dies is run
    again by Ray (up to MAX_RETRIES times), continuing its folder from its last finished
    epoch; after that it is reported with the others that failed. Ctrl-C cancels the runs
    (each saves what ``--resume`` needs) and raises KeyboardInterrupt.
    """
    from nnlab.core import raycluster
    from nnlab.core.config import to_dict

    if jobs < 1:
        raise NnlabError(f"--jobs must be at least 1, got {jobs}.")
    ray = raycluster.import_ray()
    where = raycluster.connect(address)
    task = ray.remote(_ray_run).options(name="nnlab-run", num_cpus=1, max_retries=MAX_RETRIES,
                                        retry_exceptions=False)
    env = {key: str(Path(value).resolve()) if key.endswith("_DIR") else value for key, value in (env or {}).items()}
    pending, running, failed, done = list(configs), {}, [], []
    say(f"  on {where}, {raycluster.cluster_cpus()} CPUs")
    try:
        while pending or running:
            while pending and len(running) < jobs:
                config = pending.pop(0)
                values = to_dict(config)
                values["runs_dir"] = str(Path(config.runs_dir).resolve())  # the workers' cwd is not ours
                running[task.remote(values, env, jobs)] = config
                say(f"  training {config.name} ({config.epochs} epochs) as a Ray task")
            finished, _ = ray.wait(list(running), num_returns=1, timeout=poll)
            for ref in finished:
                config = running.pop(ref)
                try:
                    ray.get(ref)
                    done.append(Path(config.runs_dir) / config.name)
                except (ray.exceptions.RayError, NnlabError) as error:
                    failed.append(f"{config.name}: {raycluster.error_line(error)}")
    except KeyboardInterrupt:
        for ref in running:
            ray.cancel(ref)  # a KeyboardInterrupt in the run: it saves its resume state
        ray.wait(list(running), num_returns=len(running), timeout=60)
        raise
    if failed:
        raise NnlabError("these runs failed: " + "; ".join(failed))
    return done


if __name__ == "__main__":  # python -m nnlab.core.pool CONFIG.json CORES
    _main(sys.argv[1], [int(core) for core in sys.argv[2].split(",") if core])
