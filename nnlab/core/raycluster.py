"""Joining a Ray cluster, or starting one on this machine, quietly: for ``--executor ray``.

``connect(address)`` joins the cluster at ``address`` (``HOST:PORT`` of ``ray start --head``),
else the one ``RAY_ADDRESS`` names, else starts a local Ray with this machine's cores: no
dashboard, and the workers' output kept in Ray's own logs (``/tmp/ray/session_latest/logs``)
instead of interleaved with nnlab's lines.

    >>> describe(None, {})
    'a local Ray on this machine'
    >>> describe(None, {"RAY_ADDRESS": "10.0.0.5:6379"})
    'the Ray cluster at 10.0.0.5:6379 (RAY_ADDRESS)'
"""

import logging
import math
import os
import tempfile
from pathlib import Path

from nnlab.core.errors import NnlabError

INSTALL = "pip install 'nnlab[ray]'"


def describe(address, environ=os.environ):
    if address:
        return f"the Ray cluster at {address}"
    if environ.get("RAY_ADDRESS"):
        return f"the Ray cluster at {environ['RAY_ADDRESS']} (RAY_ADDRESS)"
    return "a local Ray on this machine"


def import_ray():
    """``ray``, or one error line saying how to install it."""
    try:
        import ray
    except ImportError:
        raise NnlabError(f"--executor ray needs Ray: {INSTALL}.") from None
    return ray


def connect(address=None):
    """Join ``address`` (or ``RAY_ADDRESS``), else start a local Ray; returns what was joined, for the user.

    Already connected (the tests' shared cluster, a second call): kept as it is.
    """
    where = describe(address)
    if address or os.environ.get("RAY_ADDRESS"):
        # Refused before Ray is imported: ray.init would retry a dead address for ever, and an import
        # here fixes Ray's RAY_AUTH_* settings for this process (tests set them later).
        _check_reachable(address or os.environ["RAY_ADDRESS"], where)
    ray = import_ray()
    # Trials and Ray Data tasks chdir and print on workers; nnlab's own lines are what the user reads.
    os.environ.setdefault("RAY_CHDIR_TO_TRIAL_DIR", "0")
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")  # no TensorBoard/CSV/JSON files per trial
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # with verbose=0: no experiment table, nnlab prints its lines
    # Each epoch's checkpoint snapshots Tune's state: that is the point (a stopped sweep continues), not a warning.
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    if ray.is_initialized():
        return where
    # ERROR: Ray's start-up notes (token authentication on, deprecations) are not the user's to act on.
    options = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.ERROR,
               "configure_logging": True}
    try:
        if address or os.environ.get("RAY_ADDRESS"):
            ray.init(address=address or os.environ["RAY_ADDRESS"], **{k: v for k, v in options.items()
                                                                      if k != "include_dashboard"})
        else:
            # "local": a new Ray, even where a `ray start` left its address in /tmp/ray (stale, or another's)
            ray.init(address="local", num_cpus=len(os.sched_getaffinity(0)), **options)
    except (ConnectionError, RuntimeError, ValueError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if "Authentication" in type(error.__cause__).__name__ or "auth" in str(error.__cause__).lower():
            raise NnlabError(f"could not join {where}: its authentication token is missing or wrong here; copy the "
                             "token of the head node (`ray get-auth-token` there) into RAY_AUTH_TOKEN or "
                             "~/.ray/auth_token on this machine.") from None
        raise NnlabError(f"could not join {where}: {first}. Start one with `ray start --head --port 6379` and "
                         "give --address HOST:6379 (or leave --address out for a local Ray).") from None
    _quiet_data()
    return where


def _check_reachable(address, where, seconds=5):
    """Refuse an address where nothing listens: ``ray.init`` would retry it for ever, one warning at a time.

        >>> _check_reachable("127.0.0.1:1", "the Ray cluster at 127.0.0.1:1")
        Traceback (most recent call last):
        ...
        nnlab.core.errors.NnlabError: could not join the Ray cluster at 127.0.0.1:1: nothing answers there (...). ...
    """
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if address.startswith("ray://") or address == "auto" or not port.isdigit():
        return  # Ray Client or "auto": Ray's own lookup and errors
    fix = "Start one with `ray start --head --port 6379` and give --address HOST:6379 (or leave --address out for a "\
          "local Ray)."
    try:
        with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=seconds) as probe:
            if os.environ.get("RAY_USE_TLS", "0") not in ("0", ""):
                return  # TLS first: the check below would need the cluster's certificates
            answer = _http2_answer(probe)
    except OSError as error:
        raise NnlabError(f"could not join {where}: nothing answers there ({error.strerror or error}). {fix}") from None
    if answer[3:4] != b"\x04":
        raise NnlabError(f"could not join {where}: something answers there, but not a Ray cluster (its head node's "
                         f"port speaks gRPC, this one {_what(answer)}). {fix}")


