"""The ``nnlab reproduce`` report, rendered from its results: ``index.html``, ``README.md``, the console table.

    >>> from nnlab.seeds.report import write_report
    >>> write_report(json.loads(Path("reports/reproduce/results.json").read_text()), "reports/reproduce")

Rendering only: results.json is read and written by ``nnlab.seeds.results``.
Both pages are written atomically (temp file, then rename). ``index.html`` opens
offline: plots are embedded as base64 PNG and the CSS is inline. ``README.md`` has
the same tables and links the PNG files in ``plots/``.
"""

import base64
import datetime
import html
from pathlib import Path

from nnlab.core.runs import write_text
from nnlab.seeds import experiments

RULES = (
    "Each figure is judged with tol = max(2 × std, 0.01), std over the repeats (0 for one repeat).",
    "A value matches when |seeds − mean| ≤ tol; a range (lo – hi) matches when lo − tol ≤ mean ≤ hi + tol.",
    "A claim (yes/no) matches when it holds in every repeat.",
    "“~N epochs” in the seeds (counted from 1) is read as the 0-based epochs N−2 … N.",
    "“Rises after its minimum” means the last val loss is more than 10 % above the lowest.",
    "A reason is given only for a figure that differs, and only as far as the run measured it: "
    "“quick check” when --limit/--epochs used less data or fewer epochs than the seeds; "
    "with --repeats 3 or more, whether the seeds' figure lies within the range of the repeats' values "
    "(“within the spread over seeds”, naming the seeds and the range) or outside it (“not explained”).",
    "Any other difference is “not explained”; a guess at its cause is shown only as an “untested hypothesis”.",
)
TARGET = "≤ 8 min for --repeats 1 on 2 CPU cores"
CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2rem auto;max-width:1100px;
     padding:0 1rem;color:#222;line-height:1.4}
