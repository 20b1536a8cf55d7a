"""The Typer application: every command group of ``nnlab``, assembled, and the helpers they share."""

import nnlab  # noqa: F401  sets the Keras backend before anything imports keras

import typer

from nnlab.cli import calibrate, config, data, reproduce, runs, serve, sweep, tickets, train
from nnlab.cli.common import stoppable

app = typer.Typer(help="Train, compare, save, restore and serve Keras models: the lucky-bag Fashion-MNIST "
                       "classifier and ticket triage.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
app.add_typer(data.app, name="data")
app.add_typer(runs.app, name="runs")
app.add_typer(tickets.app, name="tickets")
app.add_typer(config.app, name="config")
for command in (train.train, train.evaluate, train.predict, train.summary):
    app.command()(stoppable(command))
app.command("plot-model")(stoppable(train.plot_model))
app.command()(stoppable(reproduce.reproduce))
app.command()(stoppable(calibrate.calibrate))
app.command()(stoppable(serve.serve))
app.command()(stoppable(sweep.sweep))
