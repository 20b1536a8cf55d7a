"""Micro-batching: concurrent requests share one model call, made on a worker thread off the event loop.

    >>> batcher = MicroBatcher(predict, max_batch=64, max_wait_ms=1.0)   # predict: (n, ...) -> (n, ...)
    >>> probabilities = await batcher.submit(x)     # in an endpoint; x: (k, ...), the answer (k, ...)
    >>> batcher.close()

Why: a model call on 1 image and on 32 images cost about the same on a CPU (the call's fixed
overhead dominates), so 8 clients sending one image each are served fastest by one call on the
8 images. A single worker thread owns the model, so the model is never called from two threads
at once, and the event loop only waits on futures: it keeps accepting requests (and answering
/healthz) while the model runs.

How a batch forms: the worker blocks until a request arrives, takes every request already
queued, then waits up to ``max_wait_ms`` for more while it has fewer than ``max_batch`` rows.
Requests that arrive while the model runs queue up and form the next batch, so under load
batches grow by themselves and ``max_wait_ms`` can stay small (1 ms). One request's rows are
never split; a request larger than ``max_batch`` is a batch of its own.

Task-neutral: ``predict`` is any function of a stacked array (e.g. a fashion or ticket model).
"""

import asyncio
import queue
import threading
import time

import numpy as np

_STOP = object()


class BatcherClosed(RuntimeError):
    """The batcher was closed (the server is shutting down); the request was not predicted."""


class MicroBatcher:
    """Batch ``submit`` calls from any number of coroutines into calls of ``predict`` on one worker thread.

    Args:
        predict: function of an array (n, ...) -> an array (n, ...), one row per input row.
            Called from the worker thread only.
        max_batch: rows per call at most, unless one request alone has more. Defaults to 64.
        max_wait_ms: once a request is in hand, how long to wait for others, in milliseconds.
            Defaults to 1.0.
        name: the worker thread's name.
    """

    def __init__(self, predict, max_batch=64, max_wait_ms=1.0, name="nnlab-batcher"):
        self.predict = predict
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000.0
        self._queue = queue.SimpleQueue()  # (x, future, loop) or _STOP
        self._held = None  # a request that did not fit in the last batch: the first of the next one
        self._closed = False
        self.calls = 0  # model calls made (for /v1/model and the benchmark)
        self.rows = 0  # rows predicted
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ the event loop's side

    async def submit(self, x):
        """The predictions for the rows of ``x``, computed in a batch with other requests' rows."""
        if self._closed:
            raise BatcherClosed("the server is shutting down; try again.")
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put((np.asarray(x), future, loop))
        return await future

    def close(self, timeout=10.0):
        """Stop the worker after the batches in hand; requests still queued get BatcherClosed."""
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)
            self._thread.join(timeout)

    def stats(self):
        return {"max_batch": self.max_batch, "max_wait_ms": self.max_wait * 1000.0, "model_calls": self.calls,
                "rows": self.rows, "mean_batch": round(self.rows / self.calls, 2) if self.calls else None}

    # ------------------------------------------------------------ the worker thread

    def _collect(self, first):
        """``first`` and the requests that join it: all already queued, then any within max_wait."""
        batch, rows = [first], len(first[0])
        deadline = time.monotonic() + self.max_wait
        while rows < self.max_batch:
            try:
                timeout = deadline - time.monotonic()
                item = self._queue.get_nowait() if timeout <= 0 else self._queue.get(timeout=timeout)
            except queue.Empty:
                break
            if item is _STOP:
                self._queue.put(_STOP)  # seen again by _run after this batch
                break
            if rows + len(item[0]) > self.max_batch:
                self._held = item  # starts the next batch, ahead of the requests that came after it
                break
            batch.append(item)
            rows += len(item[0])
        return batch

    def _run(self):
        while True:
            item, self._held = (self._held, None) if self._held is not None else (self._queue.get(), None)
            if item is _STOP:
                break
            batch = self._collect(item)
            self._answer(batch)
        self._drain()

    def _answer(self, batch):
        """One model call for every request in ``batch``; each future gets its own rows (or the error)."""
        try:
            outputs = np.asarray(self.predict(np.concatenate([x for x, _, _ in batch])))
        except Exception as error:  # a model failure fails these requests, not the worker
            for _, future, loop in batch:
                _resolve(loop, future, error=error)
            return
        self.calls += 1
        self.rows += len(outputs)
        start = 0
        for x, future, loop in batch:
            _resolve(loop, future, value=outputs[start:start + len(x)])
            start += len(x)

    def _drain(self):
        if self._held is not None:
            _resolve(self._held[2], self._held[1], error=BatcherClosed("the server is shutting down; try again."))
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not _STOP:
                _resolve(item[2], item[1], error=BatcherClosed("the server is shutting down; try again."))


def _resolve(loop, future, value=None, error=None):
    """Set a future's result from another thread; skipped when the request went away (cancelled) or the loop closed."""

    def settle():
        if not future.done():
            future.set_exception(error) if error is not None else future.set_result(value)

    try:
        loop.call_soon_threadsafe(settle)
    except RuntimeError:  # the event loop is closed: nobody is waiting any more
        pass
