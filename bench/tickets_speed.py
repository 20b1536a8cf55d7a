"""Benchmark: ticket triage quality and speed on synthetic tickets, with baselines from the same run.

    .venv/bin/python bench/tickets_speed.py                  # 20,000 tickets, seed 0 (about 5 minutes)
    .venv/bin/python bench/tickets_speed.py --n 5000         # quicker

Writes bench/results/tickets_speed.json.

Claim (synthetic data, made by ``nnlab tickets make-data --n 20000 --seed 0``; held-out
test split of 15%, split seed 42): the seeds' model trained with the ``seeds`` preset
reaches department accuracy >= 0.90 and priority MAE <= 0.10. Baselines measured in the
same run on the same split and the same multi-hot features: always the majority
department / the mean priority, and scikit-learn LogisticRegression + Ridge.

Speed: training throughput (tickets/s, epochs after the first, which compiles) of the
seeds' graph fed dense uint8 multi-hot arrays (what nnlab does) vs float32 arrays (4x the
memory) and vs sparse inputs (scipy CSR -> JAX BCOO; the arrays are ~99.8% zeros); and single-ticket
latency through the served raw-text model vs its own layers called eagerly.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import nnlab  # noqa: F401  picks the backend (JAX unless KERAS_BACKEND is set)

import keras
import numpy as np

from nnlab.core.training import train
from nnlab.tickets.synth import generate, write_tickets
from nnlab.tickets.task import TASK
from nnlab.tickets.triage import load_served
from record import save_result

# ---------------------------------------------------------------- settings

SETTINGS = {"n": 20_000, "seed": 0, "split_seed": 42, "val_split": 0.15, "test_split": 0.15, "preset": "seeds",
            "vocabulary_size": 10_000, "num_tags": 100, "batch_size": 32, "speed_epochs": 3, "sparse_limit": 320,
            "latency_calls": 200}


class Timer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = getattr(self, "seconds", []) + [time.perf_counter() - self.start]


def seeds_graph(vocabulary_size, num_tags, sparse):
    L = keras.layers
    inputs = [keras.Input(shape=(vocabulary_size,), name="title", sparse=sparse),
              keras.Input(shape=(vocabulary_size,), name="text_body", sparse=sparse),
              keras.Input(shape=(num_tags,), name="tags", sparse=sparse)]
    features = L.Dense(64, activation="relu", name="dense")(L.Concatenate(name="concatenate")(inputs))
    model = keras.Model(inputs, [L.Dense(1, activation="sigmoid", name="priority")(features),
                                 L.Dense(4, activation="softmax", name="department")(features)])
    model.compile(optimizer="rmsprop", loss={"priority": "mean_squared_error", "department": "categorical_crossentropy"},
                  metrics={"priority": ["mae"], "department": ["accuracy"]})
    return model


def throughput(splits, sparse, epochs, batch_size, limit=None, dtype=None):
    """Training tickets/s of the seeds' graph (epochs after the first) and its test figures.

    ``limit``: train on the first N tickets only (the sparse path compiles a new XLA program for
    each batch whose number of non-zeros differs, so a full epoch would take far too long).
    """
    import scipy.sparse

    keras.utils.set_random_seed(42)
    x_train, x_test, y_train = splits.x_train, splits.x_test, splits.y_train
    if limit:
        x_train = {k: v[:limit] for k, v in x_train.items()}
        y_train = {k: v[:limit] for k, v in y_train.items()}
    if dtype is not None:
        x_train = {k: v.astype(dtype) for k, v in x_train.items()}
    if sparse:
        x_train = {k: scipy.sparse.csr_matrix(v, dtype="float32") for k, v in x_train.items()}
        x_test = {k: scipy.sparse.csr_matrix(v, dtype="float32") for k, v in x_test.items()}
    model, timer = seeds_graph(x_train["title"].shape[1], x_train["tags"].shape[1], sparse), Timer()
    model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=0, callbacks=[timer])
    test = model.evaluate(x_test, splits.y_test, batch_size=1000, verbose=0, return_dict=True)
    n = x_train["title"].shape[0]
    return {"tickets_per_s": n / statistics.median(timer.seconds[1:]), "epoch_seconds": timer.seconds,
            "test_department_accuracy": test["department_accuracy"], "test_priority_mae": test["priority_mae"]}


def sklearn_baselines(splits):
    """LogisticRegression (department) and Ridge (priority) on the same multi-hot features (sparse)."""
    import scipy.sparse
    from sklearn.linear_model import LogisticRegression, Ridge

    def features(x):
        return scipy.sparse.hstack([scipy.sparse.csr_matrix(x[k], dtype="float32")
                                    for k in ("title", "text_body", "tags")]).tocsr()

    train_x, test_x = features(splits.x_train), features(splits.x_test)
    start = time.perf_counter()
    department = LogisticRegression(max_iter=1000).fit(train_x, splits.y_train["department"].argmax(1))
    ridge = Ridge(alpha=1.0).fit(train_x, splits.y_train["priority"].ravel())
    seconds = time.perf_counter() - start
    accuracy = float(np.mean(department.predict(test_x) == splits.y_test["department"].argmax(1)))
    mae = float(np.mean(np.abs(np.clip(ridge.predict(test_x), 0, 1) - splits.y_test["priority"].ravel())))
    return {"test_department_accuracy": accuracy, "test_priority_mae": mae, "fit_seconds": round(seconds, 1)}


def latency(run_dir, ticket, calls):
    """Median and 95th-percentile ms of one-ticket triage: ``served.predict`` vs the same layers called eagerly.

    The baseline calls the served model's own Keras layers one by one, as plain Keras code would
    (``words(title)``, ``words(body)``, ``tag_lookup(tags)``, then the numeric model): the same numbers.
    """
    from nnlab.tickets.features import pad_tags

    served = load_served(run_dir)

    def eager():
        x = {"title": served.words(np.asarray([ticket["title"]])), "text_body": served.words(np.asarray([ticket["body"]])),
             "tags": served.tag_lookup(pad_tags([ticket["tags"]]))}
        return [np.asarray(o) for o in served.triage(x, training=False)]

    def timed(call):
        call()  # warm up (TensorFlow's tracing, XLA's compile for this batch shape)
        times = []
        for _ in range(calls):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
        return {"median_ms": 1000 * statistics.median(times), "p95_ms": 1000 * float(np.percentile(times, 95))}

    same = all(np.allclose(a, b, atol=1e-6) for a, b in zip(served.predict([ticket]), eager()))
    return {"served_predict": timed(lambda: served.predict([ticket])), "eager_layer_calls": timed(eager),
            "same_outputs": bool(same)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=SETTINGS["n"])
    args = parser.parse_args()
    settings = {**SETTINGS, "n": args.n}
    work = Path(tempfile.mkdtemp(prefix="tickets-bench-"))

    # ------------------------------------------------------------ data
    data = write_tickets(generate(settings["n"], settings["seed"]), work / "tickets.csv")
    print(f"{settings['n']:,} synthetic tickets (seed {settings['seed']}) in {data}")

    # ------------------------------------------------------------ nnlab: the seeds preset, end to end
    config = TASK.config(settings["preset"], data=str(data), runs_dir=str(work / "runs"), name="bench", verbose=2,
                         seed=42)
    result = train(config)
    metrics = result.metrics
    ours = {"test_department_accuracy": metrics["test"]["department_accuracy"],
            "test_priority_mae": metrics["test"]["priority_mae"], "epochs_run": metrics["epochs_run"],
            "train_seconds": metrics["train_seconds"],
            "end_to_end_tickets_per_s": metrics["data"]["train_tickets"] * metrics["epochs_run"] / metrics["train_seconds"]}
    splits = TASK.load_data(result.config)

    # ------------------------------------------------------------ baselines, same split and features
    majority = {"test_department_accuracy": metrics["baselines"]["test_department_accuracy_majority"],
                "test_priority_mae": metrics["baselines"]["test_priority_mae_mean"]}
    print("baselines: scikit-learn LogisticRegression + Ridge ...", flush=True)
    sklearn = sklearn_baselines(splits)

    # ------------------------------------------------------------ speed: dense vs sparse inputs, latency
    print("training throughput: dense uint8 inputs ...", flush=True)
    speed = {"dense_uint8": throughput(splits, False, settings["speed_epochs"], settings["batch_size"])}
    print("training throughput: dense float32 inputs ...", flush=True)
    speed["dense_float32"] = throughput(splits, False, settings["speed_epochs"], settings["batch_size"],
                                        dtype="float32")
    print("training throughput: sparse inputs (scipy CSR -> BCOO), on a subset ...", flush=True)
    try:
        speed["sparse_bcoo"] = throughput(splits, True, 2, settings["batch_size"], limit=settings["sparse_limit"])
        speed["dense_uint8_same_subset"] = throughput(splits, False, 2, settings["batch_size"],
                                                      limit=settings["sparse_limit"])
    except Exception as error:  # noqa: BLE001  a path Keras cannot take is a result too
        speed["sparse_bcoo"] = {"error": f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"}
    ticket = {"title": "Charged twice for order #4821", "body": "My card was charged twice. Please refund asap.",
              "tags": ["billing", "urgent"]}
    print("latency: one ticket ...", flush=True)
    speed["latency"] = latency(result.run_dir, ticket, settings["latency_calls"])

    # ------------------------------------------------------------ report
    met = ours["test_department_accuracy"] >= 0.90 and ours["test_priority_mae"] <= 0.10
    rows = [("nnlab, seeds preset", ours), ("majority / mean", majority), ("LogisticRegression + Ridge", sklearn)]
    for label, row in rows:
        print(f"{label:28s} department accuracy {row['test_department_accuracy']:.4f}   "
              f"priority MAE {row['test_priority_mae']:.4f}")
    dense, sparse = speed["dense_uint8"], speed["sparse_bcoo"]
    subset = speed.get("dense_uint8_same_subset", {})
    print(f"training: dense uint8 {dense['tickets_per_s']:,.0f} tickets/s, "
          f"float32 {speed['dense_float32']['tickets_per_s']:,.0f} tickets/s"
          + (f"; on {settings['sparse_limit']} tickets: sparse {sparse['tickets_per_s']:,.0f} vs dense "
             f"{subset['tickets_per_s']:,.0f} tickets/s" if "tickets_per_s" in sparse
             else f", sparse path failed: {sparse['error']}"))
    lat = speed["latency"]
    print(f"one ticket: served.predict {lat['served_predict']['median_ms']:.1f} ms median "
          f"(the same layers called eagerly {lat['eager_layer_calls']['median_ms']:.1f} ms)")
    save_result(
        "tickets_speed",
        claim="on synthetic tickets (20,000, seed 0), the seeds' model reaches department accuracy >= 0.90 and "
              "priority MAE <= 0.10 on the held-out test split (figure: department accuracy; baseline: "
              "LogisticRegression on the same features)",
        figure=(ours["test_department_accuracy"], "accuracy"), baseline=(sklearn["test_department_accuracy"], "accuracy"),
        met=met,
        summary=(f"synthetic data: department {ours['test_department_accuracy']:.3f} (LR {sklearn['test_department_accuracy']:.3f}, "
                 f"majority {majority['test_department_accuracy']:.3f}); priority MAE {ours['test_priority_mae']:.3f} "
                 f"(Ridge {sklearn['test_priority_mae']:.3f}, mean {majority['test_priority_mae']:.3f}); "
                 f"{dense['tickets_per_s']:,.0f} tickets/s dense; one ticket {lat['served_predict']['median_ms']:.1f} ms"),
        settings=settings,
        details={"nnlab": ours, "majority_mean": majority, "sklearn": sklearn, "speed": speed,
                 "data": "synthetic (nnlab tickets make-data); real use means your own ticket file"})


if __name__ == "__main__":
    main()
