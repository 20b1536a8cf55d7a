"""The HTTP service: one FastAPI app, one router per system.

    nnlab serve --tickets runs/<ticket run>            # http://127.0.0.1:8000/tickets

    app.py       create_app(settings): the app factory (settings injected; tests pass their own)
    settings.py  Settings: which models to serve and the request limits
    tickets.py   POST /v1/tickets/triage and the try-one-ticket page at /tickets
    pages.py     the HTML of the pages (offline: no CDN, no external files)

A system adds its endpoints as a router module next to tickets.py and one line in
``create_app``.
"""
