"""The HTTP service: one FastAPI app, one router per system.

    nnlab serve                                        # the best calibrated fashion run: http://127.0.0.1:8000/
    nnlab serve --tickets runs/<ticket run>            # http://127.0.0.1:8000/tickets

    app.py       create_app(settings): the app factory (settings injected; tests pass their own)
    settings.py  Settings: which models to serve and the request limits
    fashion.py   POST /v1/predict, POST /v1/bag, GET /v1/model and the lucky-bag page at /
    batching.py  MicroBatcher: concurrent requests share model calls, made off the event loop
    decoding.py  uploads -> 28x28 inputs, in worker processes (DecodePool) or the server's threads
    tickets.py   POST /v1/tickets/triage and the try-one-ticket page at /tickets
    errors.py    the one error body of every 4xx/5xx ({"detail": {"message", "errors"}}), FastAPI's own included
    pages.py     the HTML of the pages (offline: no CDN); static/bag.html is the lucky-bag page
    docs.py      the API docs at /docs (Swagger UI) and /redoc (ReDoc), their files served here (offline)

A system adds its endpoints as a router module next to tickets.py and one line in
``create_app``.
"""
