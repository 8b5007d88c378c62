"""The ``pyoxidizer_py`` loggers for code on the start-up path of ``list-targets``, configured on first use.

Importing :mod:`logging` costs a few milliseconds (it loads ``traceback``, ``string`` and compiles
format patterns), about a tenth of what ``list-targets`` takes in all. The CLI therefore hands its
logging setup (handler, level, progress mode) to ``defer()`` for ``list-targets``, which usually
logs nothing; every other command runs the setup at start. Code on the ``list-targets`` path gets
its logger from ``logger()``, which runs a deferred setup first; code that leaves that path for
stages that log through ``logging.getLogger()`` directly (the Python dialect types, distribution
resolution) calls ``configure_now()`` before importing them.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up)
if TYPE_CHECKING:
    import logging
    from collections.abc import Callable

__all__ = ["configure_now", "defer", "logger"]

_pending: list[Callable[[], None]] = []


def defer(setup: Callable[[], None]) -> None:
    """Keep ``setup`` (a function configuring :mod:`logging`) until logging is first needed.

    Args:
        setup: called once, by the first ``logger()`` or ``configure_now()``; replaces any
            setup deferred before.
    """
    _pending[:] = [setup]


def configure_now() -> None:
    """Run the deferred setup, if any (a no-op afterwards and when nothing was deferred)."""
    while _pending:
        _pending.pop()()


def logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)``, after running any deferred setup.

    Args:
        name: the logger's name (``pyoxidizer_py.config``).

    Returns:
        The logger.
    """
    import logging

    configure_now()
    return logging.getLogger(name)
