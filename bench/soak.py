"""Soak: `nnlab serve` with both systems under 8 clients mixing predict, bag and triage for 5 minutes.

    .venv/bin/python bench/soak.py                                   # runs/: the served fashion run, newest ticket run
    .venv/bin/python bench/soak.py --model runs/<run> --tickets runs/<ticket run> --seconds 300

Writes bench/results/soak.json.

Claim (issue 16's "done when"): over a 5-minute soak at 8 clients, each sending back to back a
mix of single-photo POST /v1/predict (40 %), 5-photo POST /v1/bag (30 %) and POST
/v1/tickets/triage of one to five tickets (30 %), no request fails (every answer a 200) and the
server's resident memory grows by < 5 % after the warm-up (the first minute). Baseline: the
server's resident memory at the end of the warm-up, measured in the same run; the figure is
the median of the last five samples (one every 5 s), so one transient allocation does not
decide it.

The server is `nnlab serve` in its own process on 127.0.0.1 (started here, stopped at the end);
the photos are product photos of test images (JPEG, PNG, WebP; nnlab.fashion.photoset), the
tickets synthetic (nnlab.tickets.synth). Each client keeps one connection (http.client); a
refused connection, a timeout or any status but 200 counts as a failed request. The figures
say nothing about speed: other programs share the two cores.
"""

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import nnlab  # noqa: F401  picks the backend (JAX unless KERAS_BACKEND is set)

import numpy as np

from record import save_result
from serve_load import wait_until_healthy

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {"clients": 8, "seconds": 300.0, "warmup_seconds": 60.0, "sample_seconds": 5.0,
            "mix": {"predict": 0.4, "bag": 0.3, "triage": 0.3}, "bag_items": 5, "tickets_per_request": [1, 5],
            "seed": 0}
GOAL_GROWTH = 0.05
BOUNDARY = "nnlab-soak-boundary"


# ---------------------------------------------------------------- what the clients send


def photo_bodies(count=40):
    """``count`` product photos of test images as (file name, bytes)."""
    from nnlab.fashion.data import load_splits
    from nnlab.fashion.photoset import make_photo

    splits = load_splits(limit=count)
    originals = np.rint(splits.x_test[:count] * 255).astype(np.uint8)
    photos = [make_photo(image, index=k) for k, image in enumerate(originals)]
    return [(p.name, p.data) for p in photos]


def multipart(files):
    parts = [(f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
              "Content-Type: application/octet-stream\r\n\r\n").encode() + data + b"\r\n" for name, data in files]
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def requests_to_send(rng):
    """Prebuilt (kind, path, content type, body) requests: 40 predicts, 40 bags, 40 triages."""
    from nnlab.tickets.synth import generate

    photos = photo_bodies()
    form = f"multipart/form-data; boundary={BOUNDARY}"
    tickets = [{"title": t["title"], "body": t["body"], "tags": list(t["tags"])} for t in generate(200, 0)]
    low, high = SETTINGS["tickets_per_request"]
    out = {"predict": [("predict", "/v1/predict", form, multipart([photo])) for photo in photos],
           "bag": [("bag", "/v1/bag", form, multipart(rng.sample(photos, SETTINGS["bag_items"])))
                   for _ in range(40)],
           "triage": []}
    for _ in range(40):
        chosen = rng.sample(tickets, rng.randint(low, high))
        out["triage"].append(("triage", "/v1/tickets/triage", "application/json",
                              json.dumps(chosen if len(chosen) > 1 else chosen[0]).encode()))
    return out


# ---------------------------------------------------------------- the server and its memory


