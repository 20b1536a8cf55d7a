"""The /tickets page in a real browser (Debian's Chromium, headless): type a ticket, see its triage.

Skipped where Chromium (``apt-get install -y chromium``, see scripts/install-system-deps.sh)
or the Playwright package is missing.
"""

import shutil
import socket
import threading
import time

import pytest

from nnlab.serving.app import create_app
from nnlab.serving.settings import Settings

CHROMIUM = shutil.which("chromium")
playwright = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install -y chromium)")


@pytest.fixture(scope="module")
def server(ticket_run):
    """The app on a free loopback port, in a thread; stopped after the module."""
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(Settings(tickets_model=str(ticket_run))), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the server did not start within 30 s"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_the_form_triages_one_ticket_and_shows_field_errors(server, tmp_path):
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page()
            page.goto(f"{server}/tickets")
            page.fill("#title", "Charged twice for order #4821")
            page.fill("#body", "My card was charged twice. Please refund asap.")
            page.fill("#tags", "billing, urgent")
            page.click("#send")
            page.wait_for_selector("#result .card .row")
            text = page.inner_text("#result")
            assert "Priority" in text and "Department" in text
            assert sum(name in text for name in ("billing", "technical", "account", "shipping")) == 4
            page.screenshot(path=str(tmp_path / "tickets-page.png"), full_page=True)

            page.fill("#title", "")
            page.fill("#body", "  ")
            page.click("#send")
            page.wait_for_selector("#result .error")
            assert "body: Value error, title and body are both empty" in page.inner_text("#result .error")
        finally:
            browser.close()
