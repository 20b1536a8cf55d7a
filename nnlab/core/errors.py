"""The exception types a user sees.

Everything a user can get wrong (a bad flag, a missing file, data in the wrong
format) raises :class:`NnlabError` with a message that names the value received,
what was expected and how to fix it. The command line prints that message on one
line and exits with status 2; anything else is a bug and keeps its traceback.
"""


class NnlabError(ValueError):
    """A user mistake, explained: what was received, what was expected, the fix."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped a training run; its folder holds what is needed to continue (``run_dir``)."""

    def __init__(self, run_dir=None, epochs_done=0):
        super().__init__(f"interrupted after {epochs_done} epochs" + (f"; run folder {run_dir}" if run_dir else ""))
        self.run_dir, self.epochs_done = run_dir, epochs_done


class AlreadyFinished(Exception):
    """``resume`` was asked to continue a run that finished; nothing was rewritten."""
