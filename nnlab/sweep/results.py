"""Results stage: what a sweep found, as ``results.csv``, ``best.yaml`` and an offline ``report.html``.

- ``results.csv``: one row per trial: its number and status, each dotted key of the
  space, the metric (mean over repeats, with its std), every final val/test figure
  of its runs (mean over repeats), seconds, run folders, and why it failed or was pruned.
- ``best.yaml``: the best trial's settings, a file ``nnlab train --config`` takes.
- ``report.html``: one file that opens offline: a sortable table of the trials, the
  metric against each parameter, parallel coordinates, the top trials' curves and,
  with enough finished trials, parameter importance (Optuna's own plots).
"""

import base64
import csv
import html
import io
import json
import math
import warnings
from pathlib import Path

import yaml

from nnlab.core.runs import write_text
from nnlab.sweep import search
from nnlab.sweep.trials import resolved_settings

TOP_CURVES = 5


def _figures(run_dirs):
    """Mean of each final val/test figure over a trial's runs (``val_accuracy``, ``test_loss``, ...)."""
    sums, counts = {}, {}
    for run_dir in run_dirs:
        try:
            metrics = json.loads((Path(run_dir) / "metrics.json").read_text())
        except (OSError, ValueError):
            continue
        for split in ("val", "test"):
            for name, value in (metrics.get(split) or {}).items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    key = f"{split}_{name}"
                    sums[key], counts[key] = sums.get(key, 0.0) + value, counts.get(key, 0) + 1
    return {key: sums[key] / counts[key] for key in sums}


def rows(study, state, sweep_dir):
    """The trials that count (a continued trial appears once), in order, as dicts."""
    spec, metric = state["spec"], state["metric"]
    recorded = search.failures(sweep_dir)
    out = []
    for trial in search.counted(study.get_trials(deepcopy=False)):
        if trial.state.name == "WAITING":  # queued, not started: not a trial yet
            continue
        attrs = trial.user_attrs
        status = attrs.get("status") or {"RUNNING": "running", "WAITING": "waiting", "FAIL": "failed",
                                          "COMPLETE": "complete", "PRUNED": "pruned"}[trial.state.name]
        params = search.decoded_params(trial, spec)
        row = {"trial": attrs.get("folder", trial.number), "status": status}
        row.update({key: json.dumps(params[key]) if isinstance(params.get(key), (list, dict)) else params.get(key)
                    for key in spec.space})
        row[metric] = trial.value if trial.value is not None else _mean(attrs.get("scores"))
        if spec.repeats > 1:
            row[f"{metric}_std"] = attrs.get("std")
        row.update(_figures(attrs.get("runs", [])))
        row["seconds"] = attrs.get("seconds")
        row["runs"] = ";".join(attrs.get("runs", []))
        row["reason"] = attrs.get("reason") or recorded.get(str(trial.number), "")
        out.append(row)
    return sorted(out, key=lambda row: row["trial"])


def _mean(scores):
    finite = [s for s in scores or [] if s is not None and math.isfinite(s)]
    return sum(finite) / len(finite) if finite else None


def best_row(table, state):
    done = [row for row in table if row["status"] == "complete" and row[state["metric"]] is not None]
    if not done:
        return None
    pick = max if state["direction"] == "max" else min
    return pick(done, key=lambda row: row[state["metric"]])


