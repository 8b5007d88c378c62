"""Bounds on one config evaluation: steps, Starlark time and memory.

The Starlark engine has no limits of its own, so the config text is instrumented
(``config.source.instrument``): each loop or comprehension iteration and each call
of a dialect function is a *step*; the strings and lists built by ``+``, ``*``,
``%`` and ``range()`` are *memory* (the engine's garbage collector is off during
an evaluation, so what is built stays allocated until the evaluation ends); and
the clock is checked at every step. Time spent inside dialect functions (pip,
downloads) does not count against the time limit: only time spent running
Starlark does.

Defaults are far above what real configs use (a few thousand steps, a few
milliseconds, kilobytes). The step limit also bounds how deeply a config can nest
values (one step per level), which the evaluation thread's stack is sized for.
Each can be changed with an environment variable or the matching command-line
option (``--eval-max-steps``, ``--eval-max-seconds``, ``--eval-max-memory``);
``0`` disables a limit.
"""

from __future__ import annotations

import contextvars
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from pyoxidizer_py.errors import ConfigError

__all__ = [
    "ENV_MAX_MEMORY",
    "ENV_MAX_SECONDS",
    "ENV_MAX_STEPS",
    "Budget",
    "EvaluationLimits",
    "LimitExceeded",
    "current_budget",
    "using_budget",
]

ENV_MAX_STEPS = "PYOXIDIZER_PY_EVAL_MAX_STEPS"
ENV_MAX_SECONDS = "PYOXIDIZER_PY_EVAL_MAX_SECONDS"
ENV_MAX_MEMORY = "PYOXIDIZER_PY_EVAL_MAX_MEMORY"


class LimitExceeded(ConfigError):
    """An evaluation limit was reached (the message names the limit and how to raise it)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class EvaluationLimits:
    """Limits of one evaluation (0 = unlimited).

    Attributes:
        max_steps: loop iterations plus dialect function calls.
        max_seconds: seconds spent running Starlark (time inside dialect functions excluded).
        max_memory_mib: MiB of strings and lists built by the config (1 MiB = 2**20 bytes).
    """

    max_steps: int = 2_000_000
    max_seconds: float = 60.0
    max_memory_mib: int = 512

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> EvaluationLimits:
        """Read the limits from ``PYOXIDIZER_PY_EVAL_MAX_STEPS`` / ``_SECONDS`` / ``_MEMORY``.

        Raises:
            ConfigError: a value is not a non-negative number.
        """
        env = os.environ if environ is None else environ
        default = cls()

        def number(name: str, fallback: float, kind: type) -> float:
            raw = env.get(name, "").strip()
            if not raw:
                return fallback
            try:
                value = kind(raw)
            except ValueError:
                raise ConfigError(f"{name}={raw!r}: expected a non-negative {kind.__name__}") from None
            if value < 0:
                raise ConfigError(f"{name}={raw!r}: expected a non-negative {kind.__name__}")
            return value  # type: ignore[no-any-return]

        return cls(
            max_steps=int(number(ENV_MAX_STEPS, default.max_steps, int)),
            max_seconds=float(number(ENV_MAX_SECONDS, default.max_seconds, float)),
            max_memory_mib=int(number(ENV_MAX_MEMORY, default.max_memory_mib, int)),
        )


# Bytes charged per element of a list, tuple or range (a value slot in the engine's heap).
ELEMENT_BYTES = 16


@dataclass(kw_only=True)
class Budget:
    """What an evaluation has used so far; raises ``LimitExceeded`` past a limit.

    Attributes:
        limits: the limits.
        steps: steps taken.
        memory: bytes built.
    """

    limits: EvaluationLimits
    steps: int = 0
    memory: int = 0
    _started: float = field(default_factory=time.monotonic)
    _host_time: float = 0.0
    _host_depth: int = 0
    _host_entered: float = 0.0

    def starlark_seconds(self) -> float:
        """Seconds spent running Starlark so far."""
        now = self._host_entered if self._host_depth else time.monotonic()
        return now - self._started - self._host_time

    def step(self, count: int = 1) -> None:
        """Count ``count`` steps and check the clock."""
        self.steps += count
        lim = self.limits
        if lim.max_steps and self.steps > lim.max_steps:
            raise LimitExceeded(
                f"evaluation exceeded the step limit of {lim.max_steps} loop iterations and calls "
                f"(raise it with --eval-max-steps or {ENV_MAX_STEPS})"
            )
        if lim.max_seconds and self.starlark_seconds() > lim.max_seconds:
            raise LimitExceeded(
                f"evaluation exceeded the time limit of {lim.max_seconds:g} seconds of Starlark execution "
                f"(raise it with --eval-max-seconds or {ENV_MAX_SECONDS})"
            )

    def allocate(self, nbytes: int) -> None:
        """Charge ``nbytes`` of built strings/lists (checked before the engine builds them)."""
        self.memory += max(nbytes, 0)
        lim = self.limits
        if lim.max_memory_mib and self.memory > lim.max_memory_mib * 2**20:
            raise LimitExceeded(
                f"evaluation exceeded the memory limit of {lim.max_memory_mib} MiB of strings and lists "
                f"(raise it with --eval-max-memory or {ENV_MAX_MEMORY})"
            )
        self.step()

    def enter_host(self) -> None:
        """A dialect function starts: its time is not Starlark time."""
        if self._host_depth == 0:
            self._host_entered = time.monotonic()
        self._host_depth += 1

    def in_host(self) -> bool:
        """Whether a dialect function is running."""
        return self._host_depth > 0

    def leave_host(self) -> None:
        """A dialect function returned."""
        self._host_depth -= 1
        if self._host_depth == 0:
            self._host_time += time.monotonic() - self._host_entered


_BUDGET: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("pyoxidizer_py_budget", default=None)


def current_budget() -> Budget | None:
    """The budget of the evaluation in progress, if any."""
    return _BUDGET.get()


class using_budget:
    """``with using_budget(budget):`` makes ``budget`` the current one."""

    def __init__(self, budget: Budget) -> None:
        self._budget = budget
        self._token: contextvars.Token[Budget | None] | None = None

    def __enter__(self) -> Budget:
        self._token = _BUDGET.set(self._budget)
        return self._budget

    def __exit__(self, *exc: object) -> None:
        assert self._token is not None
        _BUDGET.reset(self._token)
