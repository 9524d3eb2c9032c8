"""The failures a user can act on, whatever raises them: the command line shows their message
as one line, not a traceback."""


class Refused(Exception):
    """Something the user asked for cannot be done; the message says why, and what to do."""
