"""The pictures and the page of ``nnlab report`` (nnlab.core.report computes the numbers).

``index.html`` is one file with inline CSS, no script and no address outside the report folder: its
pictures are PNG files beside it (``<img src="confusion-class.png">``), so it opens offline, from a
copy of the folder, or as a CI artefact.
"""

import dataclasses
import html
import json
from pathlib import Path

import numpy as np


@dataclasses.dataclass
class Section:
    """One part of the page: a title, HTML (already escaped), pictures (files in the report folder), numbers."""

    key: str
    title: str
    html: str = ""
    images: tuple = ()
    data: object = None  # JSON-ready; report.json["sections"][key]


def escape(text):
    return html.escape(str(text), quote=True)


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child, .text { text-align: left; }
td.text { max-width: 40em; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.4em 0; }
.note { color: #555; }
"""


# ---------------------------------------------------------------- pictures


def plot_confusion(counts, labels, path, title):
    """Two panels: the counts and the row-normalised rates (each row: where one true class went)."""
    from nnlab.core.plots import plt, save_figure

    counts = np.asarray(counts)
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = max(5.0, 0.5 * len(labels) + 2.5)
    fig, axes = plt.subplots(1, 2, figsize=(2 * size + 1, size))
    for ax, values, name, text in ((axes[0], counts, "counts", "{:d}"), (axes[1], rates, "row-normalised", "{:.2f}")):
        ax.imshow(values, cmap="Blues")
        for (i, j), value in np.ndenumerate(values):
            if counts[i, j]:
                ax.text(j, i, text.format(value), ha="center", va="center", fontsize=8,
                        color="white" if value > values.max() / 2 else "black")
        ax.set_xticks(range(len(labels)), labels, rotation=40, ha="right")
        ax.set_yticks(range(len(labels)), labels)
        ax.set(xlabel="predicted", ylabel="true", title=name)
    fig.suptitle(title)
    return save_figure(fig, path)


def plot_confusion_pair(first, second, labels, path):
    """Two runs' confusion counts side by side: ``first``/``second`` are ``(name, counts)``."""
    from nnlab.core.plots import plt, save_figure

    size = max(5.0, 0.5 * len(labels) + 2.5)
    fig, axes = plt.subplots(1, 2, figsize=(2 * size + 1, size))
    for ax, (name, counts) in zip(axes, (first, second)):
        counts = np.asarray(counts)
        ax.imshow(counts, cmap="Blues")
        for (i, j), value in np.ndenumerate(counts):
            if value:
                ax.text(j, i, str(value), ha="center", va="center", fontsize=8,
                        color="white" if value > counts.max() / 2 else "black")
        ax.set_xticks(range(len(labels)), labels, rotation=40, ha="right")
        ax.set_yticks(range(len(labels)), labels)
        accuracy = np.trace(counts) / max(counts.sum(), 1)
        ax.set(xlabel="predicted", ylabel="true", title=f"{name}: accuracy {accuracy:.4f}")
    return save_figure(fig, path)


# ---------------------------------------------------------------- sections


def table(header, rows, text_columns=()):
    """An HTML table; cells are escaped, floats written with 4 decimals."""
    def cell(index, value):
        shown = value
        if isinstance(value, float):  # a learning rate of 1e-05 is not 0.0000
            shown = f"{value:.4f}" if value == 0 or abs(value) >= 1e-3 else f"{value:.3g}"
        css = ' class="text"' if index in text_columns else ""
        return f"<td{css}>{escape(shown)}</td>"

    head = "".join(f"<th{' class=text' if i in text_columns else ''}>{escape(name)}</th>"
                   for i, name in enumerate(header))
    body = "".join("<tr>" + "".join(cell(i, v) for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def output_sections(ctx, output):
    """Per-class report, confusion matrix and most confidently wrong items; the reliability diagram."""
    from nnlab.core import calibration

    numbers = ctx.outputs[output]
    labels, report = numbers["labels"], numbers["per_class"]
    rows = [[name, report[name]["precision"], report[name]["recall"], report[name]["f1-score"],
             int(report[name]["support"])] for name in (*labels, "macro avg", "weighted avg")]
    what = f"{output}, {ctx.split} split, {int(report['weighted avg']['support']):,} items"
    confusion = f"confusion-{output}.png"
    plot_confusion(numbers["confusion_matrix"], labels, ctx.out_dir / confusion, f"{ctx.run_dir.name}: {what}")
    wrong = table(["item", "true", "predicted", "probability"],
                  [[w["index"], w["true"], w["predicted"], w["probability"]] for w in numbers["wrong"]])
    body = (f"<p>accuracy <b>{report['accuracy']:.4f}</b> ({escape(ctx.model_path.name)}: {escape(ctx.note)})</p>"
            + table(["class", "precision", "recall", "F1", "support"], rows)
            + f'<img src="{confusion}" alt="confusion matrix of {escape(output)}">'
            + f"<h3>Most confidently wrong</h3><p class=note>item: index in the {ctx.split} split</p>{wrong}")
    sections = [Section(f"{output}", f"{output}: per class ({ctx.split})", body, (confusion,))]
    reliability = f"reliability-{output}.png"
    true = ctx.true(output)
    curves = {ctx.raw_path.name: (ctx.raw_probabilities[output], true)}
    if ctx.model is not ctx.raw:
        curves[ctx.model_path.name] = (ctx.probabilities[output], true)
    calibration.plot_reliability(curves, ctx.out_dir / reliability, title=f"{ctx.run_dir.name}: {what}")
    ece = numbers["ece"]
    text = (f"ECE {100 * ece['model']:.2f} % before calibration, {100 * ece['calibrated']:.2f} % after"
            if "calibrated" in ece else
            f"ECE {100 * ece['model']:.2f} %; not calibrated (`nnlab calibrate {ctx.run_dir}` fits a temperature)")
    sections.append(Section(f"reliability-{output}", f"{output}: calibration",
                            f"<p>{escape(text)} ({calibration.BINS} bins).</p>"
                            f'<img src="{reliability}" alt="reliability diagram">', (reliability,)))
    return sections


def curves_section(ctx):
    """The learning curves and the learning rate per epoch, from history.json."""
    from nnlab.core.plots import LEARNING_RATE, plot_history

    try:
        history = json.loads((ctx.run_dir / "history.json").read_text())
    except (OSError, ValueError):
        return Section("curves", "Learning curves", "<p>history.json is missing or unreadable.</p>")
    plot_history(history, ctx.out_dir / "curves.png", families=ctx.task.families(history), title=ctx.run_dir.name)
    rates = history.get(LEARNING_RATE) or []
    rows = [[epoch, *(history[key][epoch] if len(history[key]) > epoch else "" for key in history)]
            for epoch in range(len(history.get("loss", [])))]
    body = ('<img src="curves.png" alt="learning curves">'
            + table(["epoch", *history], rows))
    return Section("curves", "Learning curves and learning rate", body, ("curves.png",),
                   {"learning_rate": rates, "epochs": len(rows)})


def comparison_section(ctx, ctx_b, comparison):
    c = comparison
    picture = "comparison-confusion.png"
    output = c["output"]
    plot_confusion_pair((c["a"], ctx.outputs[output]["confusion_matrix"]), (c["b"], c["confusion_matrix_b"]),
                        ctx.outputs[output]["labels"], ctx.out_dir / picture)
    better = ("a is better" if c["p_value"] < 0.05 and c["low"] > 0 else
              "b is better" if c["p_value"] < 0.05 and c["high"] < 0 else "no significant difference")
    summary = table(["", "value"], [
        [f"accuracy of a ({c['a']})", c["accuracy_a"]], [f"accuracy of b ({c['b']})", c["accuracy_b"]],
        ["difference a - b", c["difference"]],
        [f"bootstrap 95 % interval ({c['resamples']} resamples)", f"{c['low']:+.4f} .. {c['high']:+.4f}"],
        ["only a right / only b right", f"{c['only_a_right']} / {c['only_b_right']}"],
        ["McNemar's exact p-value", f"{c['p_value']:.3g}"], ["verdict (p < 0.05, interval excludes 0)", better],
        ["items where they disagree", c["disagreements"]]])
    rows = [[d["index"], d["true"], d["a"], d["a_probability"], d["b"], d["b_probability"]]
            for d in c["disagreeing_items"]]
    body = (f"<p>{escape(output)} on the same {c['items']:,} {ctx.split} items.</p>{summary}"
            f'<img src="{picture}" alt="both confusion matrices">'
            f"<h3>Where they disagree (first {len(rows)})</h3>"
            + table(["item", "true", "a", "a probability", "b", "b probability"], rows))
    return Section("comparison", f"{c['a']} (a) against {c['b']} (b)", body, (picture,))


def write_index(ctx, sections):
    """index.html: the sections in order, pictures from the report folder."""
    from nnlab.core.runs import write_text

    parts = [f"<section id={escape(s.key)}><h2>{escape(s.title)}</h2>{s.html}</section>" for s in sections]
    toc = "".join(f'<li><a href="#{escape(s.key)}">{escape(s.title)}</a></li>' for s in sections)
    page = (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(ctx.run_dir.name)}: report"
            f"</title><style>{STYLE}</style></head><body><h1>{escape(ctx.run_dir.name)}: what the model learned</h1>"
            f"<p class=note>{escape(ctx.task.name)} run, {escape(ctx.split)} split; model "
            f"{escape(ctx.model_path.name)} ({escape(ctx.note)}). Numbers: report.json.</p>"
            f"<ul>{toc}</ul>{''.join(parts)}</body></html>\n")
    return write_text(Path(ctx.out_dir) / "index.html", page)
