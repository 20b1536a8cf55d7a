"""nnlab.serving.fashion: /v1/predict, /v1/bag, /v1/model, every bad upload, the batcher, `nnlab serve`'s choice."""

import asyncio
import io
import json
import threading
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from nnlab.core.calibration import CALIBRATED_FILE, read_calibration
from nnlab.core.saving import load_model
from nnlab.fashion.data import CLASS_NAMES
from nnlab.fashion.photos import load_photo
from nnlab.fashion.photoset import bad_files
from nnlab.serving.app import create_app
from nnlab.serving.batching import BatcherClosed, MicroBatcher
from nnlab.fashion.bags import bag_summary
from nnlab.serving.settings import Settings
from serving.fashion_fixtures import calibrated_run, live_server, photos_of

LIMITS = dict(max_files=4, max_file_bytes=2_000_000, max_pixels=1_000_000)


@pytest.fixture(scope="module")
def run(tiny_run, small_splits, tmp_path_factory):
    return calibrated_run(tiny_run, small_splits, tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def app(run):
    app = create_app(Settings(fashion_model=str(run), **LIMITS))
    yield app
    app.state.fashion.close()


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app) as client:
        yield client


@pytest.fixture(scope="module")
def photos(small_splits):
    return photos_of(small_splits, [0, 1, 2, 3, 4, 5])


def upload(photos):
    return [("files", (name, data, "application/octet-stream")) for name, data, *_ in photos]


def expected_probabilities(run, photos):
    """What the run's calibrated model says of the photos through the photo path, without the server."""
    model = load_model(run / CALIBRATED_FILE)
    return np.asarray(model.predict(np.stack([load_photo(data) for _, data, _ in photos]), verbose=0))


def expected_statuses(run, photos):
    """The statuses the run's own detector and threshold give the photos, without the server."""
    from nnlab.fashion.ood import load_assessor

    return load_assessor(run, keras_free=False).assess(np.stack([load_photo(data) for _, data, _ in photos]))


# ---------------------------------------------------------------- answers


def test_predict_gives_each_file_its_class_and_the_ten_calibrated_probabilities(client, run, photos):
    response = client.post("/v1/predict", files=upload(photos[:3]))
    assert response.status_code == 200
    body = response.json()
    assert body["calibrated"] is True
    expected = expected_probabilities(run, photos[:3])
    assert [item["file"] for item in body["items"]] == [name for name, _, _ in photos[:3]]
    statuses = expected_statuses(run, photos[:3])
    for item, p, status in zip(body["items"], expected, statuses):
        assert list(item["probabilities"]) == list(CLASS_NAMES)
        assert list(item["probabilities"].values()) == pytest.approx(p, abs=1e-5)
        assert item["status"] == status["status"] and item["ood_score"] == pytest.approx(status["ood_score"], abs=1e-4)
        if item["status"] != "ok":
            assert item["class"] is None and item["class_index"] is None and item["reason"]
            continue
        assert item["class_index"] == int(np.argmax(p)) and item["class"] == CLASS_NAMES[item["class_index"]]
        assert item["probability"] == pytest.approx(p.max(), abs=1e-5) and item["reason"] is None


def test_a_blank_photo_and_an_upload_that_is_no_item_are_left_out_of_the_bag(client, run, photos):
    import io

    from PIL import Image

    from nnlab.fashion.oodset import make_upload

    buffer = io.BytesIO()
    Image.new("RGB", (300, 220), (245, 243, 240)).save(buffer, format="PNG")
    checkerboard = make_upload(3, seed=0)  # the OOD set's "pattern" kind
    assert checkerboard.kind == "pattern"
    bag = [("blank.png", buffer.getvalue(), None), (checkerboard.name, checkerboard.data, None), photos[0]]
    body = client.post("/v1/bag", files=upload(bag)).json()
    blank, pattern, item = body["items"]
    assert blank["status"] == "empty" and blank["class"] is None and blank["reason"].startswith("no item found")
    assert pattern["status"] != "ok" and pattern["class"] is None
    counted = [i for i in body["items"] if i["status"] == "ok"]
    assert body["count"] == 3 and body["counted"] == len(counted)
    assert body["left_out"]["empty"] + body["left_out"]["unknown"] == 3 - len(counted)
    p = np.array([list(i["probabilities"].values()) for i in counted]).reshape(-1, 10)
    assert list(body["expected_counts"].values()) == pytest.approx(p.sum(axis=0), abs=1e-4)