def write_csv(table, path):
    columns = []
    for row in table:
        columns += [key for key in row if key not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in table:
        writer.writerow({key: "" if row.get(key) is None else row.get(key) for key in columns})
    write_text(path, buffer.getvalue())


def write_best(best, path):
    """The best trial's resolved settings (its first run's), as a YAML settings file."""
    first = best["runs"].split(";")[0]
    settings = resolved_settings(first)
    header = (f"# best trial {best['trial']} of the sweep in {Path(path).parent}: nnlab train --config {path}\n")
    write_text(path, header + yaml.safe_dump(settings, sort_keys=False))


def write_all(study, state, sweep_dir):
    """results.csv, best.yaml (when a trial finished) and report.html; returns (rows, best row)."""
    sweep_dir = Path(sweep_dir)
    table = rows(study, state, sweep_dir)
    write_csv(table, sweep_dir / "results.csv")
    best = best_row(table, state)
    if best is not None:
        write_best(best, sweep_dir / "best.yaml")
    write_text(sweep_dir / "report.html", report_html(study, state, table, best))
    return table, best


# ---------------------------------------------------------------- report.html


def _png(figure):
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return f'<img alt="" src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}">'


def _optuna_plot(plot, study, **kwargs):
    """One of Optuna's matplotlib plots as an <img>, or None where it has nothing to draw."""
    import matplotlib

    matplotlib.use("Agg")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna marks its matplotlib plots experimental
        try:
            axes = plot(study, **kwargs)
        except (ValueError, RuntimeError, ZeroDivisionError, IndexError):
            return None
    first = axes.flat[0] if hasattr(axes, "flat") else axes
    return _png(first.figure)


def _curves(table, state):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metric, done = state["metric"], [row for row in table if row[state["metric"]] is not None]
    done.sort(key=lambda row: row[metric], reverse=state["direction"] == "max")
    figure, axis = plt.subplots(figsize=(7, 4))
    drawn = 0
    for row in done[:TOP_CURVES]:
        run = row["runs"].split(";")[0]
        try:
            history = json.loads((Path(run) / "history.json").read_text())
        except (OSError, ValueError):
            continue
        values = history.get(metric, [])
        axis.plot(range(1, len(values) + 1), values, marker="o", label=f"trial {row['trial']}")
        drawn += 1
    if not drawn:
        plt.close(figure)
        return None
    axis.set_xlabel("epoch")
    axis.set_ylabel(metric)
    axis.legend()
    axis.set_title(f"{metric} per epoch, best {drawn} trials")
    return _png(figure)


def report_html(study, state, table, best):
    from optuna.visualization import matplotlib as plots

    spec, metric = state["spec"], state["metric"]
    finished = [row for row in table if row[metric] is not None]
    sections = []
    if finished:
        sections.append(("The metric against each parameter", _optuna_plot(plots.plot_slice, study)))
        if len(spec.space) > 1:
            sections.append(("Parallel coordinates", _optuna_plot(plots.plot_parallel_coordinate, study)))
        sections.append(("Curves of the best trials", _curves(table, state)))
        complete = [row for row in table if row["status"] == "complete"]
        if len(spec.space) > 1 and len(complete) >= 4:
            sections.append(("Parameter importance (Optuna's fANOVA)",
                             _optuna_plot(plots.plot_param_importances, study)))
    columns = []
    for row in table:
        columns += [key for key in row if key not in columns and key != "runs"]
    head = "".join(f"<th onclick=\"sortBy({i})\">{html.escape(str(c))}</th>" for i, c in enumerate(columns))
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell(row.get(c)))}</td>" for c in columns) + "</tr>"
                   for row in table)
    figures = "".join(f"<h2>{html.escape(title)}</h2>{image}" for title, image in sections if image)
    best_line = (f"best: trial {best['trial']}, {metric} = {cell(best[metric])} (settings in best.yaml)"
                 if best else "no trial has finished yet")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>nnlab sweep</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}} th{{cursor:pointer;background:#eee}}
img{{max-width:100%}}</style></head><body>
<h1>Sweep: {html.escape(spec.name or "")} ({html.escape(spec.task)})</h1>
<p>{len(table)} trials, metric {html.escape(metric)} ({state["direction"]}); {html.escape(best_line)}.
Click a column's name to sort.</p>
<table id="trials"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
{figures}
<script>
function sortBy(col) {{
  const body = document.querySelector("#trials tbody");
  const rows = Array.from(body.rows);
  const asc = body.dataset.col == col ? body.dataset.asc != "true" : true;
  const key = r => {{ const t = r.cells[col].textContent; const n = parseFloat(t); return isNaN(n) ? t : n; }};
  rows.sort((a, b) => (key(a) > key(b) ? 1 : key(a) < key(b) ? -1 : 0) * (asc ? 1 : -1));
  rows.forEach(r => body.appendChild(r));
  body.dataset.col = col; body.dataset.asc = asc;
}}
</script></body></html>
"""


def cell(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def summary_line(table, best, metric, sweep_dir):
    """The sweep's last line: how many trials completed, the files written and the best trial."""
    done = [row for row in table if row["status"] == "complete"]
    return (f"{len(done)} of {len(table)} trials complete; results.csv, report.html"
            + (f", best.yaml (trial {best['trial']}, {metric} {best[metric]:.4f})" if best else "")
            + f" in {sweep_dir}")

