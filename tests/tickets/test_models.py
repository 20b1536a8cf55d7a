"""nnlab.tickets.models and features: the seeds' graph, list vs dict, the twin, the head, the served model."""

import keras
import numpy as np
import pytest

from nnlab.core.errors import NnlabError
from nnlab.tickets.data import Tickets
from nnlab.tickets.features import Vectorizer
from nnlab.tickets.models import TicketTriage, add_head, build_model, build_triage_model
from nnlab.tickets.synth import generate


def random_data(n=64, vocabulary_size=50, num_tags=8, departments=4, seed=0):
    """The seeds' random inputs and targets, small."""
    rng = np.random.default_rng(seed)
    x = {"title": rng.integers(0, 2, (n, vocabulary_size)).astype("float32"),
         "text_body": rng.integers(0, 2, (n, vocabulary_size)).astype("float32"),
         "tags": rng.integers(0, 2, (n, num_tags)).astype("float32")}
    y = {"priority": rng.random((n, 1)).astype("float32"),
         "department": np.eye(departments, dtype="float32")[rng.integers(0, departments, n)]}
    return x, y


def compiled(model):
    model.compile(optimizer="rmsprop", loss={"priority": "mean_squared_error", "department": "categorical_crossentropy"},
                  metrics={"priority": ["mean_absolute_error"], "department": ["accuracy"]})
    return model


def test_the_seeds_graph_names_shapes_and_parameters():
    model = build_triage_model()  # the seeds' sizes: 10,000 words, 100 tags, 4 departments
    assert [layer.name for layer in model.layers] == [
        "title", "text_body", "tags", "concatenate", "dense", "priority", "department"]
    assert [tuple(t.shape) for t in model.layers[3].input] == [(None, 10000), (None, 10000), (None, 100)]
    assert tuple(model.layers[3].output.shape) == (None, 20100)
    assert tuple(model.layers[4].output.shape) == (None, 64)
    assert [layer.count_params() for layer in model.layers] == [0, 0, 0, 0, 20100 * 64 + 64, 65, 260]
    assert model.count_params() == 1_286_789 and model.output_names == ["priority", "department"]
    assert model.get_layer("priority").activation.__name__ == "sigmoid"


def test_lists_and_dicts_give_the_same_losses():
    x, y = random_data()
    results = []
    for as_list in (True, False):
        keras.utils.set_random_seed(1)
        model = compiled(build_triage_model(50, 8))
        inputs = [x["title"], x["text_body"], x["tags"]] if as_list else x
        targets = [y["priority"], y["department"]] if as_list else y
        history = model.fit(inputs, targets, epochs=1, batch_size=16, shuffle=False, verbose=0).history
        evaluated = model.evaluate(inputs, targets, verbose=0, return_dict=True)
        priority, department = model.predict(inputs, verbose=0)
        results.append((history, evaluated, priority, department))
    (h1, e1, p1, d1), (h2, e2, p2, d2) = results
    assert h1 == h2 and e1 == e2 and set(h1) >= {"priority_mean_absolute_error", "department_accuracy"}
    np.testing.assert_array_equal(p1, p2)
    np.testing.assert_array_equal(d1, d2)


def test_the_subclass_twin_gives_the_same_outputs_for_the_same_weights():
    functional, twin = build_model("functional", 50, 8), build_model("subclass", 50, 8)
    assert twin.count_params() == functional.count_params()
    twin.set_weights(functional.get_weights())
    x, _ = random_data()
    priority, department = functional.predict(x, verbose=0)
    out = twin.predict([x["title"], x["text_body"], x["tags"]], verbose=0)
    np.testing.assert_allclose(out["priority"], priority, atol=1e-6)
    np.testing.assert_allclose(out["department"], department, atol=1e-6)


def test_add_head_reuses_the_shared_dense_by_name_and_freezes_it():
    model = build_triage_model(50, 8)
    bigger = add_head(model, "difficulty", 3)
    assert bigger.output_names == ["priority", "department", "difficulty"]
    assert bigger.get_layer("dense") is model.get_layer("dense")  # shared, not copied
    assert tuple(bigger.get_layer("difficulty").input.shape) == (None, 64)
    assert [layer.name for layer in bigger.layers if layer.trainable_weights] == ["difficulty"]
    assert bigger.count_params() == model.count_params() + 64 * 3 + 3
    assert len(add_head(build_triage_model(50, 8), "difficulty", 3, finetune=True).trainable_weights) == 8
    with pytest.raises(NnlabError, match="already has an output named 'department'"):
        add_head(model, "department", 4)
    with pytest.raises(NnlabError, match="needs a Functional model"):
        add_head(build_model("subclass", 50, 8), "difficulty", 3)


@pytest.fixture(scope="module")
def tickets():
    rows = generate(120, seed=2)
    return Tickets([r["title"] for r in rows], [r["body"] for r in rows], [r["tags"] for r in rows])


def test_vectorizer_gives_the_seeds_widths_and_marks_unknown_words(tickets):
    vectorizer = Vectorizer.adapt(tickets, vocabulary_size=10_000, num_tags=100)
    x = vectorizer.transform(tickets)
    assert {k: v.shape for k, v in x.items()} == {"title": (120, 10000), "text_body": (120, 10000), "tags": (120, 100)}
    assert x["title"].dtype == np.uint8 and set(np.unique(x["title"])) <= {0, 1}
    assert len(vectorizer.words) < 9999 and x["title"][:, 1 + len(vectorizer.words):].sum() == 0  # padding
    unknown = vectorizer.transform(Tickets(["zzzz qqqq"], ["refund"], [["no-such-tag"]]))
    assert unknown["title"][0, 0] == 1 and unknown["title"][0].sum() == 1  # slot 0: unknown words
    assert unknown["tags"][0, 0] == 1 and unknown["tags"][0].sum() == 1
    assert vectorizer == Vectorizer.adapt(tickets, vocabulary_size=10_000, num_tags=100)  # deterministic


def test_raw_text_model_matches_the_numeric_model_and_survives_plain_keras_loading(tickets, tmp_path):
    vectorizer = Vectorizer.adapt(tickets, vocabulary_size=400, num_tags=20)
    numeric = build_triage_model(400, 20)
    served = TicketTriage(numeric, vectorizer.words, vectorizer.tags, {"department": ["a", "b", "c", "d"]})
    expected = numeric.predict(vectorizer.transform(tickets), verbose=0)
    as_records = served.predict(tickets.records(), batch_size=50)
    as_list = served.predict([tickets.title, tickets.body, tickets.tags])
    as_dict = served.predict({"title": tickets.title, "text_body": tickets.body, "tags": tickets.tags})
    for got in (as_records, as_list, as_dict):
        for a, b in zip(got, expected):
            np.testing.assert_allclose(a, b, atol=1e-6)

    served.save(tmp_path / "served.keras")
    numeric.save(tmp_path / "numeric.keras")
    loaded = keras.models.load_model(tmp_path / "served.keras")  # plain Keras (the class is registered)
    assert isinstance(loaded, TicketTriage) and loaded.labels == {"department": ["a", "b", "c", "d"]}
    for a, b in zip(loaded.predict(tickets.records()), expected):
        np.testing.assert_allclose(a, b, atol=1e-6)
    plain = keras.models.load_model(tmp_path / "numeric.keras")
    for a, b in zip(plain.predict(vectorizer.transform(tickets), verbose=0), expected):
        np.testing.assert_array_equal(a, b)
