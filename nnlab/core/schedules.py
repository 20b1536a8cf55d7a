"""Learning-rate schedules: the optimizer's learning rate from a run's settings, epochs turned into steps.

``optimizer.schedule`` picks one of Keras' schedules; its lengths are set in epochs
(``warmup_epochs``, ``decay_epochs``) and turned into optimizer steps here. The
optimizer counts one step per batch of ``batch_size`` samples, whatever
``scan_batches`` and ``steps_per_execution`` group together (a scanned group of k
batches is k steps; a last, partial batch is one step), so an epoch is
``ceil(samples / batch_size)`` steps:

    constant       learning_rate throughout (ReduceLROnPlateau may lower it: ``reduce_lr``)
    cosine         CosineDecay from learning_rate to 0 over all ``epochs * steps_per_epoch`` steps
    exponential    ExponentialDecay: learning_rate * decay_rate ** (step / decay steps), smooth
    step           ExponentialDecay with staircase: times decay_rate at every decay_epochs boundary
    warmup_cosine  CosineDecay with a warmup: linear from 0 to learning_rate over warmup_epochs,
                   then cosine to 0 at the end of the last epoch

    >>> from nnlab.fashion.task import TASK
    >>> config = TASK.config("dnn", epochs=4, optimizer={"learning_rate": 0.1, "schedule": "step",
    ...                                                   "decay_rate": 0.5, "decay_epochs": 2})
    >>> rate = learning_rate(config, steps_per_epoch=100)
    >>> [round(float(rate(step)), 4) for step in (0, 199, 200, 399)]
    [0.1, 0.1, 0.05, 0.05]
"""

import keras

from nnlab.core.config import SCHEDULES  # the choices, declared with the settings
from nnlab.core.errors import NnlabError

__all__ = ["SCHEDULES", "epochs_to_steps", "initial_rate", "learning_rate", "rate_at"]


def epochs_to_steps(epochs, steps_per_epoch):
    """Optimizer steps in ``epochs`` (a float) epochs: rounded to whole steps, so boundaries fall on a batch."""
    return round(epochs * steps_per_epoch)


def initial_rate(optimizer):
    """``optimizer.learning_rate``, or Keras' default for ``optimizer.name`` when it is None."""
    if optimizer.learning_rate is not None:
        return optimizer.learning_rate
    return float(keras.optimizers.get(optimizer.name).learning_rate)


def learning_rate(config, steps_per_epoch=None):
    """What to pass as the Keras optimizer's ``learning_rate``: a float, a schedule, or None (Keras' default).

    ``config`` is a run's settings (``config.optimizer`` and ``config.epochs`` are read);
    ``steps_per_epoch`` is the optimizer steps of one epoch, needed by every schedule but
    ``constant``. Raises NnlabError for an unknown schedule or a missing step count.
    """
    opt = config.optimizer
    if opt.schedule == "constant":
        return opt.learning_rate  # None: Keras' default for the optimizer
    if opt.schedule not in SCHEDULES:
        raise NnlabError(f"optimizer.schedule must be one of {', '.join(SCHEDULES)}; got {opt.schedule!r}.")
    if steps_per_epoch is None:
        raise NnlabError(f"schedule {opt.schedule!r} needs the number of steps per epoch.")
    initial = initial_rate(opt)
    total = config.epochs * steps_per_epoch
    schedules = keras.optimizers.schedules
    if opt.schedule == "cosine":  # as before the other schedules existed: the same floats, step for step
        return schedules.CosineDecay(initial, total)
    if opt.schedule in ("exponential", "step"):
        return schedules.ExponentialDecay(initial, max(1, epochs_to_steps(opt.decay_epochs, steps_per_epoch)),
                                          opt.decay_rate, staircase=opt.schedule == "step")
    warmup = epochs_to_steps(opt.warmup_epochs, steps_per_epoch)
    # From 0.0 (a float: an int would make the schedule compute in int32) up to `initial`, then down to 0 at the
    # end; at least one decay step, as CosineDecay requires, should rounding eat them all.
    return schedules.CosineDecay(0.0, max(1, total - warmup), warmup_target=initial, warmup_steps=warmup)


def rate_at(rate, optimizer, step):
    """The learning rate ``optimizer`` applies at ``step`` (0-based), ``rate`` being what it was built with."""
    if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule):
        return float(keras.ops.convert_to_numpy(rate(step)))
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))  # a variable ReduceLROnPlateau may set