def test_bag_sums_the_items_probabilities(client, photos):
    bag = photos[:LIMITS["max_files"]]
    items = client.post("/v1/predict", files=upload(bag)).json()["items"]
    body = client.post("/v1/bag", files=upload(bag)).json()
    p = np.array([list(item["probabilities"].values()) for item in items if item["status"] == "ok"]).reshape(-1, 10)
    assert body["count"] == len(bag) and [i["file"] for i in body["items"]] == [i["file"] for i in items]
    assert body["counted"] == len(p) and sum(body["left_out"].values()) == len(bag) - len(p)
    assert list(body["expected_counts"].values()) == pytest.approx(p.sum(axis=0), abs=1e-4)
    assert list(body["at_least_one"].values()) == pytest.approx(1 - np.prod(1 - p, axis=0), abs=1e-4)
    assert sum(body["expected_counts"].values()) == pytest.approx(len(p), abs=1e-3)


@pytest.mark.parametrize("p, expected, at_least_one", [
    ([[0.5, 0.5], [0.5, 0.5]], [1.0, 1.0], [0.75, 0.75]),
    ([[1.0, 0.0], [0.2, 0.8], [0.2, 0.8]], [1.4, 1.6], [1.0, 0.96]),
    ([[0.1, 0.9]], [0.1, 0.9], [0.1, 0.9]),
])
def test_bag_summary_on_hand_made_probabilities(p, expected, at_least_one):
    counts, chances = bag_summary(np.array(p), ["a", "b"])
    assert list(counts.values()) == pytest.approx(expected) and list(chances.values()) == pytest.approx(at_least_one)


def test_model_info_names_the_run_calibration_metrics_and_limits(client, run):
    info = client.get("/v1/model").json()
    calibration = read_calibration(run)["outputs"]["class"]
    assert info["run"] == run.name and info["model_file"].endswith(CALIBRATED_FILE) and info["calibrated"] is True
    assert info["temperature"] == pytest.approx(calibration["temperature"])
    assert info["ece"]["test"] == pytest.approx(calibration["test"]["after"]["ece"])
    assert info["metrics"]["test"]["accuracy"] == pytest.approx(json.loads((run / "metrics.json").read_text())
                                                                ["best_checkpoint"]["test"]["accuracy"])
    assert info["classes"] == list(CLASS_NAMES) and info["input_shape"] == [28, 28]
    assert info["limits"] == LIMITS and {"keras", "backend", "nnlab"} <= set(info["versions"]["serving"])
    assert client.get("/healthz").json() == {"status": "ok", "models": {"tickets": False, "fashion": True}}


def test_an_uncalibrated_model_file_says_so(run, photos):
    app = create_app(Settings(fashion_model=str(run / "best.keras")))
    try:
        with TestClient(app) as client:
            info = client.get("/v1/model").json()
            assert info["calibrated"] is False and info["temperature"] is None and info["run"] == run.name
            assert client.post("/v1/predict", files=upload(photos[:1])).json()["calibrated"] is False
    finally:
        app.state.fashion.close()


# ---------------------------------------------------------------- bad uploads: 4xx naming the file, never a 500

BAD = bad_files()


def white_png(width, height):
    buffer = io.BytesIO()
    Image.new("L", (width, height), 255).save(buffer, "PNG")
    return buffer.getvalue()



@pytest.mark.parametrize("name, data, status, kind", [
    ("empty.png", BAD["empty.png"], 400, "empty"),
    ("truncated.jpg", BAD["truncated.jpg"], 400, "corrupt"),
    ("notes.png", BAD["notes.png"], 415, "not_an_image"),
    ("bomb.png", BAD["bomb.png"], 413, "too_many_pixels"),  # 900 million pixels in 110 KB
    ("wide.png", white_png(1200, 1000), 413, "too_many_pixels"),  # a plain photo over this app's 1 million
    ("huge.jpg", b"\xff\xd8" + bytes(LIMITS["max_file_bytes"]), 413, "too_large"),
])
def test_a_bad_upload_gets_a_4xx_naming_the_file_and_the_server_keeps_serving(client, photos, name, data, status,
                                                                              kind):
    response = client.post("/v1/predict", files=[("files", (name, data, "image/png"))])
    assert response.status_code == status
    detail = response.json()["detail"]
    (error,) = detail["errors"]
    assert error["file"] == name and error["kind"] == kind and error["status"] == status and error["index"] == 0
    assert detail["message"].startswith(name + " ")
    assert client.post("/v1/predict", files=upload(photos[:1])).status_code == 200


def test_one_bad_file_among_good_ones_is_named_by_its_place(client, photos):
    files = upload(photos[:2]) + [("files", ("empty.png", b"", "image/png"))] + upload(photos[2:3])
    response = client.post("/v1/bag", files=files)
    assert response.status_code == 400
    (error,) = response.json()["detail"]["errors"]
    assert (error["index"], error["file"]) == (2, "empty.png")


