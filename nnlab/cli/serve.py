"""``nnlab serve``: the HTTP service (nnlab/serving), with uvicorn.

    nnlab serve                                  # the calibrated cnn-fast run in runs/ (see below); page at /
    nnlab serve --model runs/<fashion run>       # POST /v1/predict, /v1/bag; GET /v1/model; docs at /docs
    nnlab serve --tickets runs/<ticket run>      # POST /v1/tickets/triage, page at /tickets
    nnlab serve --workers 2 --port 8080          # two processes, each with its own model and batcher
    nnlab serve --decode-processes 0             # photos decoded in the server's threads, not in worker processes

Without ``--model`` the server takes, from the fashion runs in ``--runs-dir`` with a validation
accuracy, the first of these that exists and says which and why:

1. the calibrated run (`nnlab calibrate RUN`) of a preset in ``SERVED_PRESETS`` (``cnn-fast``,
   the speed preset of issue 9) with the best validation accuracy;
2. else the calibrated run with the best validation accuracy;
3. else the run with the best validation accuracy (its probabilities uncalibrated).

With none it prints the two commands that make one. Photos are decoded in worker processes, one
per CPU core (shared among ``--workers``): measured in bench/serve_photos.py against the server's
own threads (``--decode-processes 0``), more photos a second, and 28x28 requests beside photo
uploads answered at twice the rate (``nnlab.serving.decoding``). It binds 127.0.0.1 (this machine only)
unless ``--host`` says otherwise. Loading a fashion model imports neither the ticket package
nor TensorFlow (see ``nnlab.core.saving.load_model``).
"""

from pathlib import Path
from typing import NamedTuple, Optional

import typer

from nnlab.cli.common import FIRST_SYSTEM, console
from nnlab.core.errors import NnlabError

# The presets whose calibrated run is served by default (issue 9: the speed preset's run is what the
# lucky-bag service serves when present). A run counts when its config.json names one of them as its
# preset or model. A sibling preset goes here too; among these runs the best val accuracy wins.
SERVED_PRESETS = ("cnn-fast",)


class FashionRun(NamedTuple):
    """A fashion run that ``nnlab serve`` could serve."""

    path: Path
    calibrated: bool  # a current calibrated.keras (see nnlab.core.calibration)
    accuracy: float  # validation accuracy of the model that would be served
    preset: Optional[str]  # its entry of SERVED_PRESETS, or None


def fashion_runs(runs_dir):
    """Every fashion run in ``runs_dir`` whose served model has a validation accuracy, as FashionRun."""
    from nnlab.core.calibration import calibrated_path, read_calibration
    from nnlab.core.runs import list_runs
    from nnlab.core.saving import resolve_model_path
    from nnlab.serving.fashion import served_metrics

    found = []
    for run in list_runs(runs_dir):
        config = run["config"] or {}
        if run["broken"] or config.get("task", FIRST_SYSTEM) != "fashion":
            continue
        try:
            source = resolve_model_path(run["path"])
        except NnlabError:
            continue  # no model file (yet)
        calibrated = calibrated_path(run["path"])[0] is not None
        if calibrated:
            entry = next(iter((read_calibration(run["path"]).get("outputs") or {}).values()), {})
            accuracy = ((entry.get("val") or {}).get("after") or {}).get("accuracy")
        else:
            accuracy = ((served_metrics(run["metrics"] or {}, source.name) or {}).get("val") or {}).get("accuracy")
        preset = next((name for name in SERVED_PRESETS if name in (config.get("preset"), config.get("model"))), None)
        if isinstance(accuracy, (int, float)) and not isinstance(accuracy, bool):
            found.append(FashionRun(Path(run["path"]), calibrated, float(accuracy), preset))
    return found


def best_fashion_run(runs_dir):
    """The FashionRun to serve by default (rules in the module docstring), or None."""
    runs = fashion_runs(runs_dir)
    if not runs:
        return None
    return max(runs, key=lambda run: (run.calibrated and run.preset is not None, run.calibrated, run.accuracy))


def _pick_model(runs_dir, tickets):
    """The fashion run to serve when --model was not given (saying which and why), or None (tickets only)."""
    runs = fashion_runs(runs_dir)
    if not runs:
        if tickets is not None:
            console.print(f"no fashion run in {runs_dir}/: serving ticket triage only.")
            return None
        console.print(f"no fashion run in {runs_dir}/ to serve. Make one, then serve it:\n"
                      "    nnlab train --preset cnn-fast     # about 5 minutes on 2 CPU cores\n"
                      "    nnlab calibrate RUN               # RUN: the run folder it printed")
        raise NnlabError(f"nothing to serve: no fashion run in {runs_dir}/; train one (`nnlab train --preset "
                         "cnn-fast`) and calibrate it (`nnlab calibrate RUN`), or pass --model RUN_OR_FILE.")
    run = best_fashion_run(runs_dir)
    if run.calibrated and run.preset:
        console.print(f"model: {run.path}, the {run.preset} run in {runs_dir}/ with the best val accuracy "
                      f"({run.accuracy:.4f}), calibrated")
    elif run.calibrated:
        console.print(f"model: {run.path}, the best calibrated fashion run in {runs_dir}/ "
                      f"(val accuracy {run.accuracy:.4f}); there is no calibrated {' or '.join(SERVED_PRESETS)} run")
    else:
        console.print(f"model: {run.path}, the best fashion run in {runs_dir}/ (val accuracy {run.accuracy:.4f}); "
                      f"[yellow]none is calibrated[/]: its probabilities are the raw softmax. "
                      f"`nnlab calibrate {run.path}` calibrates it.")
    waiting = max((r for r in runs if r.preset and not r.calibrated), key=lambda r: r.accuracy, default=None)
    if waiting is not None and waiting.path != run.path and not (run.calibrated and run.preset):
        console.print(f"{waiting.path} is a {waiting.preset} run, not calibrated: `nnlab calibrate {waiting.path}` "
                      "makes it the default.")
    if run.calibrated and not (run.path / "ood.keras").is_file():
        console.print(f"[yellow]note:[/] {run.path} was calibrated before nnlab had its \"not an item\" detector: only "
                      f"blank photos are told apart; `nnlab calibrate {run.path}` fits it.")
    return str(run.path)


