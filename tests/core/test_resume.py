"""Stopping a run and continuing it: Ctrl-C, ``kill -9`` (a real subprocess), folders that cannot continue.

A resumed run must end exactly as a run that was never stopped: same history, best and
stopped epoch, final and best weights. The settings make every piece of saved state
matter: dropout (the random generator), Adam with a cosine schedule (the optimizer's
moments and step count), shuffling (NumPy's generator) and early stopping with
patience 1 (its best value and best weights).
"""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from helpers import noisy_validation
from nnlab.core.callbacks import STATE_FILE
from nnlab.core.errors import AlreadyFinished, Interrupted, NnlabError
from nnlab.core.runs import TMP_MARK, clean_temporary, read_run
from nnlab.core.saving import load_model
from nnlab.core.training import resume, train
from nnlab.fashion.task import TASK

RUN_FILES = {"config.json", "history.csv", "history.json", "metrics.json", "curves.png",
             "best.keras", "final.keras", "final.weights.h5"}
# Early stopping at epoch 2 (0-based) of 6 on the splits below (checked by `reference`).
SETTINGS = dict(epochs=6, verbose=0, optimizer={"name": "adam", "learning_rate": 0.005, "schedule": "cosine"},
                early_stopping={"patience": 1, "restore_best_weights": True})
STOP = 2


@pytest.fixture(scope="module")
def noisy_splits(small_splits):
    """600 samples whose validation labels are 10% wrong: val_loss falls, then rises as the model grows sure."""
    return noisy_validation(small_splits)


def config(runs_dir, name, **overrides):
    return TASK.config("seeds-final", name=name, runs_dir=str(runs_dir), **{**SETTINGS, **overrides})