def test_every_bad_file_is_listed_with_the_first_ones_status(client):
    files = [("files", ("notes.png", BAD["notes.png"], "image/png")), ("files", ("empty.png", b"", "image/png"))]
    detail = client.post("/v1/predict", files=files).json()["detail"]
    assert [e["kind"] for e in detail["errors"]] == ["not_an_image", "empty"]
    assert detail["message"].startswith("2 of 2 files cannot be used: notes.png ")


@pytest.mark.parametrize("send, status, words", [
    (dict(files=[("files", (f"{i}.png", b"x", "image/png")) for i in range(5)]), 413, "5 files, over the limit of 4"),
    (dict(files=[("files", (f"{i}.png", b"x", "image/png")) for i in range(40)]), 413, "over the limit of 4"),
    (dict(content=b'--zz\r\nContent-Disposition: form-data; name="note"\r\n\r\nno file\r\n--zz--\r\n',
          headers={"content-type": "multipart/form-data; boundary=zz"}), 422, "no file"),
    (dict(json={"image": "abc"}), 415, "multipart/form-data"),
    (dict(content=b"x" * 10, headers={"content-type": "multipart/form-data; boundary=zz",
                                      "content-length": str(10 ** 9)}), 413, "request body is over"),
])
def test_a_bad_request_gets_a_4xx_that_says_what_to_do(client, send, status, words):
    response = client.post("/v1/bag", **send)
    assert response.status_code == status and words in response.json()["detail"]["message"]


def test_a_file_name_comes_back_as_text(client):
    name = "<img src=x onerror=alert(1)>.png"
    response = client.post("/v1/predict", files=[("files", (name, b"", "image/png"))])
    assert response.json()["detail"]["errors"][0]["file"] == name
    assert response.headers["content-type"] == "application/json"


def test_without_a_model_the_endpoints_say_how_to_start_one():
    with TestClient(create_app(Settings())) as client:
        for response in (client.get("/v1/model"), client.post("/v1/predict", files=upload([("a.png", b"x")]))):
            assert response.status_code == 503 and "nnlab serve --model RUN" in response.json()["detail"]["message"]
        page = client.get("/")
        assert page.status_code == 200 and 'id="picker"' in page.text and 'href="/tickets"' in page.text
        assert "http" not in page.text.replace("http-equiv", "")  # nothing loaded from elsewhere: works offline


def test_settings_refuse_a_limit_out_of_range():
    with pytest.raises(ValueError, match=r"--max-files must be an integer >= 1, got 0"):
        create_app(Settings(max_files=0))
    assert (Settings().max_file_bytes, Settings().max_files) == (10_000_000, 64)


# ---------------------------------------------------------------- concurrency and batching


def test_concurrent_requests_are_batched_and_each_gets_its_own_answer(app, photos):
    import httpx2

    singles = {}
    with live_server(app) as url:
        with httpx2.Client(base_url=url) as http:
            for photo in photos:
                singles[photo[0]] = http.post("/v1/predict", files=upload([photo])).json()["items"][0]
        calls_before = app.state.fashion.batcher.calls

        async def hammer():
            async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
                return await asyncio.gather(*(http.post("/v1/predict", files=upload([photos[i % len(photos)]]))
                                              for i in range(48)))

        responses = asyncio.run(hammer())
    assert [r.status_code for r in responses] == [200] * 48
    for i, response in enumerate(responses):
        item = response.json()["items"][0]
        assert item["file"] == photos[i % len(photos)][0]
        assert item["probabilities"] == pytest.approx(singles[item["file"]]["probabilities"], abs=1e-5)
    assert app.state.fashion.batcher.calls - calls_before < 48  # some requests shared a model call


def test_the_batcher_groups_waiting_requests_and_survives_a_failing_call():
    calls = []

    def predict(x):
        calls.append(len(x))
        if (x < 0).any():
            raise RuntimeError("model failed")
        time.sleep(0.02)  # while it runs, the other requests queue up
        return x * 2

    batcher = MicroBatcher(predict, max_batch=8, max_wait_ms=0)

    async def main():
        good = asyncio.gather(*(batcher.submit(np.full((1, 2), i, np.float32)) for i in range(20)))
        bad = batcher.submit(np.full((2, 2), -1, np.float32))
        return await good, await asyncio.gather(bad, return_exceptions=True)

    try:
        answers, (failure,) = asyncio.run(main())
        assert [a.tolist() for a in answers] == [[[2 * i, 2 * i]] for i in range(20)]
        assert isinstance(failure, RuntimeError) and max(calls) <= 8 and len(calls) < 21
        assert asyncio.run(batcher.submit(np.ones((3, 2), np.float32))).tolist() == [[2, 2]] * 3  # still serving
    finally:
        batcher.close()
    with pytest.raises(BatcherClosed):
        asyncio.run(batcher.submit(np.ones((1, 2))))


