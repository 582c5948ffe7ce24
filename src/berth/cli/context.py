"""What every command gets: the daemon's address, a lazily made client, output streams,
and the translation of errors into messages and exit codes (docker's wording)."""

from __future__ import annotations

import sys

from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

    from berth.client.api import Client

__all__ = ["DAEMON_ERROR_STATUS", "DEFAULT_HOST", "Cli", "CliError"]

DEFAULT_HOST = "unix:///run/berth/berth.sock"

# docker exits 1 when the daemon answers an error or cannot be reached, except for the
# commands that run a container (run, create, start -a …), which use 125 so that a
# container's own status stays distinguishable; those commands pass 125 explicitly.
DAEMON_ERROR_STATUS = 1


class CliError(Exception):
    """End the command: print ``message`` (if any) on stderr, exit with ``status``."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


class Cli:
    def __init__(
        self,
        host: str,
        debug: bool = False,
        api_version: str | None = None,
        out: TextIO | None = None,
        err: TextIO | None = None,
    ) -> None:
        self.host = host
        self.debug = debug
        self.pinned_version = api_version
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            from berth.client.api import Client

            try:
                self._client = Client(self.host, self.pinned_version)
            except BerthError as exc:
                raise self.error(exc) from None
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def error(self, exc: BerthError, status: int = DAEMON_ERROR_STATUS) -> CliError:
        """The CliError for a failed call: ``Error response from daemon: …`` when the
        daemon answered, the message alone otherwise (cannot connect, bad host)."""
        if getattr(exc, "from_daemon", False):
            return CliError(f"Error response from daemon: {exc.message}", status)
        return CliError(exc.message, status)
