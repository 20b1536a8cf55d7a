"""The lucky-bag classifier over HTTP: ``POST /v1/predict``, ``POST /v1/bag``, ``GET /v1/model`` and the page ``/``.

    curl -s localhost:8000/v1/predict -F files=@shoe.jpg -F files=@blank.png
    {"calibrated": true, "items": [{"file": "shoe.jpg", "status": "ok", "reason": null, "ood_score": 0.002,
                                    "class": "Sneaker", "class_index": 7, "probability": 0.93,
                                    "probabilities": {"T-shirt/top": 0.0, ...}},
                                   {"file": "blank.png", "status": "empty", "reason": "no item found: ...",
                                    "class": null, "class_index": null, "probability": null, ...}]}
    curl -s localhost:8000/v1/bag -F files=@shoe.jpg -F files=@bag.png
    {..., "counted": 2, "left_out": {"empty": 0, "unknown": 0}, "items": [...],
     "expected_counts": {"Sneaker": 0.95, ...}, "at_least_one": {"Sneaker": 0.94, ...}}

Images go as ``multipart/form-data``, any field name, one or more files (PNG, JPEG, WebP,
GIF, BMP, TIFF); each becomes a Fashion-MNIST-like input through ``nnlab.fashion.photos``.
The probabilities are the calibrated model's when the run has one (``/v1/model`` says).
Each item has a status (``nnlab.fashion.ood``): ``ok``, ``empty`` (nothing but backdrop) or
``unknown`` (the run's "not an item" detector, fitted by ``nnlab calibrate``, says it is none of
the ten kinds); ``class`` is null unless ok, and a bag's summary counts only ok items.

A request with an unusable file is refused as a whole (a bag with a file missing would give a
wrong summary) with the server's one error body (``nnlab.serving.errors``): ``detail.message``
names the file and the reason, ``detail.errors`` has one entry per bad file: ``index``,
``file``, ``kind``, ``reason``, ``status``. The status is the first bad file's:

    400  empty (0 bytes); damaged or truncated image (a format we read, with bad bytes)
    413  over max_file_bytes (10 MB); over max_pixels (a decompression bomb: refused from the
         header, before decoding); more than max_files (64) files; a body over all of those
    415  not an image we read (text, PDF, ...); a body that is not multipart/form-data
    422  a multipart body with no file in it
    503  no fashion model loaded (``nnlab serve --model RUN``); the photo decoding processes
         stopped twice on this request's files (``nnlab.serving.decoding``)

The answers are described by pydantic models (``FashionItem``, ``Prediction``, ``Bag``,
``ModelInfo``) in the OpenAPI schema at ``/openapi.json``; a new field of an item goes into
``FashionItem``. ``document`` writes the server's limits (``max_files``) into that schema.
"""

import io
import logging
from pathlib import Path
from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from nnlab.core.errors import NnlabError
from nnlab.serving.decoding import STATUS, DecoderStopped, decode  # noqa: F401  STATUS: the statuses of bad files
from nnlab.serving.decoding import file_error as _error
from nnlab.serving.errors import error, responses
from nnlab.serving.pages import BAG_PAGE

router = APIRouter(tags=["fashion"])
log = logging.getLogger("nnlab.serving")

NAME_CHARS = 200  # longer client file names are cut in answers
BODY_SLACK = 16_384  # multipart headers per file, on top of its bytes


# ---------------------------------------------------------------- the model