def test_a_request_that_does_not_fit_starts_the_next_batch_in_its_turn():
    release, batches = threading.Event(), []

    def predict(x):
        release.wait(5)
        batches.append(x[:, 0].tolist())
        return x

    batcher = MicroBatcher(predict, max_batch=8, max_wait_ms=0)

    async def main():
        first = asyncio.ensure_future(batcher.submit(np.full((1, 1), 0)))
        await asyncio.sleep(0.05)  # the worker is now busy with the first request
        rest = [asyncio.ensure_future(batcher.submit(np.full((n, 1), n))) for n in (4, 6, 1)]
        await asyncio.sleep(0.05)
        release.set()
        return await asyncio.gather(first, *rest)

    try:
        answers = asyncio.run(main())
    finally:
        batcher.close()
    assert [len(a) for a in answers] == [1, 4, 6, 1]
    assert batches == [[0], [4] * 4, [6] * 6 + [1]]  # 4 + 6 > 8: the 6 leads the next batch, the 1 joins it


def test_the_event_loop_answers_while_the_model_runs():
    release = threading.Event()
    batcher = MicroBatcher(lambda x: (release.wait(5), x)[1], max_batch=4)

    async def main():
        pending = asyncio.ensure_future(batcher.submit(np.ones((1, 1))))
        await asyncio.sleep(0.05)
        assert not pending.done()  # the model is busy, and this coroutine still runs
        release.set()
        return await pending

    try:
        assert asyncio.run(main()).tolist() == [[1.0]]
    finally:
        batcher.close()


# ---------------------------------------------------------------- `nnlab serve` picks a model


def test_serve_picks_the_best_calibrated_run_else_says_none_is(run, tiny_run, tmp_path, monkeypatch, capsys):
    import shutil

    from nnlab.cli import main
    from nnlab.cli.serve import best_fashion_run

    runs = tmp_path / "runs"
    shutil.copytree(tiny_run.run_dir, runs / "plain")
    metrics = json.loads((runs / "plain" / "metrics.json").read_text())
    metrics["best_checkpoint"]["val"]["accuracy"] = 0.99  # better, but not calibrated
    (runs / "plain" / "metrics.json").write_text(json.dumps(metrics))
    assert best_fashion_run(runs)[:2] == (runs / "plain", False)
    shutil.copytree(run, runs / "calibrated")
    assert best_fashion_run(runs)[:2] == (runs / "calibrated", True)

    monkeypatch.chdir(tmp_path / "runs")  # no runs/ here
    with pytest.raises(SystemExit) as stop:
        main(["serve"])
    out, err = capsys.readouterr()
    assert stop.value.code == 2 and "nnlab train --preset cnn" in out and "nnlab calibrate RUN" in out
    assert err.startswith("error: nothing to serve")


def test_a_model_that_is_not_a_fashion_classifier_is_refused_at_start(ticket_run, tmp_path):
    import keras

    from nnlab.core.errors import NnlabError
    from nnlab.core.saving import save_model

    with pytest.raises(NnlabError, match="not a fashion one; serve it with its own option"):
        create_app(Settings(fashion_model=str(ticket_run)))
    three = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
    save_model(three, tmp_path / "three.keras")
    with pytest.raises(NnlabError, match=r"not a Fashion-MNIST classifier.*outputs of shape \(3,\)"):
        create_app(Settings(fashion_model=str(tmp_path / "three.keras")))


def test_worker_processes_get_the_same_settings():
    from nnlab.serving.app import settings_to_environment

    settings = Settings(fashion_model="runs/x", max_files=3, max_wait_ms=2.5)
    assert Settings(**json.loads(settings_to_environment(settings))) == settings


@pytest.mark.parametrize("files, inline", [
    ([(0, "a.png", white_png(28, 28))], True),
    ([(0, "a.png", white_png(200, 200))], False),  # a photo: decoded in the thread pool
    ([(0, "a.png", white_png(28, 28)), (1, "b.png", white_png(28, 28))], False),
    ([(0, "a.txt", b"not an image")], True),
    ([(0, "bomb.png", BAD["bomb.png"])], False),
])
def test_only_a_tiny_image_is_decoded_on_the_event_loop(files, inline):
    from nnlab.serving.fashion import small

    assert small(files) is inline
