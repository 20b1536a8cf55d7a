"""What ``nnlab report`` adds for ticket runs (nnlab.core.report finds this module by name).

The core's sections already give the per-department report (scikit-learn's, per class) and the
department confusion matrix. Here:

- ``prepare``: the run's split read with the run's own vectorizer and department names
  (vectorizer.json), so the report scores exactly what the run was trained and tested on;
- the priority error (mean absolute error of the 0..1 score) by true department and by priority
  level (the run's named levels, else four bands of the score);
- the worst-routed tickets as text: the most confidently wrong department predictions, with
  title, body, tags, the true and the predicted department and its probability.
"""

import numpy as np

from nnlab.core.report import Section, escape

WORST = 12  # worst-routed tickets shown
BODY_CHARS = 300
BANDS = ("0-0.25", "0.25-0.5", "0.5-0.75", "0.75-1")


def prepare(run_dir, task, config):
    """``(task, splits)``: the task with the run's labels, the splits made with the run's vectorizer."""
    state = task.preprocessing(run_dir)
    task = task.with_labels(state.labels)
    return task, task.load_data(config, preprocessing=state)


def sections(ctx):
    result = []
    if "priority" in ctx.probabilities and isinstance(ctx.y, dict) and "priority" in ctx.y:
        result.append(priority_section(ctx))
    if "department" in ctx.outputs:
        result.append(worst_routed_section(ctx))
    return result


def _levels(ctx, true):
    """Each ticket's priority level name: the run's named levels (nearest), else a band of the score."""
    levels = ctx.config.levels() if hasattr(ctx.config, "levels") else None
    if levels:
        index = np.clip(np.rint(true * (len(levels) - 1)).astype(int), 0, len(levels) - 1)
        return [levels[i] for i in index], list(levels)
    index = np.clip((true * 4).astype(int), 0, 3)
    return [BANDS[i] for i in index], list(BANDS)


def priority_section(ctx):
    from nnlab.core.report_page import table

    true = np.asarray(ctx.y["priority"], dtype=float).reshape(-1)
    predicted = np.asarray(ctx.probabilities["priority"], dtype=float).reshape(-1)
    error = np.abs(predicted - true)
    departments = np.asarray(ctx.labels("department"))[ctx.true("department")]
    levels, order = _levels(ctx, true)
    data = {}
    html = f"<p>priority MAE on all {len(true):,} tickets: <b>{error.mean():.4f}</b></p>"
    for what, groups, names in (("department", departments, list(ctx.labels("department"))),
                                ("level", np.asarray(levels), order)):
        rows, data[f"by_{what}"] = [], {}
        for name in names:
            mask = groups == name
            if not mask.any():
                continue
            entry = {"tickets": int(mask.sum()), "mae": float(error[mask].mean()),
                     "mean_true": float(true[mask].mean()), "mean_predicted": float(predicted[mask].mean())}
            data[f"by_{what}"][name] = entry
            rows.append([name, entry["tickets"], entry["mae"], entry["mean_true"], entry["mean_predicted"]])
        html += f"<h3>By {what}</h3>" + table([what, "tickets", "MAE", "mean true", "mean predicted"], rows)
    data["mae"] = float(error.mean())
    return Section("priority", "Priority error by department and by level", html, (), data)


def worst_routed_section(ctx):
    from nnlab.core.report_page import table

    source = ctx.splits.source
    tickets = source.tickets.take(source.indices[ctx.split])
    rows, data = [], []
    for item in ctx.outputs["department"]["wrong"][:WORST]:
        i = item["index"]
        body = tickets.body[i]
        body = body if len(body) <= BODY_CHARS else body[:BODY_CHARS] + "…"
        entry = {**item, "title": tickets.title[i], "body": body, "tags": list(tickets.tags[i])}
        data.append(entry)
        rows.append([i, entry["title"], body, ", ".join(entry["tags"]), item["true"], item["predicted"],
                     item["probability"]])
    html = (f"<p class=note>The tickets of the {escape(ctx.split)} split sent to the wrong department with the "
            "highest probability.</p>"
            + table(["item", "title", "body", "tags", "true", "predicted", "probability"], rows,
                    text_columns=(1, 2, 3, 4, 5)))
    return Section("worst_routed", "Worst-routed tickets", html, (), data)
