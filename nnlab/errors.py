"""The one exception type for user mistakes.

Everything a user can get wrong (a bad flag, a missing file, data in the wrong
format) raises :class:`NnlabError` with a message that names the value received,
what was expected and how to fix it. The command line prints that message on one
line and exits with status 2; anything else is a bug and keeps its traceback.
"""


class NnlabError(ValueError):
    """A user mistake, explained: what was received, what was expected, the fix."""