class FashionService:
    """The served model (a run's calibrated.keras when current), its run's figures and the micro-batcher."""

    def __init__(self, model, settings):
        from nnlab.core.calibration import served_model_path
        from nnlab.core.runs import read_run
        from nnlab.core.saving import load_model
        from nnlab.core.training import enable_compile_cache
        from nnlab.fashion.ood import Assessor
        from nnlab.serving.batching import MicroBatcher

        enable_compile_cache()
        self.run_dir = _run_dir(model)
        task = ((read_run(self.run_dir)["config"] or {}) if self.run_dir else {}).get("task", "fashion")
        if task != "fashion":
            raise NnlabError(f"{model} is a {task!r} run, not a fashion one; serve it with its own option "
                             f"(e.g. `nnlab serve --tickets {model}`), and pass a run of `nnlab train` to --model.")
        self.path, self.note = served_model_path(model)
        self.model = load_model(self.path, compile=False)
        self._forward = _compiled(self.model)
        self.ood = self._detector()
        self.assessor = Assessor(None, self.ood[1] if self.ood else np.inf)  # statuses: the detector, or "empty" alone
        wrong = (f"{self.path} is not a Fashion-MNIST classifier: it must take 28x28 images and give the 10 class "
                 "probabilities; serve a fashion run (`nnlab train`) or its model file")
        try:
            for size in _sizes(settings.max_batch):  # XLA compiles each padded batch shape now, not on a request
                probabilities = self.predict(np.zeros((size, 28, 28), np.float32))
        except (ValueError, TypeError) as error:  # Keras' words for inputs of the wrong shape
            raise NnlabError(f"{wrong} ({type(error).__name__}: {str(error).splitlines()[0][:200]}).") from None
        if probabilities.shape[1:] != (11,):
            raise NnlabError(f"{wrong}; it gives outputs of shape ({probabilities.shape[1] - 1},).")
        self.batcher = MicroBatcher(self.predict, settings.max_batch, settings.max_wait_ms, name="fashion-batcher")
        self.decoder = None  # photos decoded in the server's thread pool
        if settings.decode_processes:  # ... or in worker processes, started now (nnlab.serving.decoding)
            from nnlab.serving.decoding import DecodePool

            self.decoder = DecodePool(settings.decode_processes, settings.max_pixels)
        self._info = self._describe(settings)
        self.calibrated = self._info["calibrated"]

    def predict(self, x):
        """(n, 28, 28) float32 -> (n, 11): the 10 probabilities and the "not an item" score (0 without a detector).

        The batch is padded to a power of two (few XLA shapes).
        """
        from nnlab.fashion.task import TASK

        n = len(x)
        size = 1 << (n - 1).bit_length()
        if size != n:
            x = np.concatenate([x, np.zeros((size - n, *x.shape[1:]), x.dtype)])
        probabilities = np.asarray(self._forward(TASK.adapt_inputs(self.model, x)))
        scores = np.asarray(self.ood[0](x)).reshape(-1, 1) if self.ood else np.zeros((size, 1), np.float32)
        return np.concatenate([probabilities, scores.astype(probabilities.dtype)], axis=1)[:n]

    def _detector(self):
        """``(compiled detector, threshold)`` of the run's "not an item" detector (``nnlab calibrate``), or None."""
        from nnlab.core.calibration import read_calibration
        from nnlab.core.saving import load_model
        from nnlab.fashion.ood import DETECTOR_FILE

        info = (read_calibration(self.run_dir) or {}).get("ood") if self.run_dir else None
        if not info or not (self.run_dir / DETECTOR_FILE).is_file():
            return None
        return _compiled(load_model(self.run_dir / DETECTOR_FILE, compile=False)), float(info["threshold"])


    def info(self):
        return {**self._info, "batching": self.batcher.stats()}

    def _describe(self, settings):
        """What GET /v1/model answers: run, calibration, metrics, classes, input shape, limits, versions."""
        from nnlab.core.calibration import CALIBRATED_FILE, read_calibration
        from nnlab.core.runs import read_run, versions
        from nnlab.fashion.data import CLASS_NAMES, IMAGE_SHAPE

        run = read_run(self.run_dir) if self.run_dir else None
        metrics = (run or {}).get("metrics") or {}
        calibration = read_calibration(self.run_dir) if self.run_dir and self.path.name == CALIBRATED_FILE else None
        entry = next(iter(((calibration or {}).get("outputs") or {}).values()), None)
        source = (calibration or {}).get("source_model", self.path.name)
        return {
            "task": "fashion", "run": run["name"] if run else None, "run_path": str(self.run_dir or "") or None,
            "model_file": str(self.path), "model": self.note, "calibrated": entry is not None,
            "temperature": entry["temperature"] if entry else None,
            "ece": {split: entry[split]["after"]["ece"] for split in ("val", "test")} if entry else None,
            "calibration": ({split: entry[split] for split in ("val", "test")} | {"bins": calibration.get("bins")}
                            if entry else None),
            "metrics": served_metrics(metrics, source), "classes": list(CLASS_NAMES),
            "input_shape": list(IMAGE_SHAPE), "input": "images (PNG, JPEG, WebP, GIF, BMP, TIFF) made Fashion-MNIST-"
                                                      "like by the dataset paper's recipe",
            "limits": {"max_file_bytes": settings.max_file_bytes, "max_files": settings.max_files,
                       "max_pixels": settings.max_pixels},
            "ood": _ood_figures(calibration) if self.ood else None,
            "versions": {"serving": versions(), "trained": metrics.get("versions")},
        }

    def close(self):
        self.batcher.close()
        if self.decoder is not None:
            self.decoder.close()