class CtrlCAfter(keras.callbacks.Callback):
    """Raises KeyboardInterrupt at the end of ``epoch`` (0-based), after nnlab recorded that epoch."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("resume")


@pytest.fixture(scope="module")
def reference(runs_dir, noisy_splits):
    """The run never stopped; early stopping ends it before its last epoch."""
    result = train(config(runs_dir, "reference"), splits=noisy_splits)
    assert result.metrics["stopped_epoch"] == STOP and result.metrics["epochs_run"] == STOP + 1  # the setup
    assert result.metrics["best_epoch"] == STOP - 1
    return result


def interrupted_run(runs_dir, splits, name, epoch):
    with pytest.raises(Interrupted) as raised:
        train(config(runs_dir, name), splits=splits, extra_callbacks=[CtrlCAfter(epoch)])
    assert raised.value.epochs_done == epoch + 1 and raised.value.run_dir == runs_dir / name
    return runs_dir / name


def weights(path):
    return load_model(path).get_weights()


def assert_same_run(resumed, reference):
    """Everything but timings equal, float for float."""
    assert resumed.history == reference.history
    for key in ("status", "epochs_run", "monitor", "best_epoch", "stopped_epoch", "train", "val", "test",
                "best_checkpoint"):
        assert resumed.metrics[key] == reference.metrics[key], key
    assert json.loads((resumed.run_dir / "metrics.json").read_text())["status"] == "finished"
    for a, b in zip(resumed.model.get_weights(), reference.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    for name in ("final.keras", "best.keras"):
        for a, b in zip(weights(resumed.run_dir / name), weights(reference.run_dir / name), strict=True):
            np.testing.assert_array_equal(a, b, err_msg=name)
    assert {p.name for p in resumed.run_dir.iterdir()} == RUN_FILES  # the state file is gone, no leftovers
    for name in ("history.json", "history.csv"):
        assert (resumed.run_dir / name).read_text() == (reference.run_dir / name).read_text()


# ---------------------------------------------------------------- Ctrl-C in this process


@pytest.mark.parametrize("epoch", [1, STOP], ids=["before-early-stop", "at-early-stop"])
def test_resume_after_ctrl_c_ends_as_the_run_never_stopped(reference, runs_dir, noisy_splits, epoch):
    run_dir = interrupted_run(runs_dir, noisy_splits, f"ctrl-c-{epoch}", epoch)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "interrupted" and metrics["epochs_run"] == epoch + 1
    assert read_run(run_dir)["status"] == "interrupted"
    assert (run_dir / STATE_FILE).is_file() and not (run_dir / "final.keras").exists()
    history = json.loads((run_dir / "history.json").read_text())
    assert history == {key: values[:epoch + 1] for key, values in reference.history.items()}

    resumed = resume(run_dir, splits=noisy_splits)
    assert resumed.run_dir == run_dir and resumed.config == reference.config.model_copy(update={"name": run_dir.name})
    assert_same_run(resumed, reference)


def test_ctrl_c_in_the_first_epoch_starts_over_on_resume(reference, runs_dir, noisy_splits):
    class CtrlCFirstBatch(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            raise KeyboardInterrupt

    with pytest.raises(Interrupted) as raised:
        train(config(runs_dir, "first-epoch"), splits=noisy_splits, extra_callbacks=[CtrlCFirstBatch()])
    assert raised.value.epochs_done == 0
    run_dir = runs_dir / "first-epoch"
    assert {p.name for p in run_dir.iterdir()} == {"config.json", "metrics.json"}
    assert_same_run(resume(run_dir, splits=noisy_splits), reference)


# ---------------------------------------------------------------- folders that cannot be continued


def test_resume_of_a_finished_run_rewrites_nothing(reference):
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in reference.run_dir.iterdir()}
    with pytest.raises(AlreadyFinished, match=r"reference finished already \(3 epochs\); nothing to resume"):
        resume(reference.run_dir)
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in reference.run_dir.iterdir()} == before


@pytest.fixture(scope="module")
def stopped(runs_dir, noisy_splits):
    """A run stopped by Ctrl-C after its first epoch; tests copy it before changing it."""
    return interrupted_run(runs_dir, noisy_splits, "stopped", 0)


def copy_of(stopped, tmp_path):
    return shutil.copytree(stopped, tmp_path / "copy")


def test_history_without_a_state_file_cannot_continue(stopped, tmp_path):
    run_dir = copy_of(stopped, tmp_path)
    (run_dir / STATE_FILE).unlink()
    before = sorted(p.name for p in run_dir.iterdir())
    with pytest.raises(NnlabError, match=r"resume-state\.npz is missing, so the 1 finished epochs cannot be "
                                         r"continued\. Start a new run with the same settings: "
                                         r"`nnlab train --config .*config\.json`"):
        resume(run_dir)
    assert sorted(p.name for p in run_dir.iterdir()) == before


def _rewrite_meta(path, **changes):
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    arrays["meta"] = np.array(json.dumps({**json.loads(str(arrays["meta"])), **changes}))
    with open(path, "wb") as f:
        np.savez(f, **arrays)


@pytest.mark.parametrize("changes, message", [
    ({"nnlab": "0.0.1"}, r"was written by nnlab 0\.0\.1 \(state format 1\); this is nnlab \S+ \(format 1\), "
                         r"which cannot continue it"),
    ({"format": 99}, r"\(state format 99\); this is nnlab \S+ \(format 1\)"),
])
def test_a_state_file_from_another_version_cannot_continue(stopped, tmp_path, changes, message):
    run_dir = copy_of(stopped, tmp_path)
    _rewrite_meta(run_dir / STATE_FILE, **changes)
    with pytest.raises(NnlabError, match=message + r".*nnlab train --config"):
        resume(run_dir)


def test_an_unreadable_state_file_cannot_continue(stopped, tmp_path):
    run_dir = copy_of(stopped, tmp_path)
    (run_dir / STATE_FILE).write_bytes(b"PK\x03\x04 cut short")
    with pytest.raises(NnlabError, match=r"resume-state\.npz is unreadable .*; this run cannot be resumed"):
        resume(run_dir)


def test_a_folder_without_config_cannot_continue(stopped, tmp_path):
    run_dir = copy_of(stopped, tmp_path)
    (run_dir / "config.json").unlink()
    with pytest.raises(NnlabError, match=r"copy cannot be resumed: config\.json is missing"):
        resume(run_dir)


# ---------------------------------------------------------------- kill -9, in real subprocesses


def _env():
    env = {**os.environ, "NNLAB_OFFLINE": "1"}
    env.pop("PYTHONPATH", None)
    return env


def _wait_for(path, process, log, timeout=300):
    """Poll until ``path`` exists; fails with the child's output if the child ended first."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            pytest.fail(f"the child ended with {process.returncode} before {path.name}:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"no {path.name} after {timeout} s:\n{log.read_text()[-3000:]}")
        time.sleep(0.05)


