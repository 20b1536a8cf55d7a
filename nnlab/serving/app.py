"""The app factory: ``create_app(settings)`` builds the FastAPI app with every system's router.

    >>> from nnlab.serving.app import create_app
    >>> from nnlab.serving.settings import Settings
    >>> app = create_app(Settings(fashion_model="runs/seeds-final"))   # loads the model now
    >>> # uvicorn.run(app)  -- or `nnlab serve --model runs/seeds-final`

Models are loaded when the app is created, so a bad path fails at start-up, not on
the first request. Endpoints get the settings and models through FastAPI
dependencies (``request.app.state``), so tests build an app with their own settings.
On shutdown (the app's lifespan) the fashion batcher's worker thread is stopped.
The API docs at ``/docs`` and ``/redoc`` work offline (``nnlab.serving.docs``).

``freeze_heap`` keeps the garbage collector's full passes short in a server process, and
``import_keras`` leaves scikit-learn out of its start-up.
``app_from_environment`` is the same factory for ``uvicorn --factory`` and for
``nnlab serve --workers N`` (each worker process builds its own app from the settings
that ``nnlab serve`` puts in ``$NNLAB_SERVE_SETTINGS`` as JSON).
"""

import nnlab  # noqa: F401  picks the Keras backend before anything imports keras

import contextlib
import dataclasses
import json
import os

from fastapi import FastAPI

from nnlab.serving import docs, fashion, tickets
from nnlab.serving.settings import Settings

SETTINGS_VARIABLE = "NNLAB_SERVE_SETTINGS"


def create_app(settings=None):
    """A FastAPI app serving what ``settings`` names (default: nothing loaded, every model endpoint 503)."""
    settings = (settings or Settings()).validate()
    import_keras()

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        if app.state.fashion is not None:
            app.state.fashion.close()

    app = FastAPI(title="nnlab", version=nnlab.__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None,  # FastAPI's pages load from a CDN; docs.install serves ours
                  description="The lucky-bag fashion classifier (product photos in, calibrated class probabilities "
                              "out; page at /) and ticket triage (page at /tickets).")
    app.state.settings = settings
    tickets.install(app, settings)
    fashion.install(app, settings)
    docs.install(app)

    @app.get("/healthz", tags=["service"])
    def health():
        """Liveness and which models are loaded (``tickets`` always listed; ``fashion`` once loaded)."""
        models = {"tickets": app.state.tickets is not None}
        if app.state.fashion is not None:
            models["fashion"] = True
        return {"status": "ok", "models": models}

    return app


def import_keras():
    """Import Keras without scikit-learn, which Keras would import for nothing a server uses.

    ``import keras`` imports scikit-learn (and SciPy) only to define the ``keras.wrappers`` estimators,
    and does without it when it is not installed. While Keras is imported, scikit-learn is made to look
    missing (``sys.modules["sklearn"] = None`` makes its import fail); then it is importable again for
    the rest of the process. Only ``keras.wrappers``' SKLearn classes are then unusable in this process.
    Measured by bench/serve_start.py: `nnlab serve` answers 7.3 s after launch instead of 10.8 s
    (5.0 CPU seconds instead of 6.5; load average 5-6). Nothing happens when Keras or scikit-learn
    is imported already.
    """
    import sys

    if "keras" in sys.modules or "sklearn" in sys.modules:
        return
    sys.modules["sklearn"] = None
    try:
        import keras  # noqa: F401
    finally:
        if sys.modules.get("sklearn", False) is None:
            del sys.modules["sklearn"]


def settings_to_environment(settings):
    """The JSON that ``app_from_environment`` reads back (for worker processes)."""
    return json.dumps(dataclasses.asdict(settings))


def app_from_environment():
    """``create_app`` with the Settings in ``$NNLAB_SERVE_SETTINGS`` (JSON), or the defaults; then ``freeze_heap``."""
    text = os.environ.get(SETTINGS_VARIABLE)
    app = create_app(Settings(**json.loads(text)) if text else Settings())
    freeze_heap()
    return app


def freeze_heap():
    """Move every object alive now (Keras, JAX, the models: ~300,000) out of the garbage collector's sight.

    A full collection walks them all: ~0.35 s here, a pause every request in flight would wait
    through. What a server builds at start-up lives as long as it does, so it need not be scanned
    (``gc.freeze``; call it once, in the server's own process, after the models are loaded).
    """
    import gc

    gc.collect()
    gc.freeze()