def _compiled(model):
    """A model's inference as one function of the inputs.

    On JAX: ``model.stateless_call`` under ``jax.jit``, the weights bound once. Keras'
    ``predict_on_batch`` costs ~1 ms of Python per call, most of it holding the GIL that
    the event loop needs; the jitted call costs a few tens of microseconds.
    """
    import keras

    if keras.backend.backend() != "jax":
        return model.predict_on_batch
    import jax

    weights = ([v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables])

    @jax.jit
    def forward(weights, x):
        outputs, _ = model.stateless_call(*weights, x, training=False)
        return outputs

    return lambda x: forward(weights, x)


def _ood_figures(calibration):
    """What /v1/model says of the statuses: the threshold and the measured shares (calibration.json's "ood")."""
    ood = (calibration or {}).get("ood") or {}
    test = ood.get("test") or {}
    return {"threshold": ood.get("threshold"), "method": ood.get("method"),
            "val_photos_not_ok": (ood.get("val_photos") or {}).get("not_ok"),
            "test_photos_not_ok": (test.get("item_photos") or {}).get("not_ok"),
            "uploads_not_ok": (test.get("uploads") or {}).get("not_ok"), "auroc": test.get("auroc"),
            "bags": ood.get("bags")}


def _sizes(max_batch):
    """The padded batch sizes up to max_batch: 1, 2, 4, ..."""
    return [1 << k for k in range(max(max_batch - 1, 0).bit_length() + 1)]


def _run_dir(model):
    """The run folder of a model given as a run folder or as a file inside one (with its config.json); else None."""
    path = Path(model)
    folder = path if path.is_dir() else path.parent
    return folder if (folder / "config.json").is_file() else None


def served_metrics(metrics, source):
    """Val/test loss and accuracy of the model file ``source`` (best.keras or final.keras) from metrics.json."""
    best = metrics.get("best_checkpoint") or {}
    figures = best if best.get("file") == source and "test" in best else metrics
    return {split: figures[split] for split in ("val", "test") if isinstance(figures.get(split), dict)} or None


# ---------------------------------------------------------------- uploads


def upload_error(errors, count):
    """An HTTPException for bad files: the first one's status, a message naming each file, and the list."""
    if len(errors) == 1:
        message = errors[0]["message"]
    else:
        message = f"{len(errors)} of {count} files cannot be used: " + "; ".join(e["message"] for e in errors)
    return HTTPException(status_code=errors[0]["status"], detail=error(message, errors))


def request_error(status, message):
    return HTTPException(status_code=status, detail=error(message))


class _BodyTooLarge(Exception):
    pass


def _limited(receive, limit):
    """An ASGI receive that raises _BodyTooLarge once the body passes ``limit`` bytes (also without Content-Length)."""
    seen = 0

    async def receive_limited():
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > limit:
            raise _BodyTooLarge
        return message

    return receive_limited


