"""Benchmark: the lucky-bag server under load, micro-batched, against one Keras predict() per request.

    .venv/bin/python bench/serve_load.py                         # the best fashion run in runs/ (else an untrained cnn)
    .venv/bin/python bench/serve_load.py --model runs/<run> --seconds 20

Writes bench/results/serve_load.json.

Claim (this 2-core machine, loopback): `nnlab serve` answers 8 concurrent clients, each sending
single-image POST /v1/predict requests back to back, at >= 500 requests/s with a p99 latency
<= 30 ms. Baseline, measured in the same run with the same clients, image and app: the app with
its batcher replaced by one Keras ``model.predict()`` call per request (run in FastAPI's thread
pool, one at a time), the way a first server would be written. ``--workers 1 2`` measures
`nnlab serve --workers 2` too (the claim is then on the last value given).

Where the time goes: one server process spends ~2 ms of CPU per request (~1 ms in the event
loop: HTTP, multipart, routing, JSON; ~0.7 ms turning the PNG into a model input; the model
call, shared by ~3.5 requests, well under 0.5 ms), and the GIL keeps it to about one core, so
~500 requests/s is its ceiling here. Other programs on this shared machine take CPU as well:
the load average is saved with the result.

Each server runs in its own process (started here, stopped after its phase) so that the clients
do not share its interpreter; the clients are 8 threads with a keep-alive connection each,
sending a prebuilt request and reading the answer with plain sockets (light, like wrk).
The image is a 28x28 PNG of a Fashion-MNIST test image (the photo path's quick case); the
speed of the model does not depend on its weights, so an untrained cnn stands in when runs/
holds no fashion run.
"""

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nnlab  # noqa: F401  picks the backend (JAX unless KERAS_BACKEND is set)

import numpy as np

from record import save_result

SETTINGS = {"clients": 8, "seconds": 10.0, "warmup_seconds": 2.0, "image": "28x28 PNG, Fashion-MNIST test image 0",
            "max_batch": 64, "max_wait_ms": 1.0, "workers": [1]}
GOALS = {"requests_per_second": 500, "p99_ms": 30}
ROOT = Path(__file__).resolve().parent.parent
BOUNDARY = "nnlab-bench-boundary"


# ---------------------------------------------------------------- the servers


def baseline_app(model):
    """The app with one ``model.predict()`` per request instead of the batcher (same parsing, photo path, JSON)."""
    import threading as _threading

    from starlette.concurrency import run_in_threadpool

    from nnlab.serving.app import create_app
    from nnlab.serving.settings import Settings

    app = create_app(Settings(fashion_model=model))
    service = app.state.fashion
    service.batcher.close()
    lock = _threading.Lock()  # one predict at a time: a Keras model is not meant to be called from two threads

    def predict(x):
        with lock:
            return service.model.predict(x, verbose=0)

    class PerRequest:
        calls = rows = 0

        async def submit(self, x):
            return await run_in_threadpool(predict, x)

        def close(self):
            pass

        def stats(self):
            return {"per_request_predict": True}

    service.batcher = PerRequest()
    return app


def healthy(port):
    """Whether the server on ``port`` answers GET /healthz with 200 (False while it is still starting)."""
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False


