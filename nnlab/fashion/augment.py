"""Training-time augmentation as Keras layers inside the model (inactive in evaluate and predict).

:class:`PhotoStyle` makes a share of each training batch look as the photo path
(``nnlab.fashion.photos``) makes product photos look: turned a little and re-fitted to
28 pixels, with another tone curve and another sharpness (see the class).

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
class PhotoStyle(keras.layers.Layer):
    """What the photo path does to an item, drawn at random for a share ``rate`` of each training batch.

    A product photo read back by ``nnlab.fashion.photos`` differs from the dataset's own image
    of the item in three ways that a per-pixel shift or mirror does not cover, and each is
    redrawn here per image (inputs (B, 28, 28, 1) in 0..1):

    - geometry: the photo is taken a little askew (``max_angle`` degrees either way), and the
      path trims the turned item's larger box and fits it to 28 pixels, so the item also
      shrinks (by 1 / (|cos| + 0.7 |sin|), 0.7 being a typical item's short / long side) and
      its sides change by a few percent (``zoom``);
    - tone: the item's colour, the light and the path's stretch (brightest pixel -> 1) give
      another tone curve: each image is raised to a power exp(U(-gamma, gamma)) and
      stretched back to a maximum of 1;
    - a drop shadow on a share ``shadow`` of them (see Args);
    - sharpness: Lanczos resampling from a large photo and the unsharp mask leave edges
      sharper or softer: x + k (x - blur3x3(x)), k in U(-sharpen, sharpen).

    Args:
        rate: share of the images changed (0..1). Defaults to 0.5.
        max_angle: largest turn in degrees. Defaults to 10.
        zoom: largest relative change of each side beyond the turn's shrinking. Defaults to 0.06.
        gamma: largest |log| of the tone curve's power. Defaults to 0.5.
        sharpen: largest unsharp/blur amount. Defaults to 0.7.
        shadow: share of the changed images that also get a soft drop shadow (faint ink beside the
            item, 0.5-3 pixels down, up to 2.5 aside, which the path's trim takes in). Defaults to 0.
        seed: seed of the layer's random generator. Defaults to None.
    """

    def __init__(self, rate=0.5, max_angle=10.0, zoom=0.06, gamma=0.5, sharpen=0.7, shadow=0.0, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate <= 1:
            raise ValueError(f"rate must be in [0, 1]. Received: rate={rate!r}")
        self.rate, self.max_angle, self.zoom, self.gamma, self.sharpen, self.shadow, self.seed = (
            rate, max_angle, zoom, gamma, sharpen, shadow, seed)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        if not training or not self.rate:
            return inputs
        batch, height, width = ops.shape(inputs)[0], inputs.shape[1], inputs.shape[2]
        draw = lambda low, high: keras.random.uniform((batch,), low, high, seed=self.seed_generator)  # noqa: E731
        cx, cy = (width - 1) / 2, (height - 1) / 2
        zeros, ones = ops.zeros((batch,)), ops.ones((batch,))
        x = inputs
        if self.shadow:
            # A drop shadow: the item's silhouette, softened, moved down and aside, as faint ink behind it;
            # the path trims it with the item, so the whole shrinks by the room it takes.
            dx, dy = draw(-2.5, 2.5), draw(0.5, 3.0)
            silhouette = ops.cast(x > 0.05, x.dtype)
            for _ in range(2):
                silhouette = ops.average_pool(silhouette, 3, strides=1, padding="same", data_format="channels_last")
            moved = ops.image.affine_transform(silhouette, ops.stack([ones, zeros, -dx, zeros, ones, -dy, zeros, zeros],
                                                                     axis=1), fill_value=0, data_format="channels_last")
            on = ops.cast(keras.random.uniform((batch,), seed=self.seed_generator) < self.shadow, x.dtype)
            strength = (on * draw(0.1, 0.35))[:, None, None, None]
            x = ops.maximum(x, strength * moved)
            room = 1 / (1 + on * (ops.abs(dx) + dy + 2) / width)
        else:
            room = ones
        # Geometry: the output pixel p samples the input at centre + A^-1 (p - centre), A = turn * scale.
        angle = draw(-1.0, 1.0) * (self.max_angle * 3.14159265 / 180)
        cos, sin = ops.cos(angle), ops.sin(angle)
        shrink = room / (ops.abs(cos) + 0.7 * ops.abs(sin))
        scale_x = shrink * (1 + draw(-self.zoom, self.zoom))
        scale_y = shrink * (1 + draw(-self.zoom, self.zoom))
        a0, a1 = cos / scale_x, sin / scale_x
        b0, b1 = -sin / scale_y, cos / scale_y
        transform = ops.stack([a0, a1, cx - a0 * cx - a1 * cy, b0, b1, cy - b0 * cx - b1 * cy, zeros, zeros], axis=1)
        x = ops.image.affine_transform(x, transform, interpolation="bilinear", fill_value=0,
                                       data_format="channels_last")  # (B, 28, 28, 1)
        # Tone: x ** power, then the brightest pixel back to 1 (the path's stretch).
        power = ops.exp(draw(-self.gamma, self.gamma))[:, None, None, None]
        x = ops.power(ops.maximum(x, 0.0), power)
        x = x / ops.maximum(ops.max(x, axis=(1, 2, 3), keepdims=True), 0.05)
        # Sharpness: towards or away from a 3x3 box blur.
        blur = ops.average_pool(x, 3, strides=1, padding="same", data_format="channels_last")
        x = ops.clip(x + draw(-self.sharpen, self.sharpen)[:, None, None, None] * (x - blur), 0.0, 1.0)
        chosen = keras.random.uniform((batch, 1, 1, 1), seed=self.seed_generator) < self.rate
        return ops.where(chosen, ops.cast(x, inputs.dtype), inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "max_angle": self.max_angle, "zoom": self.zoom,
                "gamma": self.gamma, "sharpen": self.sharpen, "shadow": self.shadow, "seed": self.seed}


class _InferenceViews(keras.layers.Layer):
    """A layer that works at inference only (``at_inference``) and passes training batches unchanged.

    The two halves of test-time averaging: one adds views of each image to the batch, the
    other averages each image's predictions over them; the layers between see one batch.
    """

    def call(self, inputs, training=False):
        return inputs if training else self.at_inference(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="nnlab")
class AddMirrored(_InferenceViews):
    """Test-time flip averaging, first half: at inference the batch is followed by its mirror images.

    (B, H, W, ...) -> (2B, H, W, ...): the images, then each one flipped left to right. Training
    batches pass unchanged (training cost stays one forward pass per image). :class:`AverageMirrored`
    at the end of the model averages each image's two predictions; every layer between them must
    treat samples independently at inference (Dense, Conv2D, BatchNormalization and Dropout do).
    """

    def at_inference(self, inputs):
        return ops.concatenate([inputs, ops.flip(inputs, axis=2)], axis=0)


@keras.saving.register_keras_serializable(package="nnlab")
class AverageMirrored(_InferenceViews):
    """Test-time flip averaging, second half: (2B, ...) predictions -> (B, ...) means of each pair."""

    def at_inference(self, inputs):
        half = ops.shape(inputs)[0] // 2
        return (inputs[:half] + inputs[half:]) / 2


# The four 1-pixel shifts of test-time shift averaging: (rows, columns) moved down, up, right, left.
SHIFTS = ((1, 0), (-1, 0), (0, 1), (0, -1))


@keras.saving.register_keras_serializable(package="nnlab")
class AddShifted(_InferenceViews):
    """Test-time shift averaging, first half: at inference the batch is followed by its four 1-pixel shifts.

    (B, H, W, ...) -> (5B, H, W, ...): the images, then each moved one pixel down, up, right
    and left (zeros, the background, fill the edge), the offsets ``RandomShift(1)`` trains
    with. :class:`AverageShifted` averages each image's five predictions. Training batches
    pass unchanged.
    """

    def at_inference(self, inputs):
        height, width = inputs.shape[1], inputs.shape[2]
        pad = [[0, 0], [1, 1], [1, 1]] + [[0, 0]] * (len(inputs.shape) - 3)
        padded = ops.pad(inputs, pad)
        views = [inputs] + [padded[:, 1 - rows:1 - rows + height, 1 - cols:1 - cols + width] for rows, cols in SHIFTS]
        return ops.concatenate(views, axis=0)


@keras.saving.register_keras_serializable(package="nnlab")
class AverageShifted(_InferenceViews):
    """Test-time shift averaging, second half: (5B, ...) predictions -> (B, ...) means of each image's five."""

    def at_inference(self, inputs):
        views = 1 + len(SHIFTS)
        batch = ops.shape(inputs)[0] // views
        return ops.mean(ops.reshape(inputs, (views, batch, *inputs.shape[1:])), axis=0)
