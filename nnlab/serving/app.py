"""The app factory: ``create_app(settings)`` builds the FastAPI app with every system's router.

    >>> from nnlab.serving.app import create_app
    >>> from nnlab.serving.settings import Settings
    >>> app = create_app(Settings(tickets_model="runs/tickets-demo"))   # loads the model now
    >>> # uvicorn.run(app)  -- or `nnlab serve --tickets runs/tickets-demo`

Models are loaded when the app is created, so a bad path fails at start-up, not on
the first request. Endpoints get the settings and models through FastAPI
dependencies (``request.app.state``), so tests build an app with their own settings.
"""

import nnlab  # noqa: F401  picks the Keras backend before anything imports keras

from fastapi import FastAPI

from nnlab.serving import tickets
from nnlab.serving.settings import Settings


def create_app(settings=None):
    """A FastAPI app serving what ``settings`` names (default: nothing loaded, every model endpoint 503)."""
    settings = settings or Settings()
    app = FastAPI(title="nnlab", version=nnlab.__version__,
                  description="Ticket triage (and, next, the lucky-bag fashion classifier).")
    app.state.settings = settings
    tickets.install(app, settings)

    @app.get("/healthz", tags=["service"])
    def health():
        """Liveness and which models are loaded."""
        return {"status": "ok", "models": {"tickets": app.state.tickets is not None}}

    return app
