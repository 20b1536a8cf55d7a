"""TensorBoard event files of a run (setting ``tensorboard: true``): ``tensorboard --logdir runs`` shows them.

    nnlab train --config settings.json        with {"tensorboard": true}; --set tensorboard=true with issue 18

writes, under ``RUN/tensorboard/``:

    train/        every metric Keras logs per epoch (``epoch_loss``, ``epoch_accuracy``, ...), the
                  learning rate (``epoch_learning_rate``: the rate of the epoch's last step, as in
                  history.json) and a histogram of every weight (``<layer>/kernel/histogram``)
    validation/   the same metrics on the validation split, and per epoch the confusion matrix of
                  each class output as an image (``confusion/<output>``; rows true, columns predicted)

The names are those of Keras' own ``TensorBoard`` callback, but nnlab writes them itself with
``tf.summary`` (:class:`EpochSummaries`): Keras' callback logs as the learning rate the optimizer's
rate after the epoch (under a schedule the next epoch's first step, after ReduceLROnPlateau the
lowered rate), where history.json and curves.png have the rate the epoch ran with. It works on the
JAX backend (``tf.summary`` writes numbers; nothing is traced). TensorFlow, which nnlab installs for
the ticket system's text layers, is imported only here, when a run asks for event files.

    >>> from nnlab.core.tensorboard import tensorboard_callbacks
    >>> callbacks = tensorboard_callbacks("runs/demo", task, validation=(x_val, y_val))
"""

from pathlib import Path

import keras
import numpy as np

LOG_DIR = "tensorboard"  # in the run folder
CONFUSION_ITEMS = 10_000  # validation items per confusion matrix: bounds the extra predict per epoch


def tensorboard_callbacks(run_dir, task, validation=None):
    """The epoch's numbers (learning rate included) and weight histograms, and the confusion-matrix images.

    ``validation``: ``(x_val, y_val)`` or None (then no confusion matrices: they are drawn on validation data).
    """
    import tensorflow as tf  # noqa: F401  only here: a run without event files never imports TensorFlow

    log_dir = Path(run_dir) / LOG_DIR
    callbacks = [EpochSummaries(log_dir)]
    outputs = [output for output in task.outputs if output.labels is not None]
    if validation is not None and outputs:
        callbacks.append(ConfusionImages(log_dir / "validation", task, *validation))
    return callbacks


class EpochSummaries(keras.callbacks.Callback):
    """Every logged number per epoch (``val_*`` under validation/, the rest under train/) and weight histograms."""

    def __init__(self, log_dir):
        super().__init__()
        self.log_dir, self.writers = Path(log_dir), {}

    def on_train_begin(self, logs=None):
        import tensorflow as tf

        self.writers = {part: tf.summary.create_file_writer(str(self.log_dir / part))
                        for part in ("train", "validation")}

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf

        for name, value in (logs or {}).items():
            part, name = ("validation", name[4:]) if name.startswith("val_") else ("train", name)
            with self.writers[part].as_default():
                tf.summary.scalar(f"epoch_{name}", float(value), step=epoch)
        with self.writers["train"].as_default():
            for weight in self.model.weights:  # kernel and bias of every layer, BatchNorm's statistics
                tf.summary.histogram(f"{weight.path}/histogram", keras.ops.convert_to_numpy(weight), step=epoch)
        for writer in self.writers.values():
            writer.flush()

    def on_train_end(self, logs=None):
        for writer in self.writers.values():
            writer.close()


class ConfusionImages(keras.callbacks.Callback):
    """After every epoch, the confusion matrix of each class output on validation data, as a TensorBoard image.

    The image is a heat map of row-normalised counts (each row: where the items of one true class
    went), class names on the axes; written with ``tf.summary.image`` at step = epoch.
    """

    def __init__(self, log_dir, task, x, y, limit=CONFUSION_ITEMS):
        super().__init__()
        from nnlab.core.calibration import named_targets
        from nnlab.core.task import num_samples

        self.log_dir, self.task = str(log_dir), task
        count = min(num_samples(y), limit)
        self.x = _head(x, count)
        self.targets = {name: _head(values, count) for name, values in named_targets(y, task).items()}
        self.writer = None

    def on_train_begin(self, logs=None):
        import tensorflow as tf

        self.writer = tf.summary.create_file_writer(self.log_dir)

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf

        from nnlab.core.calibration import labels_of, predict_outputs

        predictions = predict_outputs(self.model, self.x, self.task)
        with self.writer.as_default():
            for output in self.task.outputs:
                if output.labels is None:
                    continue
                true, predicted = labels_of(self.targets[output.name]), predictions[output.name].argmax(axis=-1)
                picture = confusion_picture(true, predicted, output.labels, f"{output.name}, epoch {epoch}")
                tf.summary.image(f"confusion/{output.name}", picture[None], step=epoch)
        self.writer.flush()

    def on_train_end(self, logs=None):
        if self.writer is not None:
            self.writer.close()


def _head(values, count):
    if isinstance(values, dict):
        return {key: value[:count] for key, value in values.items()}
    return values[:count]


def confusion_picture(true, predicted, labels, title):
    """The row-normalised confusion matrix as an RGB uint8 array (height, width, 3)."""
    from nnlab.core.plots import plt  # first: it selects matplotlib's Agg backend

    classes = len(labels)
    counts = np.zeros((classes, classes), dtype=int)
    np.add.at(counts, (np.asarray(true), np.asarray(predicted)), 1)
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6, 5.5), dpi=80)
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for (i, j), value in np.ndenumerate(rates):
        if counts[i, j]:
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if value > 0.5 else "black")
    ax.set_xticks(range(classes), labels, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(classes), labels, fontsize=8)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    fig.tight_layout()
    fig.canvas.draw()
    picture = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return picture
