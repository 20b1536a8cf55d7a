"""A fashion server's start-up: what its process imports (the ticket package, TensorFlow, scikit-learn,
matplotlib: none of them).

Each check runs in a fresh interpreter: this one has imported everything already.
"""

import os
import subprocess
import sys
import textwrap

START = textwrap.dedent("""
    import sys
    import nnlab
    from nnlab.serving.app import create_app
    from nnlab.serving.settings import Settings

    app = create_app(Settings(fashion_model=sys.argv[1]))
    print(*(name in sys.modules for name in ("nnlab.tickets", "tensorflow", "sklearn", "matplotlib")))
    app.state.fashion.close()
    from sklearn.model_selection import train_test_split  # both still importable for the rest of the process
    import matplotlib.pyplot
    print(train_test_split([1, 2, 3, 4], test_size=2, shuffle=False)[1], matplotlib.pyplot.figure is not None)
""")


def test_a_fashion_server_imports_neither_tickets_tensorflow_sklearn_nor_matplotlib(tiny_run, tmp_path):
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-c", START, str(tiny_run.run_dir)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines() == ["False False False False", "[3, 4] True"]


def test_import_keras_leaves_imported_packages_alone():
    import matplotlib
    import sklearn

    from nnlab.serving.app import import_keras

    import_keras()  # Keras is imported already here: nothing to do
    assert sys.modules["sklearn"] is sklearn and sys.modules["matplotlib"] is matplotlib
