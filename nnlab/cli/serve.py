"""``nnlab serve``: the HTTP service (nnlab/serving), with uvicorn.

    nnlab serve --tickets runs/<ticket run>      # POST /v1/tickets/triage, page at /tickets
"""

from pathlib import Path
from typing import Optional

import typer

from nnlab.cli.common import console
from nnlab.core.errors import NnlabError


def serve(tickets: Optional[Path] = typer.Option(None, help="A ticket run folder (or its served.keras) to serve."),
          host: str = typer.Option("127.0.0.1", help="Address to listen on."),
          port: int = typer.Option(8000, help="Port to listen on."),
          max_tickets: int = typer.Option(1000, help="Tickets per request at most.")):
    """Serve the models over HTTP (JSON API, and pages to try them); Ctrl-C stops."""
    import uvicorn

    from nnlab.core.config import at_least
    from nnlab.serving.app import create_app
    from nnlab.serving.settings import Settings

    at_least("--max-tickets", max_tickets, 1)
    if not 0 < port < 65536:
        raise NnlabError(f"--port must be in 1..65535, got {port}.")
    if tickets is None:
        raise NnlabError("nothing to serve: pass --tickets RUN (a run folder of `nnlab tickets train`).")
    app = create_app(Settings(tickets_model=str(tickets), max_tickets=max_tickets))
    console.print(f"serving {tickets} at http://{host}:{port}/tickets (API: POST /v1/tickets/triage, docs: /docs)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
