"""The API docs, offline: Swagger UI at ``/docs`` and ReDoc at ``/redoc``, their JavaScript and CSS served by us.

    nnlab serve        # then open http://127.0.0.1:8000/docs (try every endpoint) or /redoc (read them)

FastAPI's own ``/docs`` and ``/redoc`` pages load Swagger UI and ReDoc from a CDN, so they stay
blank on a machine without the internet. ``create_app`` turns them off (``docs_url=None,
redoc_url=None``) and ``install`` adds them back the way FastAPI's docs show ("Custom Docs UI
Static Assets (Self-Hosting)"): ``get_swagger_ui_html`` / ``get_redoc_html`` pointed at files
under ``/docs/assets/``, plus ``get_swagger_ui_oauth2_redirect_html``. Every URL the pages
load is on this server.

The files come from the ``fastapi-offline`` package (MIT; it ships ``swagger-ui-bundle.js``,
``swagger-ui.css`` from swagger-ui-dist 5 (Apache-2.0), ``redoc.standalone.js`` from redoc 2
(MIT) and a favicon, taken from npm at each release), so ``pip install`` updates them with the
other dependencies; we use its files, not its ``FastAPIOffline`` app class.
"""

import importlib.resources
from pathlib import Path

from fastapi import Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.staticfiles import StaticFiles

from nnlab.core.errors import NnlabError

ASSETS_URL = "/docs/assets"
ASSETS = {"swagger_js": "swagger-ui-bundle.js", "swagger_css": "swagger-ui.css", "redoc_js": "redoc.standalone.js",
          "favicon": "favicon.png"}
# Swagger UI would ask validator.swagger.io about the spec when its layout shows the validator badge: never.
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}
# The browser loads nothing from another host for these pages (ReDoc 2 would fetch Redocly's logo from
# cdn.redoc.ly for its menu; blocked, it leaves the logo out). Inline scripts and styles: the pages' own.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:")


def assets_folder():
    """The folder of fastapi-offline's Swagger UI and ReDoc files (installed with nnlab)."""
    return Path(str(importlib.resources.files("fastapi_offline") / "static"))


def install(app, docs_url="/docs", redoc_url="/redoc"):
    """Add ``docs_url`` (Swagger UI), its OAuth2 redirect page, ``redoc_url`` and the assets to ``app``.

    ``app`` must have been made with ``docs_url=None, redoc_url=None`` (else FastAPI's CDN pages
    answer first). The pages honour the ASGI ``root_path`` (a proxy serving the app under /prefix).
    """
    folder = assets_folder()
    missing = [name for name in ASSETS.values() if not (folder / name).is_file()]
    if missing:  # a fastapi-offline release that moved its files: say so at start-up, not as a blank page
        raise NnlabError(f"fastapi-offline has no {', '.join(missing)} in {folder}; install the version in "
                         "requirements.lock (`make setup`).")
    app.mount(ASSETS_URL, StaticFiles(directory=folder), name="docs-assets")

    def asset(request, key):
        return f"{request.scope.get('root_path', '')}{ASSETS_URL}/{ASSETS[key]}"

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui(request: Request):
        root = request.scope.get("root_path", "")
        page = get_swagger_ui_html(
            openapi_url=root + app.openapi_url, title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=root + app.swagger_ui_oauth2_redirect_url,
            swagger_js_url=asset(request, "swagger_js"), swagger_css_url=asset(request, "swagger_css"),
            swagger_favicon_url=asset(request, "favicon"),
            swagger_ui_parameters={**SWAGGER_UI_PARAMETERS, **(app.swagger_ui_parameters or {})})
        return _same_origin_only(page)

    @app.get(app.swagger_ui_oauth2_redirect_url, include_in_schema=False)
    async def swagger_ui_redirect():
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(redoc_url, include_in_schema=False)
    async def redoc(request: Request):
        root = request.scope.get("root_path", "")
        page = get_redoc_html(openapi_url=root + app.openapi_url, title=f"{app.title} - ReDoc",
                              redoc_js_url=asset(request, "redoc_js"), redoc_favicon_url=asset(request, "favicon"),
                              with_google_fonts=False)
        return _same_origin_only(page)


def _same_origin_only(response):
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response
