"""The errors that say the user's input is wrong, not the code: the tools print them as one ``error:`` line
(exit status 2) instead of a traceback (``--debug`` shows it)."""


class InputError(ValueError):
    """Bad input a user gave (a config file or a value in it, a checkpoint, a data set); the message names it
    and says what is allowed or what to do."""


class ConfigError(InputError):
    """A config that cannot be used: a file that is not there, or a value its model or runner refuses."""
