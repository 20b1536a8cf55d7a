"""The Typer application: every command group of ``nnlab``, assembled, and the helpers they share."""

import nnlab  # noqa: F401  sets the Keras backend before anything imports keras

import typer

from nnlab.cli import calibrate, data, reproduce, runs, serve, tickets, train
from nnlab.cli.common import stoppable

app = typer.Typer(help="Train, compare, save, restore and serve Keras models: the lucky-bag Fashion-MNIST "
                       "classifier and ticket triage.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
app.add_typer(data.app, name="data")
app.add_typer(runs.app, name="runs")
app.add_typer(tickets.app, name="tickets")
for command in (train.train, train.evaluate, train.predict, train.summary):
    app.command()(stoppable(command))
app.command("plot-model")(stoppable(train.plot_model))
app.command()(stoppable(reproduce.reproduce))
app.command()(stoppable(calibrate.calibrate))
app.command()(stoppable(serve.serve))
from nnlab.cli import report  # noqa: E402  (issue 20; kept apart from the imports above to merge cleanly)
app.command()(stoppable(report.report))
