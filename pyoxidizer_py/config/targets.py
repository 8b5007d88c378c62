"""Target registration and resolution, with PyOxidizer's rules (https://gregoryszorc.com/docs/pyoxidizer/main/pyoxidizer_config_target_management.html).

* ``register_target(name, fn, depends=None, default=False, default_build_script=False)``
  records a target. Registering a name twice is an error (PyOxidizer silently
  replaced the first registration, which hid mistakes).
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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pyoxidizer_py.errors import ConfigError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (list-targets start-up)
if TYPE_CHECKING:
    from typing import Any

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
        config_file: the main config file, for messages.
        sites: target name -> (line, column) of its ``register_target`` call, for messages.
    """

    targets: dict[str, Target] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    resolve_requested: bool = False
    config_file: str | None = None
    sites: dict[str, tuple[int, int]] = field(default_factory=dict)
    _resolving: list[str] = field(default_factory=list)
    _default: str | None = None
    _default_build_script: str | None = None

    def register(self, target: Target) -> None:
        """Record a target.

        Raises:
            ValueError: a target of that name is already registered.
        """
        if target.name in self.targets:
            raise ValueError(
                f"register_target(): target {target.name!r} is already registered; target names are unique"
            )
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

    def error_at(self, name: str, message: str, hint: str | None = None) -> ConfigError:
        """A ``ConfigError`` located at the ``register_target`` call of ``name`` (or at the file)."""
        line, col = self.sites.get(name, (None, None))
        return ConfigError(message, file=self.config_file, line=line, col=col, hint=hint)

    def check_exists(self, name: str, needed_by: str | None = None) -> Target:
        """Return the target, or raise ``ConfigError`` naming close matches.

        Args:
            name: the target.
            needed_by: the target whose ``depends=`` names it (the error is located there).
        """
        target = self.targets.get(name)
        if target is None:
            import difflib  # only for the error message (keeps list-targets' start-up small)

            close = difflib.get_close_matches(name, list(self.targets), n=1)
            hint = f"did you mean {close[0]!r}?" if close else None
            known = ", ".join(sorted(self.targets)) or "none"
            if needed_by is not None:
                message = f"target {needed_by!r} depends on {name!r}, which does not exist (targets: {known})"
                raise self.error_at(needed_by, message, hint)
            raise ConfigError(f"target {name} does not exist (targets: {known})", file=self.config_file, hint=hint)
        return target

    def resolve(self, name: str, call: Callable[[Target, list[Any]], Any], needed_by: str | None = None) -> Any:
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
        target = self.check_exists(name, needed_by)
        if name in self._resolving:
            cycle = " -> ".join([*self._resolving[self._resolving.index(name) :], name])
            raise self.error_at(needed_by or name, f"dependency cycle between targets: {cycle}")
        self._resolving.append(name)
        try:
            args = [self.resolve(dep, call, name) for dep in target.depends]
            value = call(target, args)
        finally:
            self._resolving.pop()
        self.results[name] = value
        return value