def _http2_answer(probe):
    """The first (up to) 9 bytes a server sends back to an HTTP/2 client's opening (RFC 9113, 3.4).

    A Ray head's port is a gRPC server, which speaks HTTP/2 and answers with a SETTINGS frame (type 4, the
    fourth byte). Anything else there (a web server, a database) answers otherwise or closes the connection;
    ``ray.init`` would wait for it for ever.
    """
    import socket

    probe.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")  # + empty SETTINGS
    answer = b""
    try:
        while len(answer) < 9:
            chunk = probe.recv(9 - len(answer))
            if not chunk:
                break
            answer += chunk
    except socket.timeout:  # silent: not a gRPC server either
        pass
    return answer


def _what(answer):
    if not answer:
        return "closed the connection or said nothing"
    text = answer.decode("ascii", "replace").split("\r")[0]
    return f"answered {text!r}" if text.isprintable() else "answered something else"


def error_line(error):
    """One line for a task's or trial's error: its type and the last line of its text (a Ray error's text
    holds the remote traceback; its last line says what went wrong).

        >>> error_line(RuntimeError("Traceback (most recent call last):\\n  File ...\\nNaN loss at epoch 3"))
        'RuntimeError: NaN loss at epoch 3'
    """
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[-1] if lines else ''}".strip(": ")


def _quiet_data():
    """Ray Data prints progress bars and a plan per dataset; nnlab shows its own summary line."""
    try:
        from ray.data import DataContext
    except ImportError:  # ray without the data extra: only sweeps
        return
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # "execution finished", "progress bars disabled"
    context = DataContext.get_current()
    context.enable_progress_bars = False
    if hasattr(context, "print_on_execution_start"):
        context.print_on_execution_start = False


def cluster_cpus():
    """The CPU cores the joined cluster has, over all its nodes."""
    return int(import_ray().cluster_resources().get("CPU", 0))


CORE_LOCKS = Path(tempfile.gettempdir()) / "nnlab-trial-cores"  # one lock file per core of this node


def claim_cores(cpus):
    """Pin this thread (and the XLA threads it starts) to ``ceil(cpus)`` cores no other nnlab worker here holds.

    Ray reserves CPUs by count, not which ones; XLA sizes its CPU thread pool from the cores
    the thread that first uses JAX may run on, so two trials on a 2-core node would each start
    2 threads and slow each other down (the local executor pins its workers for the same
    reason). A core is claimed with a ``flock`` on its file under /tmp: the claim ends with
    the worker process, however it ends. Returns the claimed cores (None: not pinned).

    Call it before the process first uses JAX: XLA's thread pool is sized once.
    """
    import fcntl

    if getattr(claim_cores, "held", None):  # a reused worker: still holds its cores
        return [core for core, _ in claim_cores.held]
    cores = sorted(os.sched_getaffinity(0))
    wanted = max(1, math.ceil(cpus))
    if wanted >= len(cores):
        return None
    CORE_LOCKS.mkdir(exist_ok=True)
    held = []
    for core in cores:
        handle = open(CORE_LOCKS / f"{core}.lock", "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        held.append((core, handle))
        if len(held) == wanted:
            break
    if len(held) < wanted:  # more trials here than cores (CPUs over-lent): leave it to the kernel
        for _, handle in held:
            handle.close()
        return None
    claim_cores.held = held  # the locks live as long as this worker process
    os.sched_setaffinity(0, [core for core, _ in held])
    return [core for core, _ in held]
