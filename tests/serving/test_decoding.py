"""Photos decoded in worker processes (nnlab.serving.decoding): the same inputs and errors as in a thread, in upload
order, and a killed worker costs a retry or a clear 503, never a hang."""

import asyncio
import os
import signal
import threading
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from nnlab.fashion.photoset import bad_files
from nnlab.serving.app import create_app
from nnlab.serving.decoding import DecodePool, decode
from nnlab.serving.settings import Settings
from serving.fashion_fixtures import calibrated_run, photos_of

MAX_PIXELS = 1_000_000
BAD = bad_files()


@pytest.fixture(scope="module")
def run(tiny_run, small_splits, tmp_path_factory):
    return calibrated_run(tiny_run, small_splits, tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def photos(small_splits):
    return [(name, data) for name, data, _ in photos_of(small_splits, [0, 1, 2, 3, 4, 5])]


@pytest.fixture(scope="module")
def pool():
    pool = DecodePool(processes=2, max_pixels=MAX_PIXELS)
    yield pool
    pool.close()


def upload(files):
    return [("files", (name, data, "application/octet-stream")) for name, data in files]


@hypothesis_settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.tuples(st.booleans(), st.integers(0, 5)), min_size=1, max_size=7))
def test_the_pool_gives_what_a_thread_gives_in_upload_order(pool, photos, picks):
    bad = sorted(BAD.items())
    files = [(index, *(photos[k] if good else bad[k % len(bad)])) for index, (good, k) in enumerate(picks)]
    arrays, errors = asyncio.run(pool.decode(files))
    expected_arrays, expected_errors = decode(files, MAX_PIXELS)
    assert len(arrays) == len(expected_arrays) == sum(good for good, _ in picks)
    for got, expected in zip(arrays, expected_arrays):
        np.testing.assert_array_equal(got, expected)
    assert errors == expected_errors and [e["index"] for e in errors] == [i for i, (g, _) in enumerate(picks) if not g]


def test_a_killed_worker_is_replaced_and_the_request_answered(pool, photos):
    files = [(index, name, data) for index, (name, data) in enumerate(photos)]
    expected, _ = decode(files, MAX_PIXELS)
    restarts = pool.restarts
    os.kill(pool.pids[0], signal.SIGKILL)
    time.sleep(0.2)  # the executor notices the death
    arrays, errors = asyncio.run(pool.decode(files))
    assert not errors and all(np.array_equal(a, b) for a, b in zip(arrays, expected))
    assert pool.restarts == restarts + 1


@pytest.fixture(scope="module")
def clients(run):
    """Clients of the same model served with photos decoded in threads (0) and in 2 worker processes (2).

    Each client is entered once: leaving it runs the app's shutdown, which stops the worker processes.
    """
    limits = dict(fashion_model=str(run), max_files=4, max_file_bytes=2_000_000, max_pixels=MAX_PIXELS)
    with TestClient(create_app(Settings(**limits))) as threads, \
            TestClient(create_app(Settings(**limits, decode_processes=2))) as processes:
        yield {0: threads, 2: processes}


def test_answers_and_error_bodies_are_the_same_with_worker_processes(clients, photos):
    requests = [upload(photos[:4]), upload(photos[4:5]),
                upload([photos[0], ("notes.png", BAD["notes.png"]), ("empty.png", BAD["empty.png"])]),
                upload([("bomb.png", BAD["bomb.png"])]), upload([("cut.jpg", BAD["truncated.jpg"])])]
    answers = {}
    for processes, client in clients.items():
        answers[processes] = [(r.status_code, r.json()) for r in (client.post("/v1/predict", files=files)
                                                                  for files in requests)]
    assert answers[2] == answers[0]
    assert [status for status, _ in answers[2]] == [200, 200, 415, 413, 400]
    assert set(answers[2][2][1]["detail"]) == {"message", "errors"}


def test_requests_while_the_workers_are_killed_get_an_answer_or_a_503_never_a_hang(clients, photos):
    client = clients[2]
    decoder = client.app.state.fashion.decoder
    outcomes, stop = [], threading.Event()

    def killer():  # every worker of the current pool, again and again, for a second
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            for pid in list(decoder.pids):  # the current pool's workers, whichever that is
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.01)
        stop.set()

    thread = threading.Thread(target=killer)
    thread.start()
    while not stop.is_set():
        response = client.post("/v1/predict", files=upload(photos[:3]))
        outcomes.append((response.status_code, response.json()))
    thread.join()
    after = client.post("/v1/predict", files=upload(photos[:3]))  # the workers are left alone now
    assert outcomes and {status for status, _ in outcomes} <= {200, 503}
    for status, body in outcomes:
        if status == 503:
            assert body["detail"]["errors"] == [] and "send them again" in body["detail"]["message"]
        else:
            assert len(body["items"]) == 3
    assert after.status_code == 200 and decoder.restarts > 0


def test_settings_refuse_a_negative_number_of_decoding_processes():
    from nnlab.core.errors import NnlabError

    with pytest.raises(NnlabError, match=r"--decode-processes must be an integer >= 0, got -1"):
        Settings(decode_processes=-1).validate()


def test_serve_refuses_a_negative_number_of_decoding_processes_in_one_line(run_cli):
    from serving.fashion_fixtures import free_port

    status, _, err = run_cli("serve", "--model", "runs/none", "--port", free_port(), "--decode-processes", "-1")
    assert status == 2 and err.startswith("error: --decode-processes must be an integer >= 0, got -1.")
    assert "Traceback" not in err


def test_the_workers_go_when_the_server_is_killed(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "server.py"
    script.write_text("from nnlab.serving.decoding import DecodePool\n"
                      "if __name__ == '__main__':\n"
                      "    pool = DecodePool(processes=2, max_pixels=100)\n"
                      "    print(*pool.pids, flush=True)\n"
                      "    input()\n")
    server = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    workers = [int(pid) for pid in server.stdout.readline().split()]
    assert len(workers) == 2
    server.kill()  # SIGKILL: no shutdown runs
    server.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{pid}") for pid in workers):
        time.sleep(0.1)
    assert not any(os.path.exists(f"/proc/{pid}") for pid in workers)
