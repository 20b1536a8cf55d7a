"""nnlab.core.schedules: each schedule's rate per step against its formula, epochs in optimizer steps, settings.

The formulas below are written from the schedules' definitions (Keras' CosineDecay and
ExponentialDecay docs, the agreed meaning of warmup_epochs / decay_rate / decay_epochs),
not from nnlab's code; hypothesis varies the rate, the epochs and the steps per epoch.
"""

import math

import keras
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from nnlab.core.errors import NnlabError
from nnlab.core.schedules import SCHEDULES, learning_rate
from nnlab.core.task import Splits
from nnlab.core.training import build_optimizer, train
from nnlab.fashion.task import TASK


def config(epochs=5, **optimizer):
    return TASK.config("dnn", epochs=epochs, verbose=0, optimizer=optimizer)


def expected(schedule, rate, epochs, per_epoch, step, decay_rate=0.1, decay_epochs=10.0, warmup_epochs=0.0):
    """The rate at optimizer step ``step`` (0-based), straight from each schedule's definition."""
    total = epochs * per_epoch
    if schedule == "constant":
        return rate
    if schedule == "cosine":
        return rate * 0.5 * (1 + math.cos(math.pi * min(step, total) / total))
    if schedule in ("exponential", "step"):
        decay = max(1, round(decay_epochs * per_epoch))
        power = step / decay if schedule == "exponential" else step // decay
        return rate * decay_rate ** power
    warmup = round(warmup_epochs * per_epoch)
    if step < warmup:
        return rate * step / warmup
    decay = total - warmup
    return rate * 0.5 * (1 + math.cos(math.pi * min(step - warmup, decay) / decay))


def rates(schedule, steps):
    return [float(keras.ops.convert_to_numpy(schedule(step))) for step in steps]


@settings(max_examples=40, deadline=None)
@given(schedule=st.sampled_from(SCHEDULES), rate=st.floats(1e-4, 1.0), epochs=st.integers(1, 30),
       per_epoch=st.integers(1, 2000), decay_rate=st.floats(0.01, 1.0), decay_epochs=st.floats(0.1, 12.0),
       warmup_fraction=st.floats(0.0, 0.95), data=st.data())
def test_each_schedule_follows_its_formula(schedule, rate, epochs, per_epoch, decay_rate, decay_epochs,
                                           warmup_fraction, data):
    warmup_epochs = warmup_fraction * epochs if schedule == "warmup_cosine" else 0.0
    built = learning_rate(config(epochs, learning_rate=rate, schedule=schedule, decay_rate=decay_rate,
                                 decay_epochs=decay_epochs, warmup_epochs=warmup_epochs), per_epoch)
    total = epochs * per_epoch
    steps = sorted({0, 1, per_epoch - 1, per_epoch, total // 2, total - 1, total,
                    *data.draw(st.lists(st.integers(0, total + per_epoch), max_size=5))})
    got = [built] * len(steps) if schedule == "constant" else rates(built, steps)
    want = [expected(schedule, rate, epochs, per_epoch, step, decay_rate, decay_epochs, warmup_epochs)
            for step in steps]
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-7 * rate, err_msg=f"{schedule} at steps {steps}")


@settings(max_examples=25, deadline=None)
@given(rate=st.floats(1e-4, 1.0), per_epoch=st.integers(1, 500), decay_epochs=st.integers(1, 4),
       decay_rate=st.floats(0.05, 0.9))
