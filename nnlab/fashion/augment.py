"""Training-time augmentation as Keras layers inside the model (inactive in evaluate and predict).

:class:`RandomShift` moves each image by a random whole number of pixels, up to
``max_shift`` in each direction, filling with zeros (the background): the "random
crop with padding" of CIFAR and Fashion-MNIST training recipes. Keras'
``RandomTranslation`` does the same with an affine resampling that costs about
10x more per batch on a CPU; this layer pads once and takes one slice per image.

    >>> import numpy as np
    >>> from nnlab.fashion.augment import RandomShift
    >>> images = np.ones((4, 28, 28, 1), "float32")
    >>> RandomShift(2)(images, training=False).shape        # the identity at inference
    (4, 28, 28, 1)
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="nnlab")
class RandomShift(keras.layers.Layer):
    """Shift every image of a (batch, height, width, channels) batch by its own random offset.

    Args:
        max_shift: largest shift in pixels, up and down, left and right. Defaults to 2.
        seed: seed of the layer's random generator. Defaults to None (drawn from Keras' global seed).
    """

    def __init__(self, max_shift=2, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(max_shift, bool) or not isinstance(max_shift, int) or max_shift < 0:
            raise ValueError(f"max_shift must be an integer >= 0. Received: max_shift={max_shift!r}")
        self.max_shift, self.seed = max_shift, seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def call(self, inputs, training=False):
        if not training or not self.max_shift:
            return inputs
        m = self.max_shift
        height, width, channels = inputs.shape[1], inputs.shape[2], inputs.shape[3]
        padded = ops.pad(inputs, [[0, 0], [m, m], [m, m], [0, 0]])  # (B, H + 2m, W + 2m, C), zeros around
        offsets = keras.random.randint((ops.shape(inputs)[0], 2), 0, 2 * m + 1, seed=self.seed_generator)

        def crop(args):  # one image: the (H, W, C) window starting at its offset
            image, offset = args
            return ops.slice(image, (offset[0], offset[1], 0), (height, width, channels))

        return ops.vectorized_map(crop, (padded, offsets))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_shift": self.max_shift, "seed": self.seed}


@keras.saving.register_keras_serializable(package="nnlab")
class AddMirrored(keras.layers.Layer):
    """Test-time flip averaging, first half: at inference the batch is followed by its mirror images.

    (B, H, W, ...) -> (2B, H, W, ...): the images, then each one flipped left to right. Training
    batches pass unchanged (training cost stays one forward pass per image). :class:`AverageMirrored`
    at the end of the model averages each image's two predictions; every layer between them must
    treat samples independently at inference (Dense, Conv2D, BatchNormalization and Dropout do).
    """

    def call(self, inputs, training=False):
        if training:
            return inputs
        return ops.concatenate([inputs, ops.flip(inputs, axis=2)], axis=0)

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="nnlab")
class AverageMirrored(keras.layers.Layer):
    """Test-time flip averaging, second half: (2B, ...) predictions -> (B, ...) means of each pair."""

    def call(self, inputs, training=False):
        if training:
            return inputs
        half = ops.shape(inputs)[0] // 2
        return (inputs[:half] + inputs[half:]) / 2

    def compute_output_shape(self, input_shape):
        return input_shape
