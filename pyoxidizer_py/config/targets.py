"""Target registration and resolution, with PyOxidizer's rules (pyoxidizer-facts.md §5.3).

* ``register_target(name, fn, depends=None, default=False, default_build_script=False)``
  records a target; registering a name again replaces it but keeps its position.
* Default target: the last registered with ``default=True``, else the first
  registered. Default build-script target: the last with
  ``default_build_script=True``, else the first registered.
* Targets to resolve: the explicit list from the command line; otherwise, in
  build-script mode, the default build-script target; otherwise the default target.
* ``resolve_target(name)`` resolves dependencies first, in order, passes their
  values positionally, and caches the result; an unknown name is an error.

This module holds the bookkeeping only; calling Starlark functions is delegated
to a callable supplied by the evaluation (see ``config.evaluate``).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyoxidizer_py.errors import ConfigError

__all__ = ["Target", "TargetRegistry"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Target:
    """One registered target.

    Attributes:
        name: target name.
        function: name of the module-level Starlark function that produces it.
        depends: names of targets whose values are passed positionally.
        default: registered with ``default=True``.
        default_build_script: registered with ``default_build_script=True``.
    """

    name: str
    function: str
    depends: tuple[str, ...] = ()
    default: bool = False
    default_build_script: bool = False


@dataclass(kw_only=True)
class TargetRegistry:
    """Targets of one evaluation and their resolved values.

    Attributes:
        targets: name -> Target, in first-registration order.
        results: name -> resolved value (host objects).
        resolve_requested: whether the config called ``resolve_targets()``.
    """

    targets: dict[str, Target] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    resolve_requested: bool = False
    _resolving: list[str] = field(default_factory=list)
    _default: str | None = None
    _default_build_script: str | None = None

    def register(self, target: Target) -> None:
        """Record a target (replacing one of the same name, keeping its position)."""
        self.targets[target.name] = target
        if target.default:
            self._default = target.name
        if target.default_build_script:
            self._default_build_script = target.name

    @property
    def default_target(self) -> str | None:
        """The default target's name, or None when no target exists."""
        if self._default in self.targets:
            return self._default
        return next(iter(self.targets), None)

    @property
    def default_build_script_target(self) -> str | None:
        """The default build-script target's name, or None when no target exists."""
        if self._default_build_script in self.targets:
            return self._default_build_script
        return next(iter(self.targets), None)

    def targets_to_resolve(self, requested: Sequence[str] | None, *, build_script: bool = False) -> list[str]:
        """Which targets an evaluation resolves.

        Args:
            requested: target names from the command line; None means "the default";
                an empty list means "none" (``list-targets``).
            build_script: build-script mode (``run-build-script``).

        Returns:
            Target names, in order.
        """
        if requested is not None:
            return list(requested)
        name = self.default_build_script_target if build_script else self.default_target
        return [name] if name else []

    def check_exists(self, name: str) -> Target:
        """Return the target, or raise ``ConfigError`` naming close matches."""
        target = self.targets.get(name)
        if target is None:
            close = difflib.get_close_matches(name, list(self.targets), n=1)
            hint = f"did you mean {close[0]!r}?" if close else None
            known = ", ".join(sorted(self.targets)) or "none"
            raise ConfigError(f"target {name} does not exist (targets: {known})", hint=hint)
        return target

    def resolve(self, name: str, call: Callable[[Target, list[Any]], Any]) -> Any:
        """Resolve a target: dependencies first (in order), then the target, cached.

        Args:
            name: target name.
            call: runs the target's function with the dependency values; returns its value.

        Returns:
            The target's value.

        Raises:
            ConfigError: unknown target or a dependency cycle.
        """
        if name in self.results:
            return self.results[name]
        target = self.check_exists(name)
        if name in self._resolving:
            cycle = " -> ".join([*self._resolving, name])
            raise ConfigError(f"dependency cycle between targets: {cycle}")
        self._resolving.append(name)
        try:
            args = [self.resolve(dep, call) for dep in target.depends]
            value = call(target, args)
        finally:
            self._resolving.pop()
        self.results[name] = value
        return value