async def read_uploads(request, settings):
    """``[(file name, bytes)]`` of the request's files; HTTPException (413/415/422/400) for a bad request."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise request_error(415, "send the images as multipart/form-data (e.g. `curl -F files=@photo.jpg`), "
                                 f"got content-type {content_type or 'none'!r}.")
    limit = settings.max_files * (settings.max_file_bytes + BODY_SLACK)
    too_large = (f"the request body is over {limit:,} bytes, the most that {settings.max_files} files of "
                 f"{settings.max_file_bytes:,} bytes take; send fewer or smaller files.")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise request_error(413, too_large)
    body = Request(request.scope, receive=_limited(request.receive, limit))
    try:
        form = await body.form(max_files=4 * settings.max_files, max_fields=4 * settings.max_files)
    except _BodyTooLarge:
        raise request_error(413, too_large) from None
    except StarletteHTTPException as error:  # python-multipart's complaints, as Starlette words them
        if "too many files" in str(error.detail).lower():
            raise request_error(413, f"more than {4 * settings.max_files} files, over the limit of "
                                     f"{settings.max_files} per request; send them in several requests.") from None
        raise request_error(400, f"the multipart body cannot be read: {error.detail}") from None
    try:
        uploads = [value for _, value in form.multi_items() if isinstance(value, UploadFile)]
        if not uploads:
            raise request_error(422, "the request has no file; send one or more images as multipart/form-data "
                                     "file fields (e.g. `curl -F files=@photo.jpg`).")
        if len(uploads) > settings.max_files:
            raise request_error(413, f"{len(uploads)} files, over the limit of {settings.max_files} per request; "
                                     "send them in several requests.")
        files, errors = [], []
        for index, upload in enumerate(uploads):
            name = (upload.filename or f"file {index + 1}")[:NAME_CHARS]
            if upload.size is not None and upload.size > settings.max_file_bytes:
                reason = (f"is {upload.size:,} bytes, over the limit of {settings.max_file_bytes:,} bytes per file; "
                          "send a smaller photo.")
                errors.append(_error(index, name, "too_large", reason))
                continue
            files.append((index, name, await upload.read()))
    finally:
        await form.close()
    return files, errors


def small(files, max_bytes=16_384, max_pixels=64 * 64):
    """True for one file of at most ``max_bytes`` whose header says at most ``max_pixels`` (e.g. a 28x28 PNG).

    Only the header is read (Pillow decodes lazily). A file whose header cannot be read counts
    as small: decoding it fails at once.
    """
    from PIL import Image

    if len(files) != 1 or len(files[0][2]) > max_bytes:
        return False
    try:
        with Image.open(io.BytesIO(files[0][2])) as image:
            return image.size[0] * image.size[1] <= max_pixels
    except Exception:  # noqa: BLE001  not an image, truncated header, a bomb Pillow refuses: all quick to refuse
        return True


async def classify(request, service, settings):
    """``(names, inputs (n, 28, 28), outputs (n, 11))`` of the request's images (outputs: the ten probabilities and
    the "not an item" score), or an HTTPException naming the bad files."""
    files, too_large = await read_uploads(request, settings)
    if small(files):  # well under a millisecond of work: less than a hop to the thread pool and back costs
        arrays, unreadable = decode(files, settings.max_pixels)
    elif service.decoder is not None:  # a photo takes milliseconds: in the worker processes, on every core
        try:
            arrays, unreadable = await service.decoder.decode(files)
        except DecoderStopped:
            raise HTTPException(status_code=503, detail=error("the photo decoding processes stopped twice while "
                                                              "reading these files; send them again.")) from None
    else:  # ... or in the thread pool, off the event loop
        arrays, unreadable = await run_in_threadpool(decode, files, settings.max_pixels)
    if too_large or unreadable:
        raise upload_error(sorted(too_large + unreadable, key=lambda e: e["index"]), len(files) + len(too_large))
    x = np.stack(arrays)
    return [name for _, name, _ in files], x, await service.batcher.submit(x)


def items(names, x, outputs, assessor):
    """One answer per image: file name, status and reason, top class (name and index) and its probability when
    the status is ok (else null), all ten probabilities by class name, the "not an item" score."""
    from nnlab.fashion.ood import answer

    statuses = assessor.assess(x, np.asarray(outputs)[:, 10])
    probabilities = np.asarray(outputs)[:, :10]
    return [{"file": name, **answer(p, status)} for name, p, status in zip(names, probabilities, statuses)]


# ---------------------------------------------------------------- answers (the OpenAPI schema's models)


class FashionItem(BaseModel):
    """One uploaded image's answer, in upload order."""

    model_config = ConfigDict(populate_by_name=True)

    file: str = Field(description="the client's file name (or 'file N')")
    status: Literal["ok", "empty", "unknown"] = Field(description="ok: one of the ten kinds; empty: nothing but "
                                                      "backdrop; unknown: not one of the ten kinds")
    reason: str | None = Field(description="why the status is not ok (null when ok)")
    ood_score: float = Field(ge=0, le=1, description="the \"not an item\" detector's score (0 without one)")
    class_: str | None = Field(alias="class", description="the most probable of the ten class names (null unless "
                                                           "ok)")
    class_index: int | None = Field(ge=0, le=9, description="its index in /v1/model's classes (null unless ok)")
    probability: float | None = Field(ge=0, le=1, description="its probability (null unless ok)")
    probabilities: dict[str, float] = Field(description="all ten, by class name, in class order (kept for "
                                                        "transparency whatever the status)")


class Prediction(BaseModel):
    calibrated: bool = Field(description="true when the probabilities are the calibrated model's")
    items: list[FashionItem]


class Bag(Prediction):
    count: int = Field(ge=1, description="files in the bag")
    counted: int = Field(ge=0, description="items whose status is ok: the only ones the summary counts")
    left_out: dict[str, int] = Field(description="files left out of the summary, by status (empty, unknown)")
    expected_counts: dict[str, float] = Field(description="per class: the sum of the ok items' probabilities")
    at_least_one: dict[str, float] = Field(description="per class: 1 - prod(1 - p) over the ok items, taken as "
                                                       "independent")


class ModelInfo(BaseModel):
    """What the server serves; the nested figures are as the run folder's JSON files hold them."""

    model_config = ConfigDict(extra="allow")

    task: str
    run: str | None
    run_path: str | None
    model_file: str
    model: str = Field(description="which file of the run is served, and why")
    calibrated: bool
    temperature: float | None
    ece: dict[str, float] | None
    calibration: dict[str, Any] | None
    metrics: dict[str, Any] | None
    classes: list[str]
    input_shape: list[int]
    input: str
    limits: dict[str, int]
    ood: dict[str, Any] | None = Field(description="the \"not an item\" detector: threshold, shares of photos not "
                                                   "ok, and the 5-item bag figures (null when not calibrated)")
    versions: dict[str, Any]
    batching: dict[str, Any]


