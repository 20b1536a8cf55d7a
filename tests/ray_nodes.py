"""Ray nodes on this machine for the tests: ``ray start --block`` processes, each stopped on its own.

``ray stop`` would stop every Ray on the machine (other sessions' too); a node started with
``--block`` stays in the foreground, and terminating that process stops that node only.
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RAY = Path(sys.executable).with_name("ray")
OBJECT_STORE = 100 * 1024 * 1024  # bytes of shared memory per node: the tests move file names, not photos


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_node(cpus, head_port=None, address=None, log=None):
    """A head node listening on ``head_port``, or a worker joining ``address``; returns its process."""
    ports = ["--dashboard-agent-listen-port", str(free_port()), "--dashboard-agent-grpc-port", str(free_port()),
             "--metrics-export-port", str(free_port()), "--runtime-env-agent-port", str(free_port())]
    if head_port is not None:
        role = ["--head", "--port", str(head_port), "--include-dashboard", "false",
                "--ray-client-server-port", str(free_port())]
    else:
        role = ["--address", address]
    command = [str(RAY), "start", "--block", "--num-cpus", str(cpus), "--object-store-memory", str(OBJECT_STORE),
               "--disable-usage-stats", *role, *ports]
    output = open(log, "w") if log else subprocess.DEVNULL
    process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True)
    process.ray_port = head_port
    return process


def wait_for_cpus(address, cpus, timeout=180):
    """Wait until the cluster at ``address`` has ``cpus`` CPUs (all its nodes joined)."""
    script = ("import ray, sys; ray.init(address=sys.argv[1], logging_level='ERROR', log_to_driver=False); "
              "print(int(ray.cluster_resources().get('CPU', 0)))")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = subprocess.run([sys.executable, "-c", script, address], capture_output=True, text=True)
        if result.returncode == 0 and result.stdout.strip().splitlines()[-1:] == [str(cpus)]:
            return
        time.sleep(1)
    raise TimeoutError(f"the Ray cluster at {address} did not reach {cpus} CPUs in {timeout} s")


def stop_node(process):
    """The node's processes (its own process group) killed: SIGTERM would drain it for 30 s first."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    # A head leaves its address where a plain ray.init() looks for a cluster: not a dead one's.
    current = Path(tempfile.gettempdir()) / "ray" / "ray_current_cluster"
    try:
        if current.read_text().strip().endswith(f":{getattr(process, 'ray_port', None)}"):
            current.unlink()
    except OSError:
        pass


def token_environment():
    """``ray start`` turns token authentication on: the nodes and every driver of the test run share one token."""
    return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16)}
