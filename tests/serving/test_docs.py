"""nnlab.serving.docs: /docs and /redoc load only files this server serves, and render in a browser offline."""

import re
import shutil

import pytest
from fastapi.testclient import TestClient

from nnlab.serving.app import create_app
from nnlab.serving.settings import Settings
from serving.fashion_fixtures import live_server

CHROMIUM = shutil.which("chromium")
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".json": "application/json"}


@pytest.fixture(scope="module")
def app():
    return create_app(Settings())  # no model: the docs describe every endpoint all the same


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app) as client:
        yield client


def loaded_urls(html):
    """Every URL a page loads: src=, href=, and the spec's ``url:`` / ``spec-url=``."""
    return re.findall(r'(?:src|href|spec-url)="([^"]*)"', html) + re.findall(r"\burl: '([^']*)'", html)


@pytest.mark.parametrize("page, expected", [
    ("/docs", {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css", "/docs/assets/favicon.png",
               "/openapi.json"}),
    ("/redoc", {"/docs/assets/redoc.standalone.js", "/docs/assets/favicon.png", "/openapi.json"}),
])
def test_each_docs_page_loads_only_same_origin_files_that_answer(client, page, expected):
    response = client.get(page)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in response.headers["content-security-policy"]  # the browser asks no other host
    assert "http" not in response.text  # no CDN, no Google fonts: nothing from another host
    urls = set(loaded_urls(response.text))
    assert urls == expected
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["content-type"].startswith(CONTENT_TYPES[url[url.rfind("."):]]), url
        assert len(asset.content) > 1000, url


def test_the_assets_are_swagger_ui_5_and_redoc_2(client):
    assert "SwaggerUIBundle" in client.get("/docs/assets/swagger-ui-bundle.js").text[:2000]
    assert re.search(r'PACKAGE_VERSION:"5\.\d+\.\d+"', client.get("/docs/assets/swagger-ui-bundle.js").text)
    assert re.search(r'ReDoc Version: ","2\.\d+\.\d+"', client.get("/docs/assets/redoc.standalone.js").text)
    assert client.get("/docs/assets/nothing.js").status_code == 404


def test_the_oauth2_redirect_page_and_a_root_path_prefix(app):
    with TestClient(app, root_path="/nnlab") as client:
        assert client.get("/docs/oauth2-redirect").status_code == 200
        page = client.get("/docs").text
    assert set(loaded_urls(page)) == {"/nnlab/docs/assets/swagger-ui-bundle.js", "/nnlab/docs/assets/swagger-ui.css",
                                      "/nnlab/docs/assets/favicon.png", "/nnlab/openapi.json"}
    assert "'/nnlab/docs/oauth2-redirect'" in page


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install -y chromium)")
@pytest.mark.parametrize("page, operation", [("/docs", ".opblock-summary-path"), ("/redoc", "[data-section-id]")])
def test_the_docs_render_in_chromium_without_another_host(app, tmp_path, page, operation):
    playwright = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with live_server(app) as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            requested, failed = [], []
            view = browser.new_page()
            view.on("request", lambda request: requested.append(request.url))
            view.on("requestfailed", lambda request: failed.append((request.url, request.failure)))
            view.goto(f"{url}{page}")
            view.wait_for_selector(operation, timeout=30_000)
            text = view.inner_text("body")
            view.screenshot(path=str(tmp_path / f"{page.strip('/')}.png"), full_page=True)
        finally:
            browser.close()
    for path in ("/v1/predict", "/v1/bag", "/v1/model", "/v1/tickets/triage", "/healthz"):
        assert path in text, path
    elsewhere = [u for u in requested if not u.startswith((f"{url}/", "data:", f"blob:{url}/"))]
    # ReDoc's menu asks for Redocly's logo at cdn.redoc.ly; the page's Content-Security-Policy makes
    # Chromium refuse it before any connection (failure "csp"). Nothing else goes elsewhere.
    assert failed == [(u, "csp") for u in elsewhere]
    assert elsewhere == ([] if page == "/docs" else ["https://cdn.redoc.ly/redoc/logo-mini.svg"])