def start(model, tickets, port):
    nnlab_command = Path(sys.executable).with_name("nnlab")
    command = [str(nnlab_command), "serve", "--model", model, "--tickets", tickets, "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return wait_until_healthy(process, port, "the server", poll=0.5)


def resident_mb(pid):
    """Resident memory (VmRSS) of process ``pid`` in MB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"no VmRSS for process {pid}")


def free_port():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ---------------------------------------------------------------- the soak


def soak(port, requests, seconds, clients, pid):
    """Clients send the mix until ``seconds`` pass; returns (counts, failures, memory samples [(t, MB)])."""
    counts = {kind: 0 for kind in SETTINGS["mix"]}
    failures, samples, lock = [], [], threading.Lock()
    started = time.monotonic()
    stop = started + seconds
    kinds, weights = list(SETTINGS["mix"]), list(SETTINGS["mix"].values())

    def client(number):
        rng = random.Random(SETTINGS["seed"] * 100 + number)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.monotonic() < stop:
            kind, path, content_type, body = rng.choice(requests[rng.choices(kinds, weights)[0]])
            try:
                connection.request("POST", path, body=body, headers={"Content-Type": content_type})
                response = connection.getresponse()
                answer = response.read()
                failed = None if response.status == 200 else f"{kind}: {response.status} {answer[:200]!r}"
            except (OSError, http.client.HTTPException) as error:
                failed = f"{kind}: {type(error).__name__}: {error}"
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            with lock:
                counts[kind] += 1
                if failed:
                    failures.append(failed)
        connection.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    while time.monotonic() < stop:
        samples.append((round(time.monotonic() - started, 1), resident_mb(pid)))
        time.sleep(SETTINGS["sample_seconds"])
    for thread in threads:
        thread.join(timeout=120)
    samples.append((round(time.monotonic() - started, 1), resident_mb(pid)))
    return counts, failures, samples


def default_runs():
    """The fashion run `nnlab serve` picks in runs/, and the newest finished ticket run there."""
    from nnlab.cli.serve import best_fashion_run
    from nnlab.core.runs import list_runs

    fashion = best_fashion_run(ROOT / "runs")
    tickets = [run for run in list_runs(ROOT / "runs") if (run["config"] or {}).get("task") == "tickets"
               and (Path(run["path"]) / "served.keras").is_file()]
    if fashion is None or not tickets:
        raise SystemExit("bench/soak.py needs a fashion run and a ticket run in runs/ (`make run`; "
                         "`nnlab tickets make-data --out tickets.csv && nnlab tickets train tickets.csv`), "
                         "or --model RUN --tickets RUN.")
    return str(fashion.path), str(max(tickets, key=lambda run: Path(run["path"]).stat().st_mtime)["path"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="fashion run folder or model file (default: the one nnlab serve picks)")
    parser.add_argument("--tickets", help="ticket run folder (default: the newest in runs/)")
    parser.add_argument("--seconds", type=float, default=SETTINGS["seconds"])
    parser.add_argument("--warmup-seconds", type=float, default=SETTINGS["warmup_seconds"])
    args = parser.parse_args()
    if not 0 < args.warmup_seconds < args.seconds:
        raise SystemExit(f"--warmup-seconds must be in (0, --seconds), got {args.warmup_seconds}")
    model, tickets = (args.model, args.tickets) if args.model and args.tickets else default_runs()
    model, tickets = args.model or model, args.tickets or tickets
    requests = requests_to_send(random.Random(SETTINGS["seed"]))
    port = free_port()
    process = start(model, tickets, port)
    try:
        counts, failures, samples = soak(port, requests, args.seconds, SETTINGS["clients"], process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)
    after_warmup = [mb for t, mb in samples if t >= args.warmup_seconds]
    baseline, final = after_warmup[0], float(np.median(after_warmup[-5:]))
    growth = final / baseline - 1
    total = sum(counts.values())
    met = not failures and growth < GOAL_GROWTH
    print(f"{total} requests ({', '.join(f'{k} {v}' for k, v in counts.items())}) in {args.seconds:.0f} s, "
          f"{len(failures)} failed; resident memory {samples[0][1]:.0f} MB at start, {baseline:.0f} MB after the "
          f"{args.warmup_seconds:.0f} s warm-up, {final:.0f} MB at the end ({100 * growth:+.2f} %)")
    for failure in failures[:10]:
        print("  failed:", failure)
    save_result(
        "soak", claim=f"`nnlab serve` with both systems, {SETTINGS['clients']} clients mixing predict, bag and triage "
                      f"for {args.seconds / 60:.0f} minutes: no failed request, resident memory growing < 5 % after "
                      f"the {args.warmup_seconds:.0f} s warm-up (baseline: the memory at the end of the warm-up)",
        figure=(final, "MB"), baseline=(baseline, "MB"), met=met,
        summary=f"{total:,} requests ({', '.join(f'{k} {v:,}' for k, v in counts.items())}), {len(failures)} failed; "
                f"resident memory {baseline:.0f} MB after warm-up -> {final:.0f} MB at the end "
                f"({100 * growth:+.2f} %); load average {os.getloadavg()[0]:.1f}",
        settings={**SETTINGS, "seconds": args.seconds, "warmup_seconds": args.warmup_seconds, "model": model,
                  "tickets": tickets},
        details={"requests": counts, "failed": len(failures), "failures": failures[:20], "memory_mb": samples,
                 "growth": growth})


if __name__ == "__main__":
    main()
