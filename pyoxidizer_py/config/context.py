"""Per-evaluation state of a ``pyoxidizer.bzl`` run, reached through a ``ContextVar``.

The engine's globals are built once per process, so dialect functions find the
current run here instead of closing over it.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pyoxidizer_py import logs
from pyoxidizer_py.config.targets import TargetRegistry

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (list-targets start-up)
if TYPE_CHECKING:
    from typing import Any

    from pyoxidizer_py.config.engine import StarlarkSession
    from pyoxidizer_py.distribution.model import Distribution

__all__ = ["DistributionRequest", "EvaluationContext", "current_context", "using_context"]


@dataclass(frozen=True, kw_only=True, slots=True)
class DistributionRequest:
    """What a config asked for; resolved into a ``Distribution`` only when first needed.

    Attributes:
        kind: ``"default"`` (``default_python_distribution()``) or ``"archive"``
            (``PythonDistribution(sha256, local_path=..., url=...)``).
        flavor: ``standalone``, ``standalone_static`` or ``standalone_dynamic``.
        build_target: target triple, or None for the build's triple.
        python_version: ``"X.Y"`` or None for the default version.
        sha256: expected archive digest (``archive`` only).
        url: archive URL (``archive`` only).
        local_path: archive path, absolute (``archive`` only).
    """

    kind: str
    flavor: str = "standalone"
    build_target: str | None = None
    python_version: str | None = None
    sha256: str | None = None
    url: str | None = None
    local_path: str | None = None


@dataclass(kw_only=True)
class EvaluationContext:
    """Everything a dialect function may need during one evaluation.

    Attributes:
        config_path: absolute path of the main ``pyoxidizer.bzl``.
        build_target_triple: ``BUILD_TARGET_TRIPLE``.
        vars: ``VARS`` (from ``--var`` / ``--var-env``).
        release: building in release mode.
        build_script_mode: evaluating for ``run-build-script``.
        build_path: where target outputs go (``set_build_path`` changes it).
        resolve_distribution: turns a ``DistributionRequest`` into a ``Distribution``.
        registry: targets and their resolved values.
        phase: 1 while the file evaluates, 2 while targets run.
        printed: lines printed by ``print()``.
        session: the engine session (set by ``config.evaluate``).
        inputs: files and directories the evaluation read (config, ``load()``ed files,
            package roots, local pip requirements); ``run-build-script`` prints a
            ``cargo:rerun-if-changed`` line for each.
        deferred_writes: files the config asked to write (``write_to_directory``); the
            build writes them, evaluation never does (``DeferredWrite`` records).
    """

    config_path: Path
    build_target_triple: str
    vars: dict[str, str | None]
    release: bool = False
    build_script_mode: bool = False
    build_path: Path = Path()
    resolve_distribution: Callable[[DistributionRequest], Distribution] | None = None
    registry: TargetRegistry = field(default_factory=TargetRegistry)
    phase: int = 0
    printed: list[str] = field(default_factory=list)
    session: StarlarkSession | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    inputs: set[Path] = field(default_factory=set)
    deferred_writes: list[Any] = field(default_factory=list)

    @property
    def cwd(self) -> Path:
        """``CWD``: the directory holding the config file (base of relative paths)."""
        return self.config_path.parent

    def print_line(self, text: str) -> None:
        """Sink for Starlark ``print()``: recorded and logged at warning level (PyOxidizer shows it by default)."""
        self.printed.append(text)
        # plain: no warning: prefix (progress.LogHandler)
        logs.logger("pyoxidizer_py.config").warning("%s", text, extra={"plain": True})

    def record_input(self, path: Path) -> None:
        """Remember that the build depends on ``path`` (a file or a directory tree), if it exists."""
        if path.exists():
            self.inputs.add(Path(os.path.abspath(path)))

    def resolve_path(self, path: str) -> Path:
        """Resolve a config-relative path against ``CWD``."""
        p = Path(path)
        return p if p.is_absolute() else (self.cwd / p)


_CURRENT: contextvars.ContextVar[EvaluationContext] = contextvars.ContextVar("pyoxidizer_py_evaluation")


def current_context() -> EvaluationContext:
    """Return the evaluation in progress.

    Raises:
        RuntimeError: called outside an evaluation.
    """
    try:
        return _CURRENT.get()
    except LookupError:
        raise RuntimeError("no pyoxidizer.bzl evaluation in progress") from None


class using_context:
    """``with using_context(ctx):`` makes ``ctx`` current for dialect functions."""

    def __init__(self, ctx: EvaluationContext) -> None:
        self._ctx = ctx
        self._token: contextvars.Token[EvaluationContext] | None = None

    def __enter__(self) -> EvaluationContext:
        self._token = _CURRENT.set(self._ctx)
        return self._ctx

    def __exit__(self, *exc: object) -> None:
        assert self._token is not None
        _CURRENT.reset(self._token)