def _check_port(host, port):
    """Refuse a port that is taken before spending seconds loading models (uvicorn would say so only after)."""
    import socket

    try:
        with socket.create_server((host, port)):
            pass
    except OSError as error:
        raise NnlabError(f"cannot listen on {host}:{port} ({error.strerror or error}); pick another --port, or stop "
                         "the program that uses it.") from None


def _cache_short_compiles():
    """JAX's persistent cache for every compile (as `nnlab predict` does): a restart skips the warm-up's XLA work."""
    import keras

    from nnlab.core.training import enable_compile_cache

    enable_compile_cache()
    if keras.backend.backend() == "jax":
        import jax

        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


def serve(model: Optional[Path] = typer.Option(None, "--model", help="A fashion run folder (its calibrated model "
                                                                      "when it has one) or a .keras/.h5 file. "
                                                                      f"Default: the calibrated "
                                                                      f"{' or '.join(SERVED_PRESETS)} run in "
                                                                      "--runs-dir with the best val accuracy, else "
                                                                      "the best calibrated run, else the best run."),
          tickets: Optional[Path] = typer.Option(None, help="A ticket run folder (or its served.keras) to serve."),
          host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0: every network)."),
          port: int = typer.Option(8000, help="Port to listen on."),
          workers: int = typer.Option(1, help="Server processes, each with its own copy of the models."),
          runs_dir: Path = typer.Option(Path("runs"), help="Where to look for a fashion run without --model."),
          max_file_bytes: int = typer.Option(10_000_000, help="Bytes per uploaded image at most (10 MB)."),
          max_files: int = typer.Option(64, help="Images per request at most."),
          max_pixels: int = typer.Option(40_000_000, help="Pixels per image at most (width x height, read "
                                                          "from the header: bombs are refused undecoded)."),
          max_batch: int = typer.Option(64, help="Images per model call when requests are batched together."),
          max_wait_ms: float = typer.Option(1.0, help="How long a batch waits for more requests, in ms."),
          decode_processes: Optional[int] = typer.Option(None, help="Worker processes that decode photos, in each "
                                                                    "server process (0: its own threads). Default: "
                                                                    "the CPU cores shared among --workers (at least "
                                                                    "1 each); see bench/serve_photos.py."),
          max_tickets: int = typer.Option(1000, help="Tickets per request at most.")):
    """Serve the models over HTTP (JSON API, and pages to try them); Ctrl-C stops."""
    import dataclasses
    import os

    import uvicorn

    from nnlab.core.calibration import served_model_path
    from nnlab.core.config import at_least
    from nnlab.serving.app import SETTINGS_VARIABLE, create_app, freeze_heap, import_keras, settings_to_environment
    from nnlab.serving.settings import Settings

    at_least("--workers", workers, 1)
    if not 0 < port < 65536:
        raise NnlabError(f"--port must be in 1..65535, got {port}.")
    _check_port(host, port)
    import_keras()  # before anything imports it: without scikit-learn
    settings = Settings(tickets_model=str(tickets) if tickets else None, max_tickets=max_tickets,
                        fashion_model=str(model) if model else None, max_file_bytes=max_file_bytes,
                        max_files=max_files, max_pixels=max_pixels, max_batch=max_batch,
                        max_wait_ms=max_wait_ms,
                        decode_processes=(max(1, (os.cpu_count() or 1) // workers) if decode_processes is None
                                          else decode_processes)).validate()
    if model is None:
        settings = dataclasses.replace(settings, fashion_model=_pick_model(runs_dir, tickets))
    _cache_short_compiles()
    url = f"http://{host}:{port}"
    pages = ([f"{url}/ (lucky bag; API: POST /v1/predict, /v1/bag)"] if settings.fashion_model else []) + \
            ([f"{url}/tickets (API: POST /v1/tickets/triage)"] if settings.tickets_model else [])
    if workers == 1:
        app = create_app(settings)  # loads the models now: a bad file fails here, before the port is taken
        if app.state.fashion is not None:
            console.print(f"serving {app.state.fashion.path} ({app.state.fashion.note})")
        console.print(f"at {' and '.join(pages)}; docs: {url}/docs")
        freeze_heap()
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
        return
    if settings.fashion_model:  # a missing model fails here, once, not in every worker
        console.print("serving {} ({})".format(*served_model_path(settings.fashion_model)))
    os.environ[SETTINGS_VARIABLE] = settings_to_environment(settings)
    console.print(f"{workers} workers at {' and '.join(pages)}; docs: {url}/docs")
    uvicorn.run("nnlab.serving.app:app_from_environment", factory=True, host=host, port=port, workers=workers,
                log_level="warning", access_log=False)
