"""The seeds' experiments E1-E10 as data: settings, reported figures, plots (run by ``nnlab reproduce``).

Settings are nnlab config dicts with the seeds' values (nnlab's defaults already
are the seeds': RMSprop, batch 32, sparse categorical cross-entropy, the 80/20
split with random_state=42). Figures quote ``../shared/docs/SEEDS.md``. Hooks
hold the steps that are not a plain training run; each returns the values its
figures read; a hook writes files only into its own folder (``ctx.own_folder()``,
``DIR/experiments/E8/seed42/``), never into a run folder, which other experiments
may share. How a figure is judged is in ``nnlab.seeds.reproduce`` (its docstring).

"~N epochs" in the seeds' prose (counted from 1) is read as 0-based epochs N-2..N,
that is the N-th epoch give or take one.
"""

import dataclasses
import warnings

import numpy as np

from nnlab.fashion.config import PRESETS as FASHION_PRESETS
from nnlab.fashion.models import CNN_SPECS

RISE = 0.10  # "val loss rises after its minimum": the last val loss is > 1.10 x the lowest

# ---------------------------------------------------------------- the table's vocabulary


@dataclasses.dataclass(frozen=True)
class Figure:
    """One number the seeds report, and where the measured one is found.

    ``source`` is a key of the per-repeat values: ``"<run>.<measure>"`` for a
    training run (measures: params, acc_first, acc_last, loss_last, val_loss,
    val_acc, min_val_epoch, overfits, best_epoch, stopped_epoch, final_val_loss,
    final_val_acc) or a key a hook returns. ``hypothesis``: a guess at why the figure
    may differ, shown only if it differs and only labelled as untested (the
    experiment's ``hypothesis`` when None).
    """

    label: str
    source: str
    seeds: float | tuple | bool | None
    seeds_text: str | None = None  # how the seeds say it, when not a plain number
    digits: int = 4  # 0 for epochs and parameter counts
    hypothesis: str | None = None


@dataclasses.dataclass(frozen=True)
class Run:
    """One ``nnlab.core.training.train`` call: nnlab config settings (epochs are the seeds', capped by --epochs).

    ``keep``: the experiment uses the trained model or run folder, not only the
    history, so the run is never read off a longer one (it may still share a run
    with exactly the same settings). ``build``: a function that builds the Keras
    model literally (E3); such runs are never shared: their config names a preset
    that is not the model trained.
    """

    name: str
    settings: dict
    keep: bool = False
    build: object = None


@dataclasses.dataclass(frozen=True)
class Plot:
    """A plot of the first repeat.

    ``kind="history"``: train vs val loss and accuracy of ``runs[0]``, optionally with
    the best and stopped epochs marked; ``kind="curves"``: ``metric`` of each run.
    """

    file: str
    caption: str
    runs: tuple
    kind: str = "history"
    metric: str = "loss"
    marks: bool = False


@dataclasses.dataclass(frozen=True)
class Experiment:
    id: str
    title: str
    setup: str  # the seeds' settings in one line
    figures: tuple
    runs: tuple = ()
    hook: object = None  # hook(ctx) -> {key: value}; may fill ctx.details for the report
    plots: tuple = ()
    hypothesis: str | None = None  # untested guess for this experiment's figures that differ


# Causes of difference checked and ruled out (shown in the report).
NOTES = (
    "Keras 3's optimizer defaults are the seeds' tf.keras 2 ones: RMSprop(learning_rate=0.001, rho=0.9, "
    "epsilon=1e-7), Adagrad(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7), "
    "SGD(learning_rate=0.01), Adam(learning_rate=0.001); not a cause of differences.",
    "The seeds feed float64 pixels (/ 255.0); Keras (2 and 3) casts inputs to float32, and nnlab scales to "
    "float32 directly: the same numbers reach the model. E1 keeps float64, as scikit-learn's SGD needs it.",
    "Training accuracy is the running mean over the epoch's batches in Keras 2 and Keras 3 alike.",
    "scikit-learn renamed loss='log' to 'log_loss' (1.1) and dropped 'log' (1.3); the model is the same.",
    "Runs with the same settings and seed are trained once. A 5-epoch run is read off the first 5 epochs of "
    "a 20-epoch run only with a constant learning rate and no early stopping (then fit draws each epoch's "
    "shuffle in turn from the seeded generator and nothing depends on the number of epochs still to come); "
    "with a cosine schedule or early stopping every epoch count is its own run.",
)
RANDOM_STREAMS = ("Keras 3 on JAX draws the initial weights and the batch order from other random "
                  "generators than the seeds' TensorFlow Keras 2, so seed 42 is not the seeds' run, "
                  "and the seeds' figure is one draw of the seed-to-seed spread")
