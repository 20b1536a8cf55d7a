"""The app factory: ``create_app(settings)`` builds the FastAPI app with every system's router.

    >>> from nnlab.serving.app import create_app
    >>> from nnlab.serving.settings import Settings
    >>> app = create_app(Settings(fashion_model="runs/seeds-final"))   # loads the model now
    >>> # uvicorn.run(app)  -- or `nnlab serve --model runs/seeds-final`

Models are loaded when the app is created, so a bad path fails at start-up, not on
the first request. Endpoints get the settings and models through FastAPI
dependencies (``request.app.state``), so tests build an app with their own settings.
On shutdown (the app's lifespan) the fashion batcher's worker thread and the photo decoding
processes (``Settings.decode_processes``, ``nnlab.serving.decoding``) are stopped.
The API docs at ``/docs`` and ``/redoc`` work offline (``nnlab.serving.docs``).

The OpenAPI schema (``/openapi.json``) says what the server does: every answer has a pydantic
model, every error one body (``nnlab.serving.errors``), and the limits in the settings are
written into it (each system's ``document``); tests/serving/test_openapi.py runs schemathesis
against a live server to hold it to that.

``freeze_heap`` keeps the garbage collector's full passes short in a server process, and
``import_keras`` leaves scikit-learn and matplotlib out of its start-up.
``app_from_environment`` is the same factory for ``uvicorn --factory`` and for
``nnlab serve --workers N`` (each worker process builds its own app from the settings
that ``nnlab serve`` puts in ``$NNLAB_SERVE_SETTINGS`` as JSON).
"""

import nnlab  # noqa: F401  picks the Keras backend before anything imports keras

import contextlib
import dataclasses
import json
import os
from typing import Literal

from fastapi import FastAPI
from pydantic import BaseModel, Field

from nnlab.serving import docs, errors, fashion, tickets
from nnlab.serving.settings import Settings

SETTINGS_VARIABLE = "NNLAB_SERVE_SETTINGS"
SYSTEMS = (tickets, fashion)  # each has install(app, settings) and document(openapi, settings)


class Health(BaseModel):
    status: Literal["ok"]
    models: dict[str, bool] = Field(description="tickets: whether a ticket model is loaded; fashion: listed (true) "
                                                "once a fashion model is loaded")


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
    errors.install(app)
    for system in SYSTEMS:
        system.install(app, settings)
    docs.install(app)
    _document_limits(app, settings)

    @app.get("/healthz", tags=["service"], response_model=Health)
    def health():
        """Liveness and which models are loaded (``tickets`` always listed; ``fashion`` once loaded)."""
        models = {"tickets": app.state.tickets is not None}
        if app.state.fashion is not None:
            models["fashion"] = True
        return {"status": "ok", "models": models}

    return app


def _document_limits(app, settings):
    """``app.openapi()`` as FastAPI makes it, then each system writes the settings' limits into it (once)."""
    generate = app.openapi

    def openapi():
        if app.openapi_schema is None:
            schema = generate()  # sets app.openapi_schema: the same dict, filled in below
            for system in SYSTEMS:
                system.document(schema, settings)
        return app.openapi_schema

    app.openapi = openapi


# Packages ``import keras`` imports only for features a server never uses: scikit-learn (with SciPy's
# pieces) for the keras.wrappers estimators, matplotlib.pyplot for keras.visualization's plots.
KERAS_EXTRAS = ("sklearn", "matplotlib")


def import_keras():
    """Import Keras without scikit-learn and matplotlib: about 1 CPU second less start-up here.

    Keras imports both only for optional features (``KERAS_EXTRAS``) and does without them when
    they are not installed. While Keras is imported they are made to look missing
    (``sys.modules[name] = None`` makes their import fail); then they are importable again for the
    rest of the process; only keras.wrappers' SKLearn classes and keras.visualization stay unusable
    in it. ``import keras`` then takes about 2.5 CPU seconds instead of 4 on this machine; a
    package imported already is left alone, and nothing happens once Keras is imported.
    """
    import sys

    if "keras" in sys.modules:
        return
    hidden = [name for name in KERAS_EXTRAS if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None
    try:
        import keras  # noqa: F401
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


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