def test_step_changes_the_rate_at_epoch_boundaries_only(rate, per_epoch, decay_epochs, decay_rate):
    # Epoch e runs steps e * per_epoch .. (e + 1) * per_epoch - 1, all at rate * decay_rate ** (e // decay_epochs).
    built = learning_rate(config(8, learning_rate=rate, schedule="step", decay_rate=decay_rate,
                                 decay_epochs=decay_epochs), per_epoch)
    for epoch in range(8):
        first, last = rates(built, [epoch * per_epoch, (epoch + 1) * per_epoch - 1])
        want = rate * decay_rate ** (epoch // decay_epochs)
        assert first == pytest.approx(want, rel=2e-5) and last == pytest.approx(want, rel=2e-5), epoch


@settings(max_examples=25, deadline=None)
@given(name=st.sampled_from(["sgd", "rmsprop", "adagrad", "adam"]), rate=st.one_of(st.none(), st.floats(1e-4, 1.0)),
       epochs=st.integers(1, 30), per_epoch=st.integers(1, 2000))
def test_cosine_is_bit_identical_to_the_schedule_before_the_others_existed(name, rate, epochs, per_epoch):
    settings_ = config(epochs, name=name, learning_rate=rate, schedule="cosine")
    # What build_optimizer built before nnlab.core.schedules (commit 61ce215), word for word:
    initial = rate or float(keras.optimizers.get(name).learning_rate)
    before = keras.optimizers.schedules.CosineDecay(initial, epochs * per_epoch)
    now = build_optimizer(settings_, per_epoch)
    steps = np.unique(np.linspace(0, epochs * per_epoch + 3, 50).astype(int))
    for step in steps:
        now.iterations.assign(step)
        assert np.array_equal(keras.ops.convert_to_numpy(now.learning_rate),
                              keras.ops.convert_to_numpy(before(step))), step


def test_constant_keeps_keras_default_when_no_rate_is_set():
    assert learning_rate(config(schedule="constant")) is None
    assert learning_rate(config(schedule="constant", learning_rate=0.02)) == 0.02
    assert float(build_optimizer(config(name="sgd")).learning_rate) == pytest.approx(0.01)  # SGD's own default


def test_a_schedule_needs_the_steps_per_epoch():
    with pytest.raises(NnlabError, match="schedule 'step' needs the number of steps per epoch"):
        learning_rate(config(schedule="step"))


def test_the_history_logs_the_rate_of_each_epochs_last_step_in_optimizer_steps(tmp_path):
    # 100 samples in batches of 8: 13 optimizer steps per epoch (the last one of 4 samples), however
    # scan_batches (3) and steps_per_execution (2) group them; the schedule counts those 13.
    rng = np.random.default_rng(0)
    x, y = rng.random((100, 28, 28), dtype=np.float32), rng.integers(0, 10, 100)
    splits = Splits(x, y, x[:20], y[:20], x[:20], y[:20])
    run = TASK.config("dnn", epochs=3, verbose=0, name="step", runs_dir=str(tmp_path), batch_size=8,
                      scan_batches=3, steps_per_execution=2,
                      optimizer={"learning_rate": 0.05, "schedule": "step", "decay_rate": 0.5, "decay_epochs": 1})
    result = train(run, splits=splits)
    assert int(result.model.optimizer.iterations) == 3 * 13
    assert result.history["learning_rate"] == pytest.approx([0.05, 0.025, 0.0125], rel=1e-6)


# ---------------------------------------------------------------- the settings these modules read


@pytest.mark.parametrize("overrides, message", [
    ({"optimizer": {"schedule": "cosine"}, "reduce_lr": {}},
     "reduce_lr needs optimizer.schedule constant, got 'cosine'.*Set optimizer.schedule=constant or drop reduce_lr"),
    ({"reduce_lr": {"factor": 1.0}}, r"reduce_lr.factor must be in \(0, 1\), got 1.0"),
    ({"reduce_lr": {"patience": -1}}, "reduce_lr.patience must be an integer >= 0, got -1"),
    ({"reduce_lr": {"min_lr": -0.1}}, "reduce_lr.min_lr must be >= 0, got -0.1"),
    ({"reduce_lr": {"monitor": "val_acuracy"}}, "got 'val_acuracy'. Did you mean 'val_accuracy'"),
    ({"reduce_lr": {"pateince": 2}}, "Unknown config key 'reduce_lr.pateince'. Did you mean 'reduce_lr.patience'"),
    ({"reduce_lr": {"patience": "2"}}, r"reduce_lr.patience must be an integer >= 0, got '2'"),
    ({"optimizer": {"schedule": "warmup_cosine", "warmup_epochs": 5}},
     r"optimizer.warmup_epochs must be less than --epochs \(5\)"),
    ({"optimizer": {"schedule": "cosine", "warmup_epochs": 1}},
     "optimizer.warmup_epochs applies to schedule warmup_cosine only, not cosine"),
    ({"optimizer": {"schedule": "step", "decay_rate": 0}}, r"optimizer.decay_rate must be in \(0, 1\], got 0"),
    ({"optimizer": {"schedule": "exponential", "decay_epochs": 0}}, "optimizer.decay_epochs must be > 0, got 0"),
    ({"optimizer": {"schedule": "cosin"}}, "got 'cosin'. Did you mean 'cosine'"),
])
def test_wrong_settings_are_refused_naming_the_key(overrides, message):
    with pytest.raises(NnlabError, match=message):
        TASK.config("dnn", epochs=5, **overrides).resolved()


def test_reduce_lr_defaults_to_off_and_its_monitor_to_the_checkpoints():
    assert TASK.config("dnn").resolved().reduce_lr is None
    resolved = TASK.config("dnn", checkpoint={"monitor": "val_accuracy"}, reduce_lr={"patience": 2}).resolved()
    assert resolved.reduce_lr.monitor == "val_accuracy" and resolved.reduce_lr.patience == 2
    assert resolved.reduce_lr.factor == 0.1 and resolved.reduce_lr.min_delta == 1e-4
