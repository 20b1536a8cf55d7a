"""nnlab: Keras 3 experiments for the lucky-bag fashion classifier and ticket triage.

Importing nnlab picks the JAX backend for Keras unless the user already chose one
with ``KERAS_BACKEND`` (JAX ran the seeds' pipeline about 2x faster per epoch than
TensorFlow on our 2-core CPU machines). Import nnlab before keras for this to apply.
Nothing else is set: JAX uses a GPU where it finds one, and no logger is silenced.

    >>> import nnlab
    >>> from nnlab.fashion.data import load_fashion_mnist
    >>> (x_train, y_train), (x_test, y_test) = load_fashion_mnist()

The packages: ``core`` (task-neutral training, saving, evaluation, run folders),
``fashion`` and ``tickets`` (the two systems), ``seeds`` (the study notes'
experiments), ``serving`` (HTTP) and ``cli`` (the ``nnlab`` command).
"""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

__version__ = "0.1.0"
