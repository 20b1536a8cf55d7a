"""nnlab: Keras 3 experiments for the lucky-bag fashion classifier and ticket triage.

Importing nnlab picks the JAX backend for Keras unless the user already chose one
with ``KERAS_BACKEND`` (JAX ran the seeds' pipeline about 2x faster per epoch than
TensorFlow on our 2-core CPU machines). Import nnlab before keras for this to apply.

    >>> import nnlab
    >>> from nnlab.data import load_fashion_mnist
    >>> (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
"""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")
# Keep JAX on the CPU and quiet about missing accelerators.
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
