"""The ``nnlab`` command: ``nnlab COMMAND --help`` for each.

    nnlab data info | show              the Fashion-MNIST data            (nnlab/cli/data.py)
    nnlab train                         train, resume                     (nnlab/cli/train.py)
    nnlab evaluate                      score a run (both systems)        (nnlab/cli/evaluate.py)
    nnlab predict                       classify photos (both systems)    (nnlab/cli/predict.py)
    nnlab summary | plot-model          look at a model                   (nnlab/cli/models.py)
    nnlab calibrate                     temperature scaling of a run      (nnlab/cli/calibrate.py)
    nnlab runs list | show              the run folders                   (nnlab/cli/runs.py)
    nnlab reproduce                     the seeds' experiments            (nnlab/cli/reproduce.py)
    nnlab tickets ...                   ticket triage                     (nnlab/cli/tickets.py)
    nnlab serve                         the HTTP server and web pages     (nnlab/cli/serve.py)

``main`` is the entry point. How it ends:

    0    done (also: --help, and --resume of a run that had already finished)
    2    a user mistake: one line starting with ``error:`` that names the value and the fix
    130  Ctrl-C, at any moment: "interrupted" (a training run says how to continue it)
    1    the reader of our output went away (``nnlab ... | head``): quietly, as Rich does;
         or a bug: Python's own traceback

This module imports nothing heavy, so that Ctrl-C during start-up is handled too.
"""

import os
import signal
import sys


def _received(error, argv):
    """The value the user typed for the option a BadParameter error is about, if we can find it."""
    for opt in getattr(getattr(error, "param", None), "opts", None) or []:
        for i, token in enumerate(argv):
            if token == opt and i + 1 < len(argv):
                return argv[i + 1]
            if token.startswith(opt + "="):
                return token[len(opt) + 1:]
    return None


def _run(argv):
    import typer
    from rich.console import Console
    from rich.markup import escape

    from nnlab.cli.app import app
    from nnlab.cli.common import Stopped
    from nnlab.core.errors import AlreadyFinished, Interrupted, NnlabError

    stderr = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        try:
            code = app(argv, standalone_mode=False, prog_name="nnlab")
        except Stopped as stopped:
            raise stopped.interrupt from None
    except typer.Exit as done:
        code = done.exit_code
    except typer.Abort:  # Typer's own Ctrl-C at a prompt
        raise KeyboardInterrupt from None
    except typer.TyperException as error:  # Click's usage errors (Typer's public base class for them)
        if type(error).__name__ == "NoArgsIsHelpError":  # `nnlab` or `nnlab runs` alone: show the help
            print(error.format_message())
            return 0
        message = error.format_message()
        if isinstance(error, typer.BadParameter) and _received(error, argv) is not None:
            message += f"; got {_received(error, argv)!r}"
        ctx = getattr(error, "ctx", None)
        command = ctx.command_path if ctx is not None else "nnlab"
        stderr.print(f"[bold red]error:[/] {escape(message)} (see `{command} --help`)")
        return 2
    except NnlabError as error:
        stderr.print(f"[bold red]error:[/] {escape(str(error))}")
        return 2
    except Interrupted as stop:
        hint = f"; continue with: nnlab train --resume {stop.run_dir}" if stop.run_dir else ""
        stderr.print(f"interrupted after {stop.epochs_done} finished epochs{escape(hint)}")
        return 130
    except AlreadyFinished as finished:
        stderr.print(escape(str(finished)))
        return 0
    if code == 130:  # Typer's answer to Ctrl-C outside a command (while parsing): say it as we do
        stderr.print("interrupted")
    return code if isinstance(code, int) else 0


def main(argv=None):
    """Run ``nnlab`` with ``argv`` (default: the command line) and exit with the status above."""
    argv = sys.argv[1:] if argv is None else list(argv)
    from nnlab.core import interrupt

    previous = interrupt.install()  # before the heavy imports: Ctrl-C is never lost, nor aborts an import
    interrupt.reset()
    try:
        code = _run(argv)
        if code == 0 and interrupt.pressed():
            # Ctrl-C came during an import and its retry never landed before the command ended: still
            # an interrupted command (a shell loop over nnlab stops), not a success.
            raise KeyboardInterrupt
        sys.stdout.flush()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        code = 130
    except BrokenPipeError:
        # The reader closed the pipe: point stdout at /dev/null so Python's exit flush stays quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    sys.exit(code)
