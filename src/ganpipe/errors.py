"""The one exception type a user is meant to read."""


class GanpipeError(Exception):
    """A problem the user can act on: the message names the file or key and what was wrong.

    Stage entry points print it as a single line (no traceback unless ``GANPIPE_DEBUG=1``
    or ``--debug``) and exit with status 2.
    """


class ConfigError(GanpipeError):
    """A params.yaml section is missing, has an unknown key, or a value of the wrong type or range."""


class DataError(GanpipeError):
    """An input data file is missing, malformed or inconsistent."""