# ---------------------------------------------------------------- endpoints

IMAGE_TYPES = "image/png, image/jpeg, image/webp, image/gif, image/bmp, image/tiff"
_MULTIPART = {"requestBody": {"required": True, "content": {"multipart/form-data": {
    "schema": {"type": "object", "required": ["files"],
               "properties": {"files": {"type": "array", "minItems": 1,  # maxItems: document() sets max_files
                                        "items": {"type": "string", "format": "binary"},
                                        "description": "one or more images (any field name is accepted)"}}},
    "encoding": {"files": {"contentType": IMAGE_TYPES}}}}}}
_NO_MODEL = {503: "no fashion model loaded: start the server with `nnlab serve --model RUN`"}
_ERRORS = responses({
    400: "an empty or damaged file, or a multipart body that cannot be read",
    413: "a file, an image or the request over a limit (see /v1/model's limits)",
    415: "a file that is not an image, or a body that is not multipart/form-data",
    422: "a multipart body with no file in it",
    503: f"{_NO_MODEL[503]}; or the photo decoding processes stopped twice on these files (send them again)"})


def document(openapi, settings):
    """Write the settings' limits into the app's OpenAPI schema: at most ``max_files`` files per request."""
    for path in ("/v1/predict", "/v1/bag"):
        body = openapi["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]
        body["schema"]["properties"]["files"]["maxItems"] = settings.max_files


async def fashion_service(request: Request):  # async: a plain def would cost a thread-pool hop per request
    service = request.app.state.fashion
    if service is None:
        raise HTTPException(status_code=503, detail=error("no fashion model is loaded; start the server with "
                                                          "`nnlab serve --model RUN` (a run of `nnlab train`)."))
    return service


async def settings(request: Request):
    return request.app.state.settings


# The answers are built as dicts and sent as JSONResponse (no second validation of ten probabilities per item on
# the hot path); response_model documents them, and tests/serving/test_openapi.py checks they match.
@router.post("/v1/predict", openapi_extra=_MULTIPART, responses=_ERRORS, response_model=Prediction)
async def predict(request: Request, service: FashionService = Depends(fashion_service), config=Depends(settings)):
    """Class and the ten (calibrated) class probabilities of each uploaded image, in upload order."""
    names, x, outputs = await classify(request, service, config)
    return JSONResponse({"calibrated": service.calibrated, "items": items(names, x, outputs, service.assessor)})


@router.post("/v1/bag", openapi_extra=_MULTIPART, responses=_ERRORS, response_model=Bag)
async def bag(request: Request, service: FashionService = Depends(fashion_service), config=Depends(settings)):
    """The items of one lucky bag: each item's prediction, the expected count of each class and, per class,
    the probability that the bag holds at least one (1 - prod(1 - p_i), the items taken as independent).
    Only items whose status is ok are counted; ``left_out`` says how many were not, and why."""
    from nnlab.fashion.bags import bag_summary
    from nnlab.fashion.data import CLASS_NAMES

    names, x, outputs = await classify(request, service, config)
    answers = items(names, x, outputs, service.assessor)
    ok = np.array([item["status"] == "ok" for item in answers])
    expected, at_least_one = bag_summary(np.asarray(outputs)[ok, :10].reshape(-1, 10), CLASS_NAMES)
    left_out = {status: sum(item["status"] == status for item in answers) for status in ("empty", "unknown")}
    return JSONResponse({"calibrated": service.calibrated, "count": len(names), "counted": int(ok.sum()),
                         "left_out": left_out, "items": answers, "expected_counts": expected,
                         "at_least_one": at_least_one})


@router.get("/v1/model", responses=responses(_NO_MODEL), response_model=ModelInfo)
def model_info(service: FashionService = Depends(fashion_service)):
    """The served model: run, calibration (temperature, ECE), val/test metrics, classes, input shape, limits,
    versions, and the batching so far."""
    return service.info()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def page():
    """The lucky-bag page: pick or drop photos, see each item's class and the bag summary (offline)."""
    return BAG_PAGE


def install(app, settings):
    """Load the fashion model named by ``settings`` (if any) and add this router to ``app``."""
    app.state.fashion = FashionService(settings.fashion_model, settings) if settings.fashion_model else None
    app.include_router(router)
