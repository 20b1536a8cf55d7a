"""What the lucky-bag tests share: a tiny calibrated fashion run, product photos with known labels, a live server.

    from serving.fashion_fixtures import calibrated_run, live_server, photos_of
"""

import contextlib
import shutil
import socket
import threading
import time
from pathlib import Path

import numpy as np


def calibrated_run(tiny_run, small_splits, root):
    """A copy of the session's tiny fashion run (3 epochs on 600 samples), calibrated on its validation split.

    A copy, so the shared run folder that other tests look at is left as it was.
    """
    from nnlab.core.calibration import CALIBRATION_FILE, calibrate_run

    copy = Path(root) / "tiny-fashion"
    if not (copy / CALIBRATION_FILE).is_file():
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(tiny_run.run_dir, copy)
        calibrate_run(copy, splits=small_splits, extras={"photos": 100})
    return copy


def photos_of(splits, indices):
    """``[(file name, photo bytes, label)]``: product photos (dark on light, tinted, JPEG/PNG/WebP) of test images."""
    from nnlab.fashion.photoset import make_photo

    originals = np.rint(splits.x_test * 255).astype(np.uint8)  # x is uint8 / 255: exact
    photos = [make_photo(originals[i], index=k) for k, i in enumerate(indices)]
    return [(f"item-{i}{p.name[p.name.rfind('.'):]}", p.data, int(splits.y_test[i])) for i, p in zip(indices, photos)]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def live_server(app):
    """``app`` served by uvicorn on a free loopback port in a thread; yields its base URL; stopped on exit."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the server did not start within 30 s"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