h1{font-size:1.6rem} h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem} th,td{border:1px solid #ddd;padding:.25rem .5rem;
     text-align:left;vertical-align:top} th{background:#f4f4f4} td.num{text-align:right;white-space:nowrap}
.matches{color:#11772d;font-weight:600} .differs{color:#b3261e;font-weight:600} .measured,.missing{color:#777}
.warn{background:#fff4ce;border:1px solid #e0c060;padding:.5rem .8rem} .setup{color:#444}
pre{background:#f7f7f7;padding:.6rem;overflow-x:auto;font-size:.8rem;line-height:1.2}
figure{margin:1rem 0} img{max-width:100%;border:1px solid #eee} figcaption{color:#555;font-size:.85rem}
.reason{color:#555;font-size:.85rem}
"""


def _number(value, digits, n=1):
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if digits == 0:
        return f"{value:,.0f}" if n == 1 or float(value).is_integer() else f"{value:,.1f}"
    if value and abs(value) < 0.5 * 10 ** -digits:  # e.g. a McNemar p-value: 3.1e-152, not 0.0000
        return f"{value:.1e}"
    return f"{value:.{digits}f}"


def seeds_text(figure):
    if figure.get("seeds_text"):
        return figure["seeds_text"]
    seeds, digits = figure["seeds"], figure["digits"]
    if isinstance(seeds, list):
        return f"{_number(seeds[0], digits)} – {_number(seeds[1], digits)}"
    return _number(seeds, digits)


def measured_text(figure):
    values = [v for v in figure["values"] if v is not None]
    if not values:
        return "—"
    if isinstance(figure["seeds"], bool):
        held = sum(map(bool, values))
        if held in (0, len(values)):
            return "yes" if held else "no"
        return f"yes in {held} of {len(values)}"
    text = _number(figure["mean"], figure["digits"], len(values))
    if len(values) > 1:
        std_digits = figure["digits"] or 1
        text += f" ± {figure['std']:.{std_digits}f} (n={len(values)})"
    return text


def figure_row(figure):
    """Display strings of one figure: label, seeds, measured, verdict, reason."""
    return {"label": figure["label"], "seeds": seeds_text(figure), "measured": measured_text(figure),
            "verdict": figure["verdict"], "reason": figure.get("reason") or ""}


def _settings_lines(results):
    settings, versions = results["settings"], results.get("versions", {})
    lines = [f"seeds {', '.join(map(str, settings['seeds']))} ({settings['repeats']} repeat"
             f"{'s' if settings['repeats'] > 1 else ''} per experiment); data split random_state=42"]
    if settings.get("limit") or settings.get("max_epochs"):
        lines.append(f"quick check: --limit {settings.get('limit')} --epochs {settings.get('max_epochs')}")
    lines.append(f"Keras {versions.get('keras')} on {versions.get('backend')} {versions.get('backend_version')}, "
                 f"nnlab {versions.get('nnlab')}, Python {versions.get('python')}, git "
                 f"{versions.get('git_commit')}, {results.get('cpu_count')} CPU cores")
    lines.append(f"data: {results.get('data')}")
    total = results.get("total_seconds", 0)
    wall = f"; {_clock(results['wall_seconds'])} for the last call, data loading included" \
        if results.get("wall_seconds") else ""
    lines.append(f"elapsed: {_clock(total)} for the experiments in this report{wall} (target {TARGET})")
    return lines


def _clock(seconds):
    minutes, seconds = divmod(int(round(seconds or 0)), 60)
    return f"{minutes} min {seconds:02d} s"


def _counts(results):
    figures = [f for e in results["experiments"].values() for f in e["figures"]]
    verdicts = [f["verdict"] for f in figures]
    unexplained = sum(f["verdict"] == "differs" and f.get("explained") is False for f in figures)
    return verdicts.count("matches"), verdicts.count("differs"), unexplained


def count_line(results):
    """``"31 figures match, 4 differ (2 not explained)."``"""
    matches, differs, unexplained = _counts(results)
    match = "1 figure matches" if matches == 1 else f"{matches} figures match"
    if not differs:
        return f"{match}, 0 differ."
    if not unexplained:
        return f"{match}, {differs} differ, each with a measured reason."
    return f"{match}, {differs} differ ({unexplained} not explained)."


SOURCES = {"trained": "trained now", "resumed": "interrupted run continued", "shared": "shared",
           "reused": "finished in an earlier call"}


def _run_lines(experiment):
    lines = []
    for name, run in experiment["repeats"][0]["runs"].items():
        part = f"first {run['epochs']} of {run['of']} epochs of " if run["epochs"] != run["of"] else ""
        source = SOURCES.get(run.get("source"), run.get("source"))
        lines.append(f"{name}: {part}{run['dir']}" + (f" ({source})" if source else ""))
    return lines


# ---------------------------------------------------------------- HTML


def _table(header, rows, classes=None):
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cells = []
        for j, cell in enumerate(row):
            css = (classes or {}).get((i, j), "")
            cells.append(f"<td class=\"{css}\">{html.escape(str(cell))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _figure_table(records, with_id):
    rows, classes = [], {}
    for experiment in records:
        for figure in experiment["figures"]:
            row = figure_row(figure)
            cells = [row["label"], row["seeds"], row["measured"], row["verdict"], row["reason"]]
            rows.append(([experiment["id"]] if with_id else []) + cells)
            offset = 1 if with_id else 0
            classes[(len(rows) - 1, 3 + offset)] = row["verdict"]
            classes[(len(rows) - 1, 1 + offset)] = classes[(len(rows) - 1, 2 + offset)] = "num"
            classes[(len(rows) - 1, 4 + offset)] = "reason"
    header = (["exp"] if with_id else []) + ["figure", "seeds report", "nnlab measured", "verdict", "reason"]
    return _table(header, rows, classes)


def _image(out, plot):
    path = Path(out) / plot["file"]
    if not path.is_file():
        return f"<p>(missing plot {html.escape(plot['file'])})</p>"
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f"<figure><img alt=\"{html.escape(plot['caption'])}\" src=\"data:image/png;base64,{data}\">"
            f"<figcaption>{html.escape(plot['caption'])} ({html.escape(plot['file'])})</figcaption></figure>")


def _details_html(details):
    parts = []
    for key, value in details.items():
        if key == "summaries":
            for way, text in value.items():
                parts.append(f"<p>summary(), {html.escape(way)}:</p><pre>{html.escape(text)}</pre>")
        elif isinstance(value, dict):
            items = ", ".join(f"{k}: {v}" for k, v in value.items())
            parts.append(f"<p>{html.escape(key.replace('_', ' '))}: {html.escape(items)}</p>")
        else:
            parts.append(f"<p>{html.escape(key.replace('_', ' '))}: {html.escape(str(value))}</p>")
    return "".join(parts)


def render_html(results, out):
    records = list(results["experiments"].values())
    parts = ["<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">",
             "<title>nnlab reproduce: the seeds' experiments</title>", f"<style>{CSS}</style></head><body>",
             "<h1>nnlab reproduce: the seeds' experiments E1–E10</h1>",
             f"<p>{html.escape(count_line(results))} Generated "
             f"{datetime.datetime.now():%Y-%m-%d %H:%M} by <code>nnlab reproduce</code>.</p>"]
    settings = results["settings"]
    if settings.get("limit") or settings.get("max_epochs"):
        parts.append("<p class=\"warn\">Quick check with --limit/--epochs: not the seeds' data size or epochs, "
                     "so the verdicts say little.</p>")
    parts.append("<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in _settings_lines(results)) + "</ul>")
    parts.append("<h2>All figures</h2>" + _figure_table(records, with_id=True))
    parts.append("<h2>Elapsed time per experiment</h2>" + _table(
        ["exp", "experiment", "seconds"],
        [[e["id"], e["title"], f"{e['seconds']:.1f}"] for e in records]
        + [["total", "", f"{results.get('total_seconds', 0):.1f}"]],
        {(i, 2): "num" for i in range(len(records) + 1)}))
    parts.append("<h2>How figures are judged</h2><ul>"
                 + "".join(f"<li>{html.escape(rule)}</li>" for rule in RULES) + "</ul>")
    parts.append("<h2>Checked, not a cause of differences</h2><ul>"
                 + "".join(f"<li>{html.escape(note)}</li>" for note in experiments.NOTES) + "</ul>")
    for plot in results.get("plots", []):
        parts.append(_image(out, plot))
    for experiment in records:
        parts.append(f"<h2 id=\"{experiment['id']}\">{experiment['id']}: {html.escape(experiment['title'])}</h2>")
        parts.append(f"<p class=\"setup\">{html.escape(experiment['setup'])}</p>")
        parts.append(_figure_table([experiment], with_id=False))
        parts.append(_details_html(experiment.get("details", {})))
        for plot in experiment.get("plots", []):
            parts.append(_image(out, plot))
        runs = _run_lines(experiment)
        if runs:
            parts.append("<p>Run folders (seed " + str(experiment["repeats"][0]["seed"]) + "): "
                         + "; ".join(html.escape(line) for line in runs) + "</p>")
        parts.append(f"<p>{experiment['seconds']:.1f} s.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


# ---------------------------------------------------------------- Markdown


def _md_table(header, rows):
    escape = lambda cell: str(cell).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(escape(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _md_figures(records, with_id):
    rows = []
    for experiment in records:
        for figure in experiment["figures"]:
            row = figure_row(figure)
            verdict = f"**{row['verdict']}**" if row["verdict"] in ("matches", "differs") else row["verdict"]
            rows.append(([experiment["id"]] if with_id else [])
                        + [row["label"], row["seeds"], row["measured"], verdict, row["reason"]])
    header = (["exp"] if with_id else []) + ["figure", "seeds report", "nnlab measured", "verdict", "reason"]
    return _md_table(header, rows)


def render_markdown(results):
    records = list(results["experiments"].values())
    lines = ["# nnlab reproduce: the seeds' experiments E1–E10", "",
             f"{count_line(results)} Open `index.html` for the same report with the plots embedded.", ""]
    lines += [f"- {line}" for line in _settings_lines(results)] + ["", "## All figures", "",
                                                                     _md_figures(records, True), "",
                                                                     "## Elapsed time per experiment", ""]
    lines.append(_md_table(["exp", "experiment", "seconds"],
                           [[e["id"], e["title"], f"{e['seconds']:.1f}"] for e in records]
                           + [["total", "", f"{results.get('total_seconds', 0):.1f}"]]))
    lines += ["", "## How figures are judged", ""] + [f"- {rule}" for rule in RULES] + [""]
    lines += ["## Checked, not a cause of differences", ""] + [f"- {note}" for note in experiments.NOTES] + [""]
    lines += [f"![{p['caption']}]({p['file']})" for p in results.get("plots", [])]
    for experiment in records:
        lines += ["", f"## {experiment['id']}: {experiment['title']}", "", experiment["setup"], "",
                  _md_figures([experiment], False), ""]
        for key, value in experiment.get("details", {}).items():
            if key == "summaries":
                for way, text in value.items():
                    lines += [f"summary(), {way}:", "", "```", text, "```", ""]
            else:
                lines += [f"{key.replace('_', ' ')}: {value}", ""]
        lines += [f"![{p['caption']}]({p['file']})" for p in experiment.get("plots", [])]
        runs = _run_lines(experiment)
        if runs:
            lines += ["", "Run folders: " + "; ".join(f"`{line}`" for line in runs)]
        lines += ["", f"{experiment['seconds']:.1f} s."]
    return "\n".join(lines) + "\n"


def write_report(results, out):
    """Write ``out/index.html`` and ``out/README.md`` from a results dict; returns the HTML path."""
    out = Path(out)
    write_text(out / "README.md", render_markdown(results))
    return write_text(out / "index.html", render_html(results, out))


def print_summary(results, console):
    """The verdict table on the console."""
    from rich.table import Table

    table = Table("exp", "figure", "seeds", "measured", "verdict", title="seeds vs nnlab")
    colors = {"matches": "green", "differs": "red"}
    for experiment in results["experiments"].values():
        for figure in experiment["figures"]:
            row = figure_row(figure)
            color = colors.get(figure["verdict"], "dim")
            table.add_row(experiment["id"], row["label"], row["seeds"], row["measured"],
                          f"[{color}]{figure['verdict']}[/]")
    console.print(table)
    console.print(count_line(results) + (" Reasons are in the report." if _counts(results)[1] else ""))
