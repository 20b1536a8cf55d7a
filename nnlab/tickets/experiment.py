"""Experiment T1: the seeds' own ticket example on random inputs (``nnlab reproduce --only T1``).

The seeds build the multi-input, multi-output model, inspect it, train it one epoch on
random data (1,280 samples) given as lists and as dicts, and add a third head from the
shared Dense layer's output. ``seeds_example`` does exactly that and returns the figures
the report compares with the seeds' text:

    >>> from nnlab.tickets.experiment import seeds_example
    >>> values, details = seeds_example(seed=42)
    >>> values["concatenate_width"], values["params"], values["list_equals_dict"]
    (20100, 1286789, True)
"""

import keras
import numpy as np

from nnlab.tickets.models import SHARED, add_head, build_triage_model

SAMPLES, VOCABULARY_SIZE, NUM_TAGS, NUM_DEPARTMENTS = 1280, 10_000, 100, 4
SEEDS_LAYERS = ["title", "text_body", "tags", "concatenate", "dense", "priority", "department"]


def random_data(seed):
    """The seeds' random inputs and targets: multi-hot 0/1 inputs, priority in [0, 1), 0/1 departments."""
    rng = np.random.default_rng(seed)
    inputs = [rng.integers(0, 2, (SAMPLES, VOCABULARY_SIZE)).astype("float32"),
              rng.integers(0, 2, (SAMPLES, VOCABULARY_SIZE)).astype("float32"),
              rng.integers(0, 2, (SAMPLES, NUM_TAGS)).astype("float32")]
    targets = [rng.random((SAMPLES, 1)).astype("float32"),
               rng.integers(0, 2, (SAMPLES, NUM_DEPARTMENTS)).astype("float32")]
    return inputs, targets


def _compiled(seed):
    keras.utils.set_random_seed(seed)
    model = build_triage_model(VOCABULARY_SIZE, NUM_TAGS, NUM_DEPARTMENTS)
    model.compile(optimizer="rmsprop",
                  loss={"priority": "mean_squared_error", "department": "categorical_crossentropy"},
                  metrics={"priority": ["mean_absolute_error"], "department": ["accuracy"]})
    return model


def seeds_example(seed=42, say=print):
    """Run the seeds' example; returns ``(values, details)`` (figures, and text for the report)."""
    inputs, targets = random_data(seed)
    names = [layer.name for layer in build_triage_model().layers]
    values, results = {}, {}
    for form in ("list", "dict"):
        model = _compiled(seed)  # the same initial weights for both forms
        x = inputs if form == "list" else dict(zip(("title", "text_body", "tags"), inputs))
        y = targets if form == "list" else dict(zip(("priority", "department"), targets))
        history = model.fit(x, y, epochs=1, batch_size=32, shuffle=False, verbose=0).history
        evaluated = model.evaluate(x, y, verbose=0, return_dict=True)
        priority, department = model.predict(x, verbose=0)
        results[form] = (history["loss"][0], evaluated["loss"], priority, department)
        say(f"{form}: fit loss {history['loss'][0]:.4f}, evaluate loss {evaluated['loss']:.4f}")
    (fit_l, eval_l, p_l, d_l), (fit_d, eval_d, p_d, d_d) = results["list"], results["dict"]
    concatenate = model.get_layer("concatenate")
    bigger = add_head(model, "difficulty", 3)  # the seeds' model.layers[4].output, found by name
    values.update(
        layer_names=names == SEEDS_LAYERS,
        concatenate_width=int(concatenate.output.shape[-1]),
        params=int(model.count_params()),
        list_loss=float(fit_l), dict_loss=float(fit_d),
        list_equals_dict=bool(fit_l == fit_d and eval_l == eval_d and np.array_equal(p_l, p_d)
                              and np.array_equal(d_l, d_d)),
        third_head_outputs=len(bigger.outputs),
        third_head_params=int(bigger.count_params()),
        third_head_reads_shared=bool(bigger.get_layer("difficulty").input is model.get_layer(SHARED).output),
    )
    details = {"layers": [f"{layer.name} ({type(layer).__name__}) -> {tuple(layer.output.shape)}, "
                          f"{layer.count_params():,} params" for layer in model.layers],
               "concatenate_inputs": [str(tuple(t.shape)) for t in concatenate.input],
               "third_head": f"outputs {bigger.output_names}, {bigger.count_params():,} params"}
    return values, details
