"""What a command reports to a person: one line and an exit code, never a traceback.

Engines (daemon, recorder, web server) raise :class:`UserError`; only the CLI
(`monitor.cli.main`) turns it into text on stderr and an exit status.
"""

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class UserError(Exception):
    """A failure to report as one line (and an exit code), not a traceback."""

    def __init__(self, message: str, exit_code: int = EXIT_FAIL):
        super().__init__(message)
        self.exit_code = exit_code
