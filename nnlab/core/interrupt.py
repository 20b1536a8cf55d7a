"""Ctrl-C that always stops the program, wherever it lands.

Python turns SIGINT into a KeyboardInterrupt raised in whatever code runs at that
instant. In two places that goes wrong: inside a garbage-collector callback or a
``__del__`` (JAX frees device buffers in one) Python prints the exception as
"ignored" and carries on, so the interrupt is lost; inside a module import, a C
extension's initialisation can abort the whole process. The handler here raises
at once everywhere else, and in those two places records the press and sends
SIGINT again a moment later, until it lands in ordinary code.

    >>> from nnlab.core import interrupt
    >>> interrupt.install()        # the command line does this first thing
    >>> interrupt.pressed()        # True once Ctrl-C was pressed

This module imports nothing heavy, so the command line can install it before
importing Keras.
"""

import gc
import os
import signal
import threading

RETRY_SECONDS = 0.1
_pressed = threading.Event()


def pressed():
    """Whether Ctrl-C was pressed since :func:`install` (or the last :func:`reset`)."""
    return _pressed.is_set()


def reset():
    _pressed.clear()


def _unsafe(frame):
    """True inside a garbage-collector callback, a ``__del__`` or an import."""
    callbacks = {getattr(callback, "__code__", None) for callback in gc.callbacks}
    while frame is not None:
        code = frame.f_code
        if code in callbacks or code.co_name == "__del__" or code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def handler(signum, frame):
    """The SIGINT handler: KeyboardInterrupt now, or (in unsafe code) a second SIGINT shortly."""
    _pressed.set()
    if _unsafe(frame):
        timer = threading.Timer(RETRY_SECONDS, os.kill, (os.getpid(), signal.SIGINT))
        timer.daemon = True
        timer.start()
        return
    raise KeyboardInterrupt


def install():
    """Use :func:`handler` for SIGINT, unless Ctrl-C is ignored (a background job) or this is not the main thread.

    Returns the handler that was there before (None when nothing was installed).
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.getsignal(signal.SIGINT)
    if previous in (signal.SIG_IGN, handler):
        return None
    signal.signal(signal.SIGINT, handler)
    return previous
