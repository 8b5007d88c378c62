"""Exception types raised by library code.

Library code raises these; only the CLI turns them into one ``error: ...`` line
on stderr and an exit status (see ``cli.EXIT_STATUS``). Every error carries
where the problem is: a config file location, a package, a URL or a path.
"""

from __future__ import annotations

__all__ = [
    "BuildError",
    "ConfigError",
    "DistributionError",
    "DownloadError",
    "PyOxidizerError",
    "ResourceError",
]


class PyOxidizerError(Exception):
    """Base of every error a user can cause.

    Args:
        message: one line saying what is wrong, naming the file, package or URL.
        hint: optional second line saying how to proceed.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigError(PyOxidizerError):
    """A mistake in a ``pyoxidizer.bzl`` file (syntax, runtime or dialect error).

    Args:
        message: what is wrong, without the location.
        file: path of the Starlark file, as given to the engine, or None when unknown.
        line: 1-based line number, or None.
        col: 1-based column number, or None.
        snippet: the source lines with a caret under the location (may be empty).
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        col: int | None = None,
        snippet: str = "",
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.file = file
        self.line = line
        self.col = col
        self.snippet = snippet

    @property
    def location(self) -> str:
        """``FILE:LINE:COL`` (or as much of it as is known), or an empty string."""
        if not self.file:
            return ""
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)

    def __str__(self) -> str:
        loc = self.location
        return f"{loc}: {self.message}" if loc else self.message


class DistributionError(PyOxidizerError):
    """A Python distribution cannot be found, downloaded, verified, extracted or used."""


class DownloadError(DistributionError):
    """A distribution archive could not be fetched (no network, a refused or failing server).

    The message is ``cannot download NAME: REASON`` and a second line with the URL; the hint names
    the offline routes. A config error made from it carries no source snippet: the config line
    that asked for the archive is not what is wrong.
    """


class ResourceError(PyOxidizerError):
    """Collecting Python resources failed (pip, a missing package root, a bad resource)."""


class BuildError(PyOxidizerError):
    """Generating or compiling the Rust project failed (cargo missing, compile error, link error)."""