ADAM = {"name": "adam"}
BOOTSTRAP = 2000  # X1's bootstrap resamples of the test set
DROPOUT_ADAM = {"model": "dnn", "dropout": 0.3, "optimizer": ADAM}


def ranged(label, source, seeds, text=None, **kwargs):
    return Figure(label, source, seeds, seeds_text=text, digits=0, **kwargs)


# ---------------------------------------------------------------- E1: scikit-learn baseline


def e1_baseline(ctx):
    """The seeds' logistic regression: SGDClassifier + cross_validate on 60,000 flattened images (float64)."""
    import time

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDClassifier
    from sklearn.model_selection import cross_validate

    (x, y), _ = ctx.raw()
    x = (x / 255.0).reshape(-1, 28 * 28)  # (60000, 784) float64, exactly as the seeds
    values = {}
    for max_iter in (5, 9, 20):
        capped = min(max_iter, ctx.max_epochs or max_iter)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter=5 does not converge, as in the seeds
            scores = cross_validate(SGDClassifier(loss="log_loss", max_iter=capped, random_state=ctx.seed),
                                    x, y, n_jobs=-1)
        values[f"cv{max_iter}"] = float(np.mean(scores["test_score"]))
        ctx.say(f"SGDClassifier max_iter={capped}: mean CV score {values[f'cv{max_iter}']:.4f} "
                f"({time.perf_counter() - start:.0f} s)")
    ctx.details["data"] = f"{len(x):,} training images x 784 pixels, 5-fold cross-validation"
    return values


# ---------------------------------------------------------------- E3: three ways to build one model


def e3_list():
    import keras

    dense1 = keras.layers.Dense(100, activation="sigmoid")
    dense2 = keras.layers.Dense(10, activation="softmax")
    return keras.Sequential([keras.Input(shape=(784,)), dense1, dense2])


def e3_named():
    import keras

    return keras.Sequential([
        keras.Input(shape=(784,)),
        keras.layers.Dense(100, activation="sigmoid", name="hidden"),
        keras.layers.Dense(10, activation="softmax", name="output"),
    ], name="Fashion_MNIST_DNN_Model")


def e3_add():
    import keras

    model = keras.Sequential(name="Fashion_MNIST_DNN_Model2")
    model.add(keras.Input(shape=(784,)))
    model.add(keras.layers.Dense(100, activation="sigmoid", name="hidden"))
    model.add(keras.layers.Dense(10, activation="softmax", name="output"))
    return model


def e3_summaries(ctx):
    """Build E3 in the seeds' three ways; their summaries agree (layer types, shapes, params)."""
    values, layers, texts = {}, {}, {}
    for way, build in (("list", e3_list), ("named", e3_named), ("add", e3_add)):
        model = build()
        lines = []
        model.summary(print_fn=lambda text, line_break=True: lines.append(text))
        texts[way] = "\n".join(lines).rstrip()
        layers[way] = [(type(layer).__name__, tuple(layer.output.shape), layer.count_params())
                       for layer in model.layers]
        values[f"params_{way}"] = model.count_params()
    values["summaries_agree"] = layers["list"] == layers["named"] == layers["add"]
    ctx.details["summaries"] = texts
    return values


# ---------------------------------------------------------------- E6, E7, E8, E9, E10


def e6_history_keys(ctx):
    keys = set(ctx.runs["rmsprop-20"].history) - {"learning_rate"}  # nnlab logs the rate too; Keras' four are the claim
    return {"history_keys": keys == {"loss", "accuracy", "val_loss", "val_accuracy"}}


def e7_dropout(ctx):
    """Dropout's documented behaviour, and whether it reduces overfitting against the same model without it."""
    import keras

    layer = keras.layers.Dropout(0.3, seed=ctx.seed)
    ones = np.ones((1, 10_000), dtype="float32")
    trained, inferred = np.asarray(layer(ones, training=True)), np.asarray(layer(ones, training=False))
    kept = trained[trained != 0]
    facts = (layer.count_params() == 0 and trained.shape == ones.shape and np.array_equal(inferred, ones)
             and np.allclose(kept, 1 / 0.7) and abs(kept.size / ones.size - 0.7) < 0.03)
    rise = {name: ctx.runs[name].history["val_loss"] for name in ("no-dropout", "dropout")}
    rise = {name: values[-1] / min(values) - 1 for name, values in rise.items()}
    ctx.details["val_loss_rise"] = {name: round(value, 4) for name, value in rise.items()}
    return {"dropout_facts": facts, "dropout_reduces": rise["dropout"] < rise["no-dropout"]}


