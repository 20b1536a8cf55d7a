"""``nnlab runs list | show``: the run folders, their status and metrics; broken folders are shown, not fatal."""

import json
from pathlib import Path

import typer
from rich import box
from rich.markup import escape
from rich.table import Column, Table

from nnlab.cli.common import console, stoppable

app = typer.Typer(help="List and inspect training runs.", no_args_is_help=True)
RunsDir = typer.Option(Path("runs"), help="Folder of run folders.")


def _figure(metrics, split):
    values = (metrics or {}).get(split) or {}
    accuracy = next((v for k, v in values.items() if k.endswith("accuracy")), None)
    return "-" if accuracy is None else f"{accuracy:.4f}"


def _seconds(value):
    return "-" if value is None else f"{value:.2f}"


@app.command("list")
@stoppable
def runs_list(runs_dir: Path = RunsDir):
    """A table of runs and their metrics, newest first; broken or unfinished runs say why."""
    from nnlab.core.runs import list_runs

    rows = list_runs(runs_dir)
    if not rows:
        console.print(f"no runs in {runs_dir}/ yet; start one with `nnlab train --preset seeds-final`.")
        return
    # The run name may wrap; the figures never do (80 columns hold them).
    columns = [Column("run", overflow="fold"), Column("status", no_wrap=True, min_width=11),
               Column("model", overflow="fold"), *(Column(h, no_wrap=True, min_width=len(h))
                                                   for h in ("epochs", "best", "val_acc", "test_acc", "s/ep"))]
    table = Table(*columns, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, padding=(0, 1))
    broken = []
    for run in rows:
        m, c = run["metrics"] or {}, run["config"] or {}
        table.add_row(escape(run["name"]), run["status"], escape(str(c.get("model", "?"))),
                      str(m.get("epochs_run", "-")), str(m.get("best_epoch", "-")), _figure(m, "val"),
                      _figure(m, "test"), _seconds(m.get("seconds_per_epoch")))
        if run["broken"]:
            broken.append(f"{run['name']}: {run['broken']}")
    console.print(table)
    for line in broken:
        console.print(f"[yellow]broken[/] {escape(line)}", soft_wrap=True)
    if any(run["status"] in ("incomplete", "interrupted") for run in rows):
        console.print("incomplete or interrupted runs continue with `nnlab train --resume RUN`", soft_wrap=True)


@app.command("show")
@stoppable
def runs_show(name: str = typer.Argument(..., help="Run name (folder under --runs-dir) or path."),
              runs_dir: Path = RunsDir):
    """A run's status, resolved config, metrics and files."""
    from nnlab.core.runs import find_run, read_run

    path = find_run(name, runs_dir)
    run = read_run(path)
    console.print(f"[bold]{escape(run['name'])}[/] ({escape(str(path))}): {run['status']}")
    if run["broken"]:
        console.print(f"[yellow]broken:[/] {escape(run['broken'])}", soft_wrap=True)
    console.print_json(json.dumps({"config": run["config"], "metrics": run["metrics"]}))
    console.print("files: " + escape(", ".join(sorted(p.name for p in path.iterdir()))), soft_wrap=True)