def wait_until_healthy(process, port, what, timeout=180, poll=0.3):
    """``process`` once /healthz answers; SystemExit naming ``what`` if it stops or does not answer in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} stopped: {process.stderr.read()}")
        if healthy(port):
            return process
        time.sleep(poll)
    process.kill()
    raise SystemExit(f"{what} did not answer within {timeout} s")


def start(kind, model, port, workers=1):
    """Start the ``batched`` (`nnlab serve`) or ``baseline`` server; returns the process once /healthz answers."""
    if kind == "batched":
        command = [str(ROOT / ".venv" / "bin" / "nnlab"), "serve", "--model", model, "--port", str(port),
                   "--max-batch", str(SETTINGS["max_batch"]), "--max-wait-ms", str(SETTINGS["max_wait_ms"]),
                   "--workers", str(workers)]
    else:
        command = [sys.executable, __file__, "--serve-baseline", "--model", model, "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return wait_until_healthy(process, port, f"the {kind} server")


def serve_baseline(model, port):
    import uvicorn

    uvicorn.run(baseline_app(model), host="127.0.0.1", port=port, log_level="warning", access_log=False)


# ---------------------------------------------------------------- the clients


def multipart(name, data):
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode()
    return head + data + f"\r\n--{BOUNDARY}--\r\n".encode()


def exchange(sock, request, buffer):
    """Send one prebuilt HTTP/1.1 request on a keep-alive socket; returns (status, body, bytes left over).

    A few lines of socket code rather than http.client: its header parsing costs more CPU per
    request than the server's own work, on the same two cores.
    """
    sock.sendall(request)
    while b"\r\n\r\n" not in buffer:
        buffer += sock.recv(65536)
    head, _, buffer = buffer.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    while len(buffer) < length:
        buffer += sock.recv(65536)
    return int(head[9:12]), buffer[:length], buffer[length:]


def load(port, body, seconds, clients):
    """``clients`` threads POST ``body`` back to back for ``seconds``; returns (latencies in s, errors, elapsed s)."""
    import socket

    latencies, errors, stop = [], [], time.monotonic() + seconds
    request = (f"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: multipart/form-data; "
               f"boundary={BOUNDARY}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body

    def client():
        mine, buffer = [], b""
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while time.monotonic() < stop:
                begin = time.perf_counter()
                status, _, buffer = exchange(sock, request, buffer)
                mine.append(time.perf_counter() - begin)
                if status != 200:
                    errors.append(status)
        latencies.extend(mine)  # list.extend is atomic under the GIL

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors, time.monotonic() - started


def cpu_seconds(pid):
    """CPU time (user + system, s) of process ``pid`` and its children (uvicorn's workers), from /proc."""
    ticks, total = os.sysconf("SC_CLK_TCK"), 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:  # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def phase(kind, model, port, body, workers=1):
    process = start(kind, model, port, workers)
    try:
        load(port, body, SETTINGS["warmup_seconds"], SETTINGS["clients"])
        cpu_before = cpu_seconds(process.pid)
        latencies, errors, elapsed = load(port, body, SETTINGS["seconds"], SETTINGS["clients"])
        cpu = cpu_seconds(process.pid) - cpu_before
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/v1/model")
        info = json.loads(connection.getresponse().read())
    finally:
        process.terminate()
        process.wait(timeout=30)
    ms = np.array(latencies) * 1000
    result = {"requests": len(latencies), "errors": len(errors), "requests_per_second": len(latencies) / elapsed,
              "p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
              "mean_ms": float(ms.mean()), "server_cpu_ms_per_request": 1000 * cpu / max(len(latencies), 1),
              "server_cpu_cores": cpu / elapsed, "batching": info.get("batching"), "model_file": info.get("model_file")}
    print(f"{kind:>8} ({workers} process{'es' if workers > 1 else ''}): {result['requests_per_second']:7.1f} req/s, p50 {result['p50_ms']:6.2f} ms, "
          f"p99 {result['p99_ms']:6.2f} ms, {result['errors']} errors; server CPU "
          f"{result['server_cpu_ms_per_request']:.2f} ms/request ({result['server_cpu_cores']:.2f} cores); "
          f"batching {result['batching']}")
    return result


# ---------------------------------------------------------------- main


def default_model(folder):
    """The best fashion run in runs/ (as `nnlab serve` picks it), else an untrained cnn saved in ``folder``."""
    from nnlab.cli.serve import best_fashion_run

    found = best_fashion_run(ROOT / "runs")
    if found is not None:
        return str(found[0])
    from nnlab.core.saving import save_model
    from nnlab.fashion.models import build_model

    path = Path(folder) / "untrained-cnn.keras"
    save_model(build_model("cnn"), path)
    return str(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="run folder or model file (default: the best fashion run in runs/)")
    parser.add_argument("--seconds", type=float, default=SETTINGS["seconds"], help="measured seconds per server")
    parser.add_argument("--workers", type=int, nargs="+", default=SETTINGS["workers"],
                        help="`nnlab serve --workers` values to measure (default: 1); the claim is on the last")
    parser.add_argument("--port", type=int, default=8931)
    parser.add_argument("--serve-baseline", action="store_true", help=argparse.SUPPRESS)  # the baseline's process
    args = parser.parse_args()
    if args.serve_baseline:
        return serve_baseline(args.model, args.port)
    SETTINGS.update(seconds=args.seconds, workers=args.workers)

    import io

    from PIL import Image

    from nnlab.fashion.data import load_fashion_mnist

    _, (x_test, _) = load_fashion_mnist()
    png = io.BytesIO()
    Image.fromarray(x_test[0]).save(png, "PNG")
    body = multipart("item.png", png.getvalue())
    with tempfile.TemporaryDirectory() as folder:
        model = args.model or default_model(folder)
        SETTINGS["model"] = model
        print(f"model {model}; {SETTINGS['clients']} clients, {SETTINGS['seconds']:g} s per server "
              f"(after {SETTINGS['warmup_seconds']:g} s of warm-up); {os.cpu_count()} CPUs")
        load_before = os.getloadavg()  # other programs on this shared machine take CPU too: kept with the result
        baseline = phase("baseline", model, args.port, body)
        runs = {workers: phase("batched", model, args.port + workers, body, workers) for workers in args.workers}
        batched = runs[args.workers[-1]]
        load_after = os.getloadavg()
    met = (batched["requests_per_second"] >= GOALS["requests_per_second"] and batched["p99_ms"] <= GOALS["p99_ms"]
           and batched["errors"] == 0)
    save_result(
        "serve_load",
        claim=f"nnlab serve{f' --workers {args.workers[-1]}' if args.workers[-1] > 1 else ''} answers {SETTINGS['clients']} concurrent clients' single-image POST /v1/predict at "
              f">= {GOALS['requests_per_second']} requests/s with p99 <= {GOALS['p99_ms']} ms (baseline: one "
              "Keras predict() per request, same app and clients)",
        figure=(batched["requests_per_second"], "requests/s"), baseline=(baseline["requests_per_second"], "requests/s"),
        met=met,
        summary="; ".join(f"{w} process{'es' if w > 1 else ''} {r['requests_per_second']:.0f} req/s, p50 "
                          f"{r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms" for w, r in runs.items())
                + f" micro-batched vs {baseline['requests_per_second']:.0f} req/s, p99 {baseline['p99_ms']:.1f} ms "
                  "with one predict() per request",
        settings=SETTINGS, details={"batched": {f"workers_{w}": r for w, r in runs.items()}, "baseline": baseline,
                                    "load_average_1_5_15_min": {"before": load_before, "after": load_after}})


if __name__ == "__main__":
    main()