def e8_save_restore(ctx):
    """save_weights + save, reload both into fresh models, compare three accuracies on val."""
    from nnlab.core.errors import NnlabError
    from nnlab.core.evaluation import argmax_accuracy, evaluate
    from nnlab.core.saving import load_model, load_weights, save_model
    from nnlab.fashion.models import build_model
    from nnlab.fashion.task import TASK

    run = ctx.runs["dropout-10"].result
    x_val, y_val = ctx.splits.x_val, ctx.splits.y_val
    folder = ctx.own_folder()  # not the run folder: E7 and E9 may read the same run
    weights = save_model(run.model, folder / "model.weights.h5")
    whole = save_model(run.model, folder / "model-whole.keras")
    fresh = load_weights(build_model("dnn", dropout=0.3), weights)  # the seeds' model_fn(Dropout(0.3))
    values = {"argmax_acc": argmax_accuracy(fresh, x_val, y_val, TASK),
              "evaluate_acc": evaluate(run.model, x_val, y_val, TASK)["accuracy"],
              "reloaded_acc": evaluate(load_model(whole), x_val, y_val, TASK)["accuracy"]}
    accuracies = list(values.values())
    values["all_equal"] = max(accuracies) - min(accuracies) < 1e-6
    try:
        load_weights(build_model("mnist-512"), weights)
        values["mismatch_refused"] = False
    except NnlabError as error:
        values["mismatch_refused"] = True
        ctx.details["mismatch_error"] = str(error)
    ctx.details["files"] = {ctx.relative(path): path.stat().st_size for path in (weights, whole)}
    return values


def e9_checkpoint(ctx):
    """load_model('best-model.keras') + evaluate; the checkpoint is the epoch with the lowest val loss."""
    from nnlab.core.evaluation import evaluate
    from nnlab.core.saving import load_model
    from nnlab.fashion.task import TASK

    run = ctx.runs["dropout-20"].result
    best = evaluate(load_model(run.run_dir / "best.keras"), ctx.splits.x_val, ctx.splits.y_val, TASK)
    lowest = min(ctx.runs["dropout-20"].history["val_loss"])
    return {"best_val_loss": best["loss"], "best_val_acc": best["accuracy"],
            "best_is_lowest": abs(best["loss"] - lowest) < 1e-4}


def e10_early_stopping(ctx):
    """Keras counts stopped_epoch from 0; with patience p the best epoch is p epochs before it."""
    final = ctx.runs["final"]
    stopped, patience = final.result.metrics["stopped_epoch"], final.result.config.early_stopping.patience
    best = int(np.argmin(final.history["val_loss"]))
    return {"best_is_stopped_minus_patience": stopped > 0 and best == stopped - patience}


def x1_beyond_the_seeds(ctx):
    """The new preset against E10 on the same test images: McNemar's exact test, bootstrap 95 % interval."""
    from scipy.stats import binomtest

    from nnlab.core.evaluation import predict
    from nnlab.fashion.task import TASK

    x, y = ctx.splits.x_test, ctx.splits.y_test
    right = {name: np.argmax(predict(ctx.runs[name].result.model, x, TASK), axis=-1) == y
             for name in ("cnn-fast", "final")}
    new, old = right["cnn-fast"], right["final"]
    only_new, only_old = int(np.sum(new & ~old)), int(np.sum(old & ~new))  # the discordant pairs
    p_value = binomtest(only_new, only_new + only_old, 0.5).pvalue if only_new + only_old else 1.0
    rng = np.random.default_rng(ctx.seed)
    picks = rng.integers(0, len(y), size=(BOOTSTRAP, len(y)))  # test images drawn with replacement
    differences = new[picks].mean(axis=1) - old[picks].mean(axis=1)
    low, high = np.percentile(differences, [2.5, 97.5])
    ctx.details["mcnemar"] = {"only cnn-fast right": only_new, "only E10 right": only_old,
                              "test images": len(y), "bootstrap resamples": BOOTSTRAP}
    return {"new_acc": float(new.mean()), "e10_acc": float(old.mean()), "difference": float(new.mean() - old.mean()),
            "low": float(low), "high": float(high), "p_value": float(p_value),
            "better": bool(p_value < 0.05 and low > 0)}