TRAIN_CHILD = textwrap.dedent('''
    """Train as the parent says; once epoch 2 is recorded, say so and wait to be killed."""
    import json
    import sys
    import time

    import nnlab  # noqa: F401  (the JAX backend)
    import keras

    sys.path.insert(0, sys.argv[3])  # tests/, for the same splits as the parent's
    from helpers import noisy_validation
    from nnlab.core.training import train
    from nnlab.fashion.data import load_splits
    from nnlab.fashion.task import TASK

    settings, flag = json.loads(sys.argv[1]), sys.argv[2]


    class WaitForTheKill(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):  # runs after nnlab wrote this epoch's files
            if epoch == 1:
                open(flag, "w").close()
                time.sleep(600)


    splits = noisy_validation(load_splits(limit=600))
    train(TASK.config("seeds-final", **settings), splits=splits, extra_callbacks=[WaitForTheKill()])
''')


def test_resume_after_kill_9_ends_as_the_run_never_stopped(reference, noisy_splits, tmp_path):
    settings = {**SETTINGS, "name": "killed", "runs_dir": str(tmp_path / "runs")}
    script, flag, log = tmp_path / "child.py", tmp_path / "epoch-2-done", tmp_path / "child.log"
    script.write_text(TRAIN_CHILD)
    tests = Path(__file__).parents[1]
    with open(log, "w") as out:
        child = subprocess.Popen([sys.executable, str(script), json.dumps(settings), str(flag), str(tests)],
                                 env=_env(), cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for(flag, child, log)
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL

    run_dir = tmp_path / "runs" / "killed"
    assert read_run(run_dir)["status"] == "incomplete"  # no metrics.json: killed, not stopped by Ctrl-C
    assert len(json.loads((run_dir / "history.json").read_text())["loss"]) == 2
    assert (run_dir / STATE_FILE).is_file() and not (run_dir / "final.keras").exists()
    # Early stopping ends the reference run after epoch 3, one more than the child finished.
    assert_same_run(resume(run_dir, splits=noisy_splits), reference)


SAVE_CHILD = textwrap.dedent('''
    """For each line on stdin, fork a saver that writes two models in turn to one file until it is killed."""
    import os
    import sys
    from pathlib import Path

    import nnlab  # noqa: F401

    from nnlab.core.saving import save_model
    from nnlab.fashion.models import build_model

    folder = Path(sys.argv[1])
    models = [build_model("mnist-512") for _ in range(2)]  # two sets of random weights
    for i, model in enumerate(models):
        save_model(model, folder / f"{i}.keras")
    save_model(models[0], folder / "model.keras")
    for _ in sys.stdin:
        pid = os.fork()
        if pid == 0:  # the saver: nothing but save_model, until SIGKILL
            n = 1
            while True:
                save_model(models[n % 2], folder / "model.keras")
                n += 1
        print(pid, flush=True)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status), flush=True)
''')


def test_kill_9_while_saving_leaves_a_whole_loadable_file(tmp_path):
    # Savers are forked from one process that imported Keras once (one import instead of one per kill);
    # Keras' numpy backend starts no threads, so forking it is safe. The file format is the same.
    script, folder = tmp_path / "savers.py", tmp_path / "models"
    script.write_text(SAVE_CHILD)
    folder.mkdir()
    parent = subprocess.Popen([sys.executable, str(script), str(folder)], env={**_env(), "KERAS_BACKEND": "numpy"},
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    moments, leftovers, models = random.Random(0), set(), None
    try:
        for _ in range(4):
            parent.stdin.write("fork\n")
            parent.stdin.flush()
            saver = int(parent.stdout.readline())
            time.sleep(moments.uniform(0.05, 0.5))  # a random moment of the save loop
            os.kill(saver, signal.SIGKILL)
            assert parent.stdout.readline() == f"{-signal.SIGKILL}\n"  # the saver is dead
            # The file is one of the two models, whole: never a half-written one.
            models = models or [weights(folder / f"{i}.keras") for i in (0, 1)]
            saved = weights(folder / "model.keras")
            assert any(all(np.array_equal(a, b) for a, b in zip(saved, model, strict=True)) for model in models)
            leftovers |= {p.name for p in folder.iterdir() if TMP_MARK in p.name}
    finally:
        parent.stdin.close()
        assert parent.wait(timeout=60) == 0
        parent.stdout.close()
    # The kills landed inside saves (leaving their temporary files), and those are all that is left over.
    assert leftovers and all(name.startswith(".model" + TMP_MARK) for name in leftovers)
    assert sorted(clean_temporary(folder)) == sorted(leftovers)
    assert sorted(p.name for p in folder.iterdir()) == ["0.keras", "1.keras", "model.keras"]
