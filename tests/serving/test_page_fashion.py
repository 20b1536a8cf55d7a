"""The lucky-bag page in a real browser (Debian's Chromium, headless): pick and drop photos, see the bag.

Skipped where Chromium (``apt-get install -y chromium``, see scripts/install-system-deps.sh)
or the Playwright package is missing. The screenshot lands in the test's tmp_path
(``pytest --basetemp=DIR`` to keep it somewhere known).
"""

import base64
import shutil

import numpy as np
import pytest

from nnlab.core.calibration import CALIBRATED_FILE
from nnlab.core.saving import load_model
from nnlab.fashion.data import CLASS_NAMES
from nnlab.fashion.photos import load_photo
from nnlab.serving.app import create_app
from nnlab.serving.settings import Settings
from serving.fashion_fixtures import calibrated_run, live_server, photos_of

CHROMIUM = shutil.which("chromium")
playwright = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install -y chromium)")
XSS_NAME = "<img src=x onerror=alert(1)>.png"


@pytest.fixture(scope="module")
def run(tiny_run, small_splits, tmp_path_factory):
    return calibrated_run(tiny_run, small_splits, tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def server(run):
    app = create_app(Settings(fashion_model=str(run), max_files=5))
    with live_server(app) as url:
        yield url
    app.state.fashion.close()


@pytest.fixture(scope="module")
def items(run, small_splits):
    """Four photos of different kinds that the tiny model gets right (status ok): (name, bytes, label)."""
    from nnlab.fashion.ood import load_assessor

    candidates = photos_of(small_splits, range(60))
    model = load_model(run / CALIBRATED_FILE)
    x = np.stack([load_photo(data) for _, data, _ in candidates])
    predicted = model.predict(x, verbose=0).argmax(axis=1)
    ok = load_assessor(run, keras_free=False).statuses(x)[0] == "ok"
    chosen, kinds = [], set()
    for photo, guess, good in zip(candidates, predicted, ok):
        if guess == photo[2] and good and photo[2] not in kinds:
            chosen.append(photo)
            kinds.add(photo[2])
    assert len(chosen) >= 4, "the tiny model got fewer than four kinds right"
    return chosen[:4]


def blank_photo():
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (260, 200), (238, 236, 231)).save(buffer, format="PNG")
    return buffer.getvalue()


def payload(name, data):
    return {"name": name, "mimeType": "application/octet-stream", "buffer": data}


DROP = """([files]) => {
  const transfer = new DataTransfer();
  for (const [name, b64] of files) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], name));
  }
  document.getElementById("drop").dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true}));
}"""


def test_pick_and_drop_photos_then_see_each_item_and_the_bag(server, items, tmp_path):
    import httpx2
    from playwright.sync_api import expect

    expected_bag = httpx2.post(f"{server}/v1/bag", files=[("files", (n, d)) for n, d, _ in items]).json()
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            dialogs = []
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.goto(server)
            page.wait_for_selector("#model:has-text('calibrated (T =')")

            # Pick three photos and one bad file whose name is HTML; drop the fourth photo.
            page.set_input_files("#picker", [payload(n, d) for n, d, _ in items[:3]] + [payload(XSS_NAME, b"")])
            expect(page.locator("#items .item")).to_have_count(3)  # (the page's CSP forbids wait_for_function's eval)
            # The bad file is left out and named, as text: no <img src=x> in the page, no alert.
            problem = page.inner_text("#problems")
            assert XSS_NAME in problem and "empty" in problem
            assert page.query_selector("img[src='x']") is None and dialogs == []
            page.screenshot(path=str(tmp_path / "lucky-bag-bad-file.png"), full_page=True)
            (name, data, _), = items[3:]
            page.evaluate(DROP, [[[name, base64.b64encode(data).decode()]]])
            expect(page.locator("#items .item")).to_have_count(4)

            cards = page.query_selector_all("#items .item")
            assert [c.query_selector(".name").inner_text() for c in cards] == [n for n, _, _ in items]
            assert [c.query_selector(".top-class").inner_text() for c in cards] == [CLASS_NAMES[y] for *_, y in items]
            assert all(len(c.query_selector_all(".row")) == 10 for c in cards)
            assert page.inner_text("#status") == "4 items in the bag"
            model_line = page.inner_text("#model")
            assert "simulated 5-item bags of photos, Brier score of 'chance of at least one' 0." in model_line

            rows = page.query_selector_all("#summary .summary-row")
            shown = {r.query_selector(".kind").inner_text(): (float(r.query_selector(".expected").inner_text()),
                                                             r.query_selector(".chance").inner_text()) for r in rows}
            assert set(shown) == set(CLASS_NAMES)
            for kind, (count, chance) in shown.items():
                assert count == pytest.approx(expected_bag["expected_counts"][kind], abs=0.006)
                assert chance == f"{100 * expected_bag['at_least_one'][kind]:.1f}%"

            page.screenshot(path=str(tmp_path / "lucky-bag-page.png"), full_page=True)

            # A sixth item does not fit the server's limit of five: the page says so and keeps five.
            page.set_input_files("#picker", [payload(f"more-{k}.png", items[k][1]) for k in (0, 1)])
            expect(page.locator("#items .item")).to_have_count(5)
            assert "at most 5 items here; 1 of the photos were not added" in page.inner_text("#problems")

            page.click("#clear")
            expect(page.locator("#items .item")).to_have_count(0)
            assert page.is_hidden("#summary")

            # A photo of the backdrop alone: shown greyed with its reason, left out of the summary.
            page.set_input_files("#picker", [payload(items[0][0], items[0][1]), payload("blank.png", blank_photo())])
            expect(page.locator("#items .item")).to_have_count(2)
            item, blank = page.query_selector_all("#items .item")
            assert "left-out" in blank.get_attribute("class") and "left-out" not in item.get_attribute("class")
            assert blank.query_selector(".top-class").inner_text() == "No item found"
            assert blank.query_selector(".reason").inner_text().startswith("no item found")
            assert page.inner_text("#status") == "1 item in the bag; 1 photo left out (1 with no item found)"
            counts = [float(r.inner_text()) for r in page.query_selector_all("#summary .expected")]
            assert sum(counts) == pytest.approx(1.0, abs=0.03)  # the one item alone
            page.screenshot(path=str(tmp_path / "lucky-bag-left-out.png"), full_page=True)
        finally:
            browser.close()
