"""nnlab.core.callbacks: ReduceLROnPlateau on a plateau, its state across --resume, the logged learning rate.

The plateau is made, not hoped for: random images with random labels, so the validation
loss has nothing to learn and stops improving within a few epochs. The rates expected
are computed from the logged val_loss with ReduceLROnPlateau's rule as Keras documents
it (written out below), not read from nnlab.
"""

import json

import keras
import numpy as np
import pytest

from nnlab.core.callbacks import STATE_FILE, read_state
from nnlab.core.errors import Interrupted
from nnlab.core.task import Splits
from nnlab.core.training import resume, train
from nnlab.fashion.task import TASK

RATE = 0.01
PLATEAU = {"factor": 0.5, "patience": 2, "min_delta": 0.0, "cooldown": 3, "min_lr": 0.0}
EPOCHS = 12
# Epochs after which the run is stopped and resumed: there, ReduceLROnPlateau's best (3, 7), wait (3, 7) and
# cooldown counter (8) each decide a later rate (test_each_part_of_the_state_decides_a_later_rate checks it).
STOPS = (3, 7, 8)


def plateau(values, rate, factor, patience, min_delta, cooldown, min_lr, start=None):
    """ReduceLROnPlateau (mode min) watching ``values``: per epoch, the rate it ran with and the state after it.

    The state is what a resumed run needs: ``{"wait", "cooldown_counter", "best", "learning_rate"}``, the
    rate being the next epoch's; ``start`` is one to begin from. Rates in float32, as Keras keeps them.
    """
    rate = float(np.float32(rate))
    best, wait, cooling, rates, states = None, 0, 0, [], []
    if start is not None:
        best, wait, cooling, rate = start["best"], start["wait"], start["cooldown_counter"], start["learning_rate"]
    for value in values:
        rates.append(rate)  # the epoch ran with it; a reduction acts from the next epoch
        if cooling > 0:
            cooling, wait = cooling - 1, 0
        if best is None or value < best - min_delta:
            best, wait = value, 0
        elif cooling == 0:
            wait += 1
            if wait >= patience and rate > min_lr:
                rate, cooling, wait = float(np.float32(max(rate * factor, min_lr))), cooldown, 0
        states.append({"wait": wait, "cooldown_counter": cooling, "best": best, "learning_rate": rate})
    return rates, states


@pytest.fixture(scope="module")
def random_splits():
    """300 random images with random labels; validation likewise: nothing carries over, val_loss plateaus."""
    rng = np.random.default_rng(18)
    x, y = rng.random((300, 28, 28), dtype=np.float32), rng.integers(0, 10, 300)
    x_val, y_val = rng.random((100, 28, 28), dtype=np.float32), rng.integers(0, 10, 100)
    return Splits(x, y, x_val, y_val, x_val, y_val)


def config(runs_dir, name, **overrides):
    settings = dict(epochs=EPOCHS, verbose=0, name=name, runs_dir=str(runs_dir), batch_size=30,
                    optimizer={"name": "adam", "learning_rate": RATE}, reduce_lr=PLATEAU)
    return TASK.config("dnn", **{**settings, **overrides})


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
    return tmp_path_factory.mktemp("plateau")


@pytest.fixture(scope="module")
def reference(runs_dir, random_splits):
    return train(config(runs_dir, "reference"), splits=random_splits)


def test_reduce_lr_lowers_the_rate_on_a_plateau(reference):
    history = reference.history
    rates, states = plateau(history["val_loss"], RATE, **PLATEAU)
    assert history["learning_rate"] == pytest.approx(rates, rel=1e-6)
    assert min(rates) < RATE / 2  # the setup: the rate was lowered twice during the run
    assert reference.config.reduce_lr.monitor == "val_loss"  # null: the checkpoint's monitor
    assert TASK.load_config(reference.run_dir / "config.json") == reference.config  # config.json repeats it
    assert float(reference.model.optimizer.learning_rate) == pytest.approx(states[-1]["learning_rate"], rel=1e-6)
    written = json.loads((reference.run_dir / "history.json").read_text())
    assert written["learning_rate"] == history["learning_rate"]
    assert "learning_rate" not in reference.metrics["train"]  # figures of the model only


@pytest.mark.parametrize("part", ["wait", "cooldown_counter", "best"])
def test_each_part_of_the_state_decides_a_later_rate(reference, part):
    # Else the resume test could pass with that part lost: a fresh value (0, 0, None) at one of STOPS
    # must change a later epoch's rate.
    values = reference.history["val_loss"]
    rates, states = plateau(values, RATE, **PLATEAU)
    fresh = {"wait": 0, "cooldown_counter": 0, "best": None}[part]
    assert any(plateau(values[k + 1:], RATE, **PLATEAU, start={**states[k], part: fresh})[0] != rates[k + 1:]
               for k in STOPS)


@pytest.mark.parametrize("epoch", STOPS)
def test_resume_continues_reduce_lr_where_it_stopped(reference, runs_dir, random_splits, epoch):
    name = f"stopped-{epoch}"
    with pytest.raises(Interrupted):
        train(config(runs_dir, name), splits=random_splits, extra_callbacks=[CtrlCAfter(epoch)])
    saved = read_state(runs_dir / name)[0]["reduce_lr"]
    want = plateau(reference.history["val_loss"], RATE, **PLATEAU)[1][epoch]
    assert saved == {**want, "best": pytest.approx(want["best"]), "learning_rate": pytest.approx(want["learning_rate"])}
    resumed = resume(runs_dir / name, splits=random_splits)
    assert resumed.history == reference.history  # learning_rate included, float for float
    assert float(resumed.model.optimizer.learning_rate) == float(reference.model.optimizer.learning_rate)
    for a, b in zip(resumed.model.get_weights(), reference.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not (runs_dir / name / STATE_FILE).exists()


def test_a_run_stopped_before_rates_were_logged_gets_them_on_resume(runs_dir, random_splits):
    settings = dict(reduce_lr=None, optimizer={"name": "adam", "learning_rate": RATE, "schedule": "step",
                                               "decay_rate": 0.5, "decay_epochs": 1}, epochs=3)
    whole = train(config(runs_dir, "step-whole", **settings), splits=random_splits)
    with pytest.raises(Interrupted):
        train(config(runs_dir, "step-old", **settings), splits=random_splits, extra_callbacks=[CtrlCAfter(0)])
    # As an nnlab before learning_rate was logged left it: the state's history without the key.
    path = runs_dir / "step-old" / STATE_FILE
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    meta = json.loads(str(arrays["meta"]))
    del meta["history"]["learning_rate"]
    arrays["meta"] = np.array(json.dumps(meta))
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    resumed = resume(runs_dir / "step-old", splits=random_splits)
    assert resumed.history["learning_rate"] == pytest.approx([RATE, RATE / 2, RATE / 4], rel=1e-6)
    assert resumed.history == whole.history
