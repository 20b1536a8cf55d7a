"""The README stays true: its opening commands, its Python imports, its benchmark table, which saved models
load in plain Keras."""

import importlib.util
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_opens_with_setup_and_test_commands_and_ci_runs_the_same():
    first_block = README.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    assert first_block[0].startswith("make run") and first_block[1].startswith("make test")
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_make_run_serves_the_page_the_readme_promises():
    """`make run` ends in `nnlab serve` (after training the served default only when runs/ has none)."""
    import subprocess

    first = README.split("```sh\n", 1)[1].splitlines()[0]
    assert "http://127.0.0.1:8000/" in first
    make = ["make", "--no-print-directory", "-n"]  # no "Entering directory" lines when the tests run under make
    dry = subprocess.run([*make, "-o", "setup", "run"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    commands = dry.stdout.strip().splitlines()
    assert commands[-1].endswith("nnlab serve") and "best_fashion_run" in dry.stdout and "served-model" in dry.stdout
    served = subprocess.run([*make, "served-model"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "--preset cnn-fast" in served.stdout and "nnlab calibrate" in served.stdout


def test_every_import_in_the_readme_works():
    lines = [line.split("#")[0].strip() for line in README.splitlines()]
    imports = [line for line in lines if re.match(r"(from nnlab[\w.]* import |import nnlab)", line)]
    assert len(imports) >= 5
    exec("\n".join(imports), {})  # an ImportError here means the README names a moved or renamed API


def test_benchmark_table_is_made_from_the_latest_results():
    spec = importlib.util.spec_from_file_location("readme_table", ROOT / "bench" / "readme_table.py")
    readme_table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(readme_table)
    assert readme_table.rewrite(README, readme_table.render()) == README, \
        "run .venv/bin/python bench/readme_table.py after a benchmark"
    assert len(list((ROOT / "bench" / "results").glob("*.json"))) >= 3


def test_every_benchmark_in_the_table_names_a_script_that_exists():
    """The table's first column is the command that measured the row; its script must be there to run again."""
    commands = re.findall(r"^\| `(bench/[^`]+)` \|", README, re.M)
    assert len(commands) >= 3
    for command in commands:
        script = command.split()[0]
        assert (ROOT / script).is_file(), f"the README's benchmark table names {script}, which does not exist"


# ---------------------------------------------------------------- models in plain Keras

LOAD_PLAIN = """
import json, sys
import keras
results = {}
for path in sys.argv[1:]:
    try:
        keras.models.load_model(path)
        results[path] = "ok"
    except Exception as error:  # noqa: BLE001  the test reads Keras' words
        results[path] = f"{type(error).__name__}: {error}"
print(json.dumps({"results": results, "nnlab_imported": any(m.split(".")[0] == "nnlab" for m in sys.modules)}))
"""


def _plain_keras_paragraph():
    start = README.index("Models saved by nnlab load with plain")
    return README[start:README.index("\n\n", start)]


def test_the_readme_names_exactly_the_saved_models_that_need_import_nnlab(tmp_path):
    """Each preset's saved model (and a subclassed and a calibrated one) in a fresh Python that never imports
    nnlab: those the README names fail with Keras' "Could not locate class", the others load."""
    import os
    import subprocess
    import sys

    from nnlab.core.calibration import calibrated_model
    from nnlab.core.saving import save_model
    from nnlab.fashion.config import PRESETS
    from nnlab.fashion.models import build_model
    from nnlab.fashion.task import TASK

    paragraph = _plain_keras_paragraph()
    named = {name for name in re.findall(r"`([a-z0-9-]+)`", paragraph) if name in PRESETS}
    files = {}
    for preset in PRESETS:
        config = TASK.config(preset)
        model = build_model(config.model, api=config.api, dropout=config.dropout)
        files[preset] = save_model(model, tmp_path / f"{preset}.keras")
    files["subclass"] = save_model(build_model("dnn", api="subclass"), tmp_path / "subclass.keras")
    files["calibrated dnn"] = save_model(calibrated_model(build_model("dnn"), {"class": 1.5}),
                                         tmp_path / "calibrated-dnn.keras")
    files["calibrated cnn-fast"] = save_model(calibrated_model(build_model("cnn-fast"), {"class": 1.5}),
                                              tmp_path / "calibrated-cnn-fast.keras")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"} | {"KERAS_BACKEND": "jax"}
    done = subprocess.run([sys.executable, "-c", LOAD_PLAIN, *map(str, files.values())], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert not answer["nnlab_imported"]
    outcome = {name: answer["results"][str(path)] for name, path in files.items()}
    needs_nnlab = named | {"subclass", "calibrated cnn-fast"}
    assert 'api="subclass"' in paragraph and "calibrated.keras" in paragraph
    for name, result in outcome.items():
        if name in needs_nnlab:
            assert "Could not locate class" in result, (name, result)
        else:
            assert result == "ok", (name, result)
