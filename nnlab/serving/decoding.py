"""Uploaded files -> 28x28 model inputs, in the server's threads or spread over worker processes.

    >>> from nnlab.serving.decoding import DecodePool, decode
    >>> arrays, errors = decode([(0, "shoe.jpg", data)], max_pixels=40_000_000)   # here, in this thread
    >>> pool = DecodePool(processes=2, max_pixels=40_000_000)                    # started now (forkserver)
    >>> arrays, errors = await pool.decode(files)                                # files split over the 2
    >>> pool.close()

Why processes: a photo takes ~15 ms of CPU to become a model input (decoding, reducing to
``WORK_SIZE``, the recipe), much of it Python and NumPy holding the GIL, so in one process the
photos of concurrent requests queue behind each other and behind the event loop. Worker
processes decode them on every core; they get the file bytes and send back only the 28x28
float32 arrays (3 KB each). Measured in bench/serve_photos.py.

The workers are forked from a clean forkserver process that has imported only this module
(and, on first use, Pillow and NumPy): never from the server itself, whose JAX threads a
``fork`` would copy in a broken state. A worker that dies (killed, out of memory, a decoder
crash) breaks the executor; the pool then starts a new one and tries the request once more
there, and if that fails too the request gets :class:`DecoderStopped` (the server answers
503), never a hang. A server killed with SIGKILL takes its workers and their forkserver with it
(each worker watches the server's process id).
"""

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

log = logging.getLogger("nnlab.serving")

STATUS = {"empty": 400, "corrupt": 400, "missing": 400, "too_large": 413, "too_many_pixels": 413,
          "not_an_image": 415}


def file_error(index, name, kind, reason):
    """One bad file, as the error body lists it (see nnlab.serving.errors.FileProblem)."""
    return {"index": index, "file": name, "kind": kind, "reason": reason, "status": STATUS[kind],
            "message": f"{name} {reason}"}


def decode(files, max_pixels):
    """(index, name, bytes) -> ``(arrays (28, 28) of the good files, errors of the bad ones)``; in any thread or process."""
    from nnlab.fashion.photos import PhotoError, load_photo

    arrays, errors = [], []
    for index, name, data in files:
        try:
            arrays.append(load_photo(data, name=name, max_pixels=max_pixels))
        except PhotoError as error:
            errors.append(file_error(index, name, error.kind if error.kind in STATUS else "corrupt", error.reason))
        except Exception as error:  # a decoder bug must not become a 500 for the client; it is logged
            log.exception("decoding %r failed", name)
            errors.append(file_error(index, name, "corrupt", f"cannot be decoded ({type(error).__name__}: {error})."))
    return arrays, errors


def _watch(server):
    """A worker's initializer: a thread that ends the worker (and the forkserver that made it) once the server
    process ``server`` is gone, as after a SIGKILL, which skips the server's shutdown (measured: without it the
    forkserver and the workers stayed, orphaned)."""
    import threading
    import time

    forkserver = os.getppid()

    def watch():
        while True:
            time.sleep(1.0)
            try:
                os.kill(server, 0)  # signal 0: only asks whether the process exists
            except ProcessLookupError:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(forkserver, signal.SIGTERM)
                os._exit(0)

    threading.Thread(target=watch, daemon=True, name="server-watch").start()


def _ready():
    """A worker's first task: import the photo path (Pillow, NumPy) now, not on a request's time; its process id."""
    import time

    import nnlab.fashion.photos  # noqa: F401

    time.sleep(0.05)  # busy a moment, so that each of the first tasks starts a worker of its own
    return os.getpid()


class DecoderStopped(Exception):
    """The worker processes stopped twice in a row while decoding one request's files."""


class DecodePool:
    """``processes`` worker processes that decode uploads; started (and their imports done) when made.

    Args:
        processes: how many; one per CPU core spreads the photos over all of them.
        max_pixels: width x height above which a file is refused undecoded.
    """

    def __init__(self, processes, max_pixels):
        self.processes, self.max_pixels = processes, max_pixels
        context = multiprocessing.get_context("forkserver")
        # The forkserver imports this module only (not the server's __main__, which would load Keras again).
        context.set_forkserver_preload([__name__])
        self._context = context
        self.restarts = 0
        self._pool, ready = self._start()
        for future in ready:  # all workers up, imports done, before the first request
            future.result(timeout=120)

    def _start(self):
        """A new executor and its workers' ``_ready`` futures; ``self.pids`` fills in as they start."""
        pool = ProcessPoolExecutor(self.processes, mp_context=self._context, initializer=_watch,
                                   initargs=(os.getpid(),))
        pids = []
        self.pids = pids  # the current workers' process ids (a test kills them)
        # Each _ready task starts one more worker while none is idle: the pool starts them all now.
        ready = [pool.submit(_ready) for _ in range(self.processes)]
        for future in ready:
            future.add_done_callback(lambda done: done.exception() is None and pids.append(done.result()))
        return pool, ready

    async def decode(self, files):
        """``decode(files)`` spread over the workers in contiguous chunks (upload order kept); DecoderStopped."""
        size = -(-len(files) // self.processes)  # ceil: at most one chunk per worker
        chunks = [files[start:start + size] for start in range(0, len(files), size)]
        for attempt in range(2):
            pool = self._pool
            try:
                parts = await asyncio.gather(*(asyncio.wrap_future(pool.submit(decode, chunk, self.max_pixels))
                                               for chunk in chunks))
                break
            # BrokenProcessPool; or "cannot schedule new futures after shutdown": a pool that another request
            # found broken and replaced (both are RuntimeErrors).
            except RuntimeError as error:
                if pool is self._pool:  # the first request to see it restarts the pool; the others use the new one
                    if not isinstance(error, BrokenProcessPool):
                        raise
                    log.warning("a decoding worker process stopped; starting new ones")
                    self._pool, _ = self._start()
                    self.restarts += 1
                    pool.shutdown(wait=False)  # its futures have failed already: none is cancelled under a request
                if attempt:
                    raise DecoderStopped from None
        arrays = [array for part_arrays, _ in parts for array in part_arrays]
        return arrays, [error for _, part_errors in parts for error in part_errors]

    def close(self):
        self._pool.shutdown(wait=True, cancel_futures=True)