def t1_tickets(ctx):
    """System 2, the seeds' ticket example on random inputs: graph, list vs dict, the third head."""
    from nnlab.tickets.experiment import seeds_example

    values, details = seeds_example(seed=ctx.seed, say=ctx.say)
    ctx.details.update(details)
    return values


# ---------------------------------------------------------------- the table


def _optimizers():
    """E5's seven optimizers (same model as E4, 5 epochs each) and the seeds' final train accuracy."""
    return (("sgd", {"name": "sgd"}, 0.8474), ("sgd-lr0.1", {"name": "sgd", "learning_rate": 0.1}, 0.8774),
            ("sgd-momentum", {"name": "sgd", "momentum": 0.9}, 0.8773),
            ("sgd-nesterov", {"name": "sgd", "momentum": 0.9, "nesterov": True}, 0.8795),
            ("rmsprop", {"name": "rmsprop"}, 0.8873), ("adagrad", {"name": "adagrad"}, 0.8033),
            ("adam", ADAM, 0.8852))


EXPERIMENTS = (
    Experiment(
        "E1", "logistic regression baseline",
        'SGDClassifier(loss="log_loss", max_iter=5/9/20, random_state=42), cross_validate(n_jobs=-1), '
        "784 pixels of the 60,000 training images",
        figures=(Figure("mean CV test score, max_iter=5", "cv5", 0.8196),
                 Figure("mean CV test score, max_iter=9", "cv9", 0.8304),
                 Figure("mean CV test score, max_iter=20", "cv20", 0.8437)),
        hook=e1_baseline,
        hypothesis="SGDClassifier's result depends on the scikit-learn version; the seeds ran one from before "
                   "loss='log' became 'log_loss'"),
    Experiment(
        "E2", "single-layer network",
        "Dense(10, softmax) on 784 pixels, RMSprop (the default), 5 epochs, batch 32",
        runs=(Run("dense10", {"model": "logreg", "epochs": 5}),),
        figures=(Figure("parameters", "dense10.params", 7850, digits=0),
                 Figure("train accuracy, epoch 1", "dense10.acc_first", 0.7972),
                 Figure("train accuracy, epoch 5", "dense10.acc_last", 0.8540),
                 Figure("val loss", "dense10.val_loss", 0.4429),
                 Figure("val accuracy", "dense10.val_acc", 0.8507)),
        hypothesis=RANDOM_STREAMS),
    Experiment(
        "E3", "two layers, sigmoid hidden layer, built three ways",
        "Dense(100, sigmoid) + Dense(10, softmax) on 784 pixels, 5 epochs; list of layers, named layers in "
        "the constructor (Fashion_MNIST_DNN_Model), add(); the add() model is trained, as in the seeds",
        runs=(Run("add", {"model": "dnn-sigmoid", "epochs": 5}, build=e3_add),),
        figures=(Figure("parameters, list of layers", "params_list", 79510, digits=0),
                 Figure("parameters, named in the constructor", "params_named", 79510, digits=0),
                 Figure("parameters, add()", "params_add", 79510, digits=0),
                 Figure("the three summaries agree (types, shapes, params)", "summaries_agree", True),
                 Figure("train accuracy, epoch 1", "add.acc_first", 0.8058),
                 Figure("train accuracy, epoch 5", "add.acc_last", 0.8779)),
        hook=e3_summaries, hypothesis=RANDOM_STREAMS),
    Experiment(
        "E4", "ReLU and Flatten",
        "Flatten(28, 28) + Dense(100, relu) + Dense(10, softmax), RMSprop, 5 epochs",
        runs=(Run("relu", {"model": "dnn", "epochs": 5}),),
        figures=(Figure("train accuracy, epoch 1", "relu.acc_first", 0.8112),
                 Figure("train accuracy, epoch 5", "relu.acc_last", 0.8853),
                 Figure("val loss", "relu.val_loss", 0.3683),
                 Figure("val accuracy", "relu.val_acc", 0.8748)),
        hypothesis=RANDOM_STREAMS),
    Experiment(
        "E5", "seven optimizers",
        "the E4 model, 5 epochs each: SGD; SGD lr=0.1; SGD momentum=0.9; SGD momentum=0.9 nesterov; "
        "RMSprop; Adagrad; Adam (Keras' defaults otherwise)",
        runs=tuple(Run(name, {"model": "dnn", "optimizer": optimizer, "epochs": 5})
                   for name, optimizer, _ in _optimizers()),
        figures=(*(Figure(f"final train accuracy, {name}", f"{name}.acc_last", seeds)
                   for name, _, seeds in _optimizers()),
                 Figure("Adam: val loss", "adam.val_loss", 0.3511),
                 Figure("Adam: val accuracy", "adam.val_acc", 0.8737)),
        plots=(Plot("E5-optimizers-loss.png", "training loss per epoch, seven optimizers",
                    tuple(name for name, _, _ in _optimizers()), kind="curves"),),
        hypothesis=RANDOM_STREAMS),
    Experiment(
        "E6", "loss curves",
        "model_fn() (the E4 model): RMSprop 5 and 20 epochs, RMSprop 20 epochs with validation_data, "
        "Adam 20 epochs with validation_data",
        runs=(Run("rmsprop-5", {"model": "dnn", "epochs": 5}),
              Run("rmsprop-20", {"model": "dnn", "epochs": 20}),
              Run("adam-20", {"model": "dnn", "optimizer": ADAM, "epochs": 20})),
        figures=(Figure("History keys with validation_data: loss, accuracy, val_loss, val_accuracy",
                        "history_keys", True),
                 ranged("RMSprop: epoch of the lowest val loss", "rmsprop-20.min_val_epoch", (3, 5),
                        "~5, then rises"),
                 Figure(f"RMSprop: val loss rises after its minimum (> {RISE:.0%} by epoch 20)",
                        "rmsprop-20.overfits", True),
                 ranged("Adam: epoch of the lowest val loss", "adam-20.min_val_epoch", (8, 10),
                        "keeps falling to ~10")),
        hook=e6_history_keys,
        plots=(Plot("E6-train-loss-5.png", "RMSprop training loss, 5 epochs", ("rmsprop-5",), kind="curves"),
               Plot("E6-train-loss-20.png", "RMSprop training loss, 20 epochs", ("rmsprop-20",), kind="curves"),
               Plot("E6-rmsprop-train-val.png", "RMSprop, train vs val", ("rmsprop-20",)),
               Plot("E6-adam-train-val.png", "Adam, train vs val", ("adam-20",))),
        hypothesis=RANDOM_STREAMS),
    Experiment(
        "E7", "dropout",
        "model_fn(Dropout(0.3)), Adam, 20 epochs with validation_data; compared with model_fn() under Adam",
        runs=(Run("no-dropout", {"model": "dnn", "optimizer": ADAM, "epochs": 20}),
              Run("dropout", {**DROPOUT_ADAM, "epochs": 20})),
        figures=(Figure("Dropout: no params, same shape, off in evaluate/predict, kept x 1/(1-r)",
                        "dropout_facts", True),
                 Figure("overfitting reduced (val loss rises less after its minimum than without dropout)",
                        "dropout_reduces", True),
                 Figure(f"val loss rises after its minimum (> {RISE:.0%} by epoch 20)",
                        "dropout.overfits", False, seeds_text="no: flat after ~epoch 10"),
                 ranged("epoch of the lowest val loss", "dropout.min_val_epoch", (8, 10), "~10")),
        hook=e7_dropout,
        plots=(Plot("E7-dropout-train-val.png", "Dropout(0.3), Adam, train vs val", ("dropout",)),),
        hypothesis=RANDOM_STREAMS),
    Experiment(
        "E8", "save and restore",
        "model_fn(Dropout(0.3)), Adam, 10 epochs; save_weights('model.weights.h5'), save('model-whole.keras'); "
        "fresh model_fn(Dropout(0.3)) + load_weights; load_model + evaluate",
        runs=(Run("dropout-10", {**DROPOUT_ADAM, "epochs": 10}, keep=True),),
        figures=(Figure("val accuracy, predict + argmax after load_weights", "argmax_acc", (0.8758, 0.8798),
                        seeds_text="0.8758 – 0.8798"),
                 Figure("val accuracy, evaluate of the trained model", "evaluate_acc", (0.8758, 0.8798),
                        seeds_text="0.8758 – 0.8798"),
                 Figure("val accuracy, evaluate after load_model", "reloaded_acc", (0.8758, 0.8798),
                        seeds_text="0.8758 – 0.8798"),
                 Figure("the three accuracies are equal", "all_equal", True),
                 Figure("load_weights into another architecture is refused", "mismatch_refused", True)),
        hook=e8_save_restore, hypothesis=RANDOM_STREAMS),
    Experiment(
        "E9", "ModelCheckpoint",
        "model_fn(Dropout(0.3)), Adam, 20 epochs, ModelCheckpoint('best-model.keras', save_best_only=True); "
        "load_model + evaluate",
        runs=(Run("dropout-20", {**DROPOUT_ADAM, "epochs": 20}, keep=True),),
        figures=(Figure("best model's val loss", "best_val_loss", 0.3210),
                 Figure("best model's val accuracy", "best_val_acc", 0.8885),
                 Figure("the checkpoint holds the epoch with the lowest val loss", "best_is_lowest", True)),
        hook=e9_checkpoint, hypothesis=RANDOM_STREAMS),
    Experiment(
        "E10", "EarlyStopping",
        "E9 + EarlyStopping(patience=2, restore_best_weights=True), up to 20 epochs",
        runs=(Run("final", {**DROPOUT_ADAM, "epochs": 20,
                            "early_stopping": {"patience": 2, "restore_best_weights": True}}),),
        figures=(ranged("stopped_epoch (0-based)", "final.stopped_epoch", (10, 12), "10 – 12"),
                 ranged("best epoch (0-based)", "final.best_epoch", (8, 10), "stopped − 2: 8 – 10"),
                 Figure("best epoch = stopped_epoch − patience", "best_is_stopped_minus_patience", True),
                 Figure("val accuracy, best weights restored", "final.final_val_acc", None, seeds_text="—")),
        hook=e10_early_stopping,
        plots=(Plot("E10-early-stopping.png", "early stopping, stopped and best epochs marked", ("final",),
                    marks=True),),
        hypothesis="where val loss stops improving moves by a few epochs from seed to seed, and Keras 3 on "
                   "JAX does not draw the seeds' random numbers"),
    Experiment(
        "X1", "beyond the seeds: the cnn-fast preset against E10",
        "preset cnn-fast (RandomShift({shift}) + stride-2 conv blocks {widths} + Dense({units}), mirror-averaged "
        "predictions, Adam 2e-3 cosine, batch {batch_size}, {epochs} epochs) and E10, same splits and seed; both scored on the same test images: McNemar's exact test on "
        "the images only one gets right, bootstrap 95 % interval of the accuracy difference".format(
            widths=" / ".join(str(filters) for filters, _ in CNN_SPECS["cnn-fast"]["convs"]),
            **CNN_SPECS["cnn-fast"], **FASHION_PRESETS["cnn-fast"]),
        runs=(Run("cnn-fast", FASHION_PRESETS["cnn-fast"], keep=True),
              Run("final", {**DROPOUT_ADAM, "epochs": 20,
                            "early_stopping": {"patience": 2, "restore_best_weights": True}}, keep=True)),
        figures=(Figure("test accuracy, cnn-fast", "new_acc", None, seeds_text="—"),
                 Figure("test accuracy, E10", "e10_acc", None, seeds_text="—"),
                 Figure("difference (cnn-fast − E10)", "difference", None, seeds_text="—"),
                 Figure("bootstrap 95 % interval, low", "low", None, seeds_text="—"),
                 Figure("bootstrap 95 % interval, high", "high", None, seeds_text="—"),
                 Figure("McNemar exact p-value", "p_value", None, seeds_text="—"),
                 Figure("cnn-fast is better (p < 0.05 and interval above 0)", "better", True,
                        seeds_text="not in the seeds: the claim tested")),
        hook=x1_beyond_the_seeds),
    Experiment(
        "T1", "ticket triage: multi-input, multi-output model (System 2)",
        "Inputs title/text_body (10,000 multi-hot) and tags (100) -> Concatenate -> Dense(64, relu) -> priority "
        "(sigmoid, MSE, MAE) and department (4, softmax, categorical cross-entropy, accuracy); RMSprop, 1 epoch "
        "on 1,280 random samples as lists and as dicts; a third head difficulty (3, softmax) on the Dense output",
        figures=(Figure("layer names: title, text_body, tags, concatenate, dense, priority, department",
                        "layer_names", True),
                 Figure("concatenation width", "concatenate_width", 20100, digits=0),
                 Figure("parameters", "params", 1286789, seeds_text="not printed (20100 x 64 + 64 + 65 + 260)",
                        digits=0),
                 Figure("lists and dicts give the same losses and predictions", "list_equals_dict", True),
                 Figure("fit loss, one epoch (lists)", "list_loss", None, seeds_text="—"),
                 Figure("new model with a third head: outputs", "third_head_outputs", 3, digits=0),
                 Figure("the third head reads the shared Dense layer's output", "third_head_reads_shared", True)),
        hook=t1_tickets),
)
