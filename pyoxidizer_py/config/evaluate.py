"""Evaluate a ``pyoxidizer.bzl``: the public entry point of the config stage.

``evaluate_config(options)`` runs the file (phase 1), freezes it, then resolves
the requested targets in fresh evaluators (phase 2), following PyOxidizer's
target rules (``config.targets``). The result lists every target and holds the
resolved values (dialect objects) for the build stage.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pyoxidizer_py.config.context import DistributionRequest, EvaluationContext, using_context
from pyoxidizer_py.config.dialect import dialect_globals, undefined_name
from pyoxidizer_py.config.engine import StarlarkSession
from pyoxidizer_py.config.source import function_arities, register_target_sites
from pyoxidizer_py.config.targets import Target
from pyoxidizer_py.distribution.triples import host_triple
from pyoxidizer_py.errors import ConfigError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (list-targets start-up)
if TYPE_CHECKING:
    from typing import Any

    from pyoxidizer_py.distribution.model import Distribution

__all__ = ["Evaluation", "EvaluationOptions", "evaluate_config", "run_target_function"]


@dataclass(frozen=True, kw_only=True, slots=True)
class EvaluationOptions:
    """What the command asks of an evaluation.

    Attributes:
        config_path: the ``pyoxidizer.bzl`` to evaluate.
        target_triple: ``BUILD_TARGET_TRIPLE`` (None: the host's).
        vars: ``VARS`` values (from ``--var`` / ``--var-env``).
        release: release build (affects output paths).
        build_script_mode: evaluating for ``run-build-script`` (default build-script target).
        requested_targets: targets to resolve; None = the default; [] = none.
        resolve_distribution: resolver for distribution requests (None: the standard one).
        distribution_spec: ``--python-distribution`` override (``host``, a python
            executable, or an archive path/URL); None reads ``PYOXIDIZER_PY_DISTRIBUTION``.
        config_text: the config's text, evaluated as if it were the content of
            ``config_path`` (a config generated from ``pyproject.toml``); None reads the file.
        display_name: the file name errors show (default: ``config_path`` as given).
    """

    config_path: Path
    target_triple: str | None = None
    vars: Mapping[str, str | None] = field(default_factory=dict)
    release: bool = False
    build_script_mode: bool = False
    requested_targets: Sequence[str] | None = None
    resolve_distribution: Callable[[DistributionRequest], Distribution] | None = None
    distribution_spec: str | None = None
    config_text: str | None = None
    display_name: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Evaluation:
    """The outcome of evaluating a config.

    Attributes:
        context: the evaluation's context (build path, printed lines, registry).
        targets: every registered target, in registration order.
        default_target: name of the default target (or None).
        default_build_script_target: name of the default build-script target (or None).
        resolved: names of the targets that were resolved, in order.
        values: resolved target name -> value (dialect objects).
    """

    context: EvaluationContext
    targets: tuple[Target, ...]
    default_target: str | None
    default_build_script_target: str | None
    resolved: tuple[str, ...]
    values: Mapping[str, Any]

    @property
    def build_path(self) -> Path:
        """The directory target outputs go to (``set_build_path`` or ``<config dir>/build``)."""
        return self.context.build_path


def run_target_function(target: Target, args: list[Any]) -> Any:
    """Call a target's Starlark function with its dependencies' values (used by the registry)."""
    from pyoxidizer_py.config.context import current_context

    ctx = current_context()
    assert ctx.session is not None
    fn = ctx.session.get_function(target.function)
    if fn is None:
        raise ctx.registry.error_at(target.name, f"target {target.name}: function {target.function} is not defined")
    arity = ctx.extra.get("arities", {}).get(target.function)
    if arity is not None:
        low, high = arity
        if len(args) < low or (high is not None and len(args) > high):
            takes = f"{low}" if low == high else f"{low} to {high}" if high is not None else f"at least {low}"
            raise ctx.registry.error_at(
                target.name,
                f"target {target.name!r}: {target.function}() takes {takes} positional argument(s) but "
                f"depends= gives {len(args)} ({', '.join(map(repr, target.depends)) or 'none'}); "
                "each dependency's value is passed positionally",
            )
    return ctx.session.call(fn, *args)


# Stack of the thread that runs an evaluation. The engine recurses natively when it prints,
# compares or converts nested values, and a config can build values nested as deep as its step
# limit allows; the default thread stack (8 MiB) overflows near 100000 levels. The memory is
# reserved, not used: pages are only committed as the stack grows.
EVALUATION_STACK_BYTES = 1 << 30


def evaluate_config(options: EvaluationOptions) -> Evaluation:
    """Evaluate a config file and resolve the requested targets.

    The evaluation runs on its own thread with a large stack (``EVALUATION_STACK_BYTES``);
    the call blocks until it is done.

    Args:
        options: see ``EvaluationOptions``.

    Returns:
        An ``Evaluation``.

    Raises:
        ConfigError: any mistake in the config, located at file:line:col; ``LimitExceeded``
            when an evaluation limit is reached.
        PyOxidizerError: a stage failed while a target ran (pip, distribution).
    """
    return _on_large_stack(_evaluate_config, options)


def _on_large_stack(fn: Callable[[EvaluationOptions], Evaluation], options: EvaluationOptions) -> Evaluation:
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = fn(options)
        except BaseException as exc:  # re-raised on the calling thread
            _release_frames(exc)
            outcome["error"] = exc

    previous = threading.stack_size()
    try:
        threading.stack_size(EVALUATION_STACK_BYTES)
        worker = threading.Thread(target=run, name="pyoxidizer-py-evaluation", daemon=True)
        worker.start()
    except (ValueError, RuntimeError):
        return fn(options)  # the platform refuses the stack size: evaluate here
    finally:
        threading.stack_size(previous)
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]


def _release_frames(exc: BaseException) -> None:
    """Drop the local variables of the frames an error carries (engine objects must be freed on
    the evaluation thread); the traceback itself stays printable."""
    import traceback  # only on errors (start-up of list-targets)

    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        traceback.clear_frames(e.__traceback__)
        todo += [e.__cause__, e.__context__]


def _evaluate_config(options: EvaluationOptions) -> Evaluation:
    config_path = options.config_path.resolve()
    triple = options.target_triple or host_triple()
    ctx = EvaluationContext(
        config_path=config_path,
        build_target_triple=triple,
        vars=dict(options.vars),
        release=options.release,
        build_script_mode=options.build_script_mode,
        build_path=config_path.parent / "build",
        resolve_distribution=options.resolve_distribution or _default_resolver(triple, options.distribution_spec),
    )
    module_vars = {
        "BUILD_TARGET_TRIPLE": triple,
        "CONFIG_PATH": str(config_path),
        "CWD": str(config_path.parent),
        "VARS": dict(options.vars),
    }
    session = StarlarkSession(dialect_globals(), module_vars, ctx.print_line, undefined=undefined_name)
    ctx.session = session
    with using_context(ctx):
        ctx.phase = 1
        registry = ctx.registry
        registry.config_file = str(options.config_path)
        session.evaluate_main(
            config_path, display_name=options.display_name or str(options.config_path), text=options.config_text
        )
        registry.sites = register_target_sites(session.main_text)
        ctx.extra["arities"] = function_arities(session.main_text)
        for source in (config_path, *session.source_files):
            ctx.record_input(source)
        ctx.phase = 2
        registry = ctx.registry
        to_resolve = registry.targets_to_resolve(options.requested_targets, build_script=options.build_script_mode)
        resolved: list[str] = []
        if registry.resolve_requested or options.requested_targets:
            for name in to_resolve:
                registry.resolve(name, run_target_function)
                resolved.append(name)
        elif to_resolve and options.requested_targets is None and registry.targets:
            # PyOxidizer resolves only through resolve_targets(); say so instead of building nothing.
            raise ConfigError(
                f"{options.config_path}: the config registers targets but never calls resolve_targets()",
                hint="add `resolve_targets()` as the last line of the config",
            )
    return Evaluation(
        context=ctx,
        targets=tuple(registry.targets.values()),
        default_target=registry.default_target,
        default_build_script_target=registry.default_build_script_target,
        resolved=tuple(resolved),
        values=dict(registry.results),
    )


def _default_resolver(triple: str, spec: str | None) -> Callable[[DistributionRequest], Distribution]:
    cache: dict[DistributionRequest, Distribution] = {}

    def resolve(request: DistributionRequest) -> Distribution:
        from pyoxidizer_py import logs

        logs.configure_now()  # the distribution stage logs through logging directly
        from pyoxidizer_py.distribution.resolve import resolve_request  # when a target needs one

        if request not in cache:
            cache[request] = resolve_request(request, target_triple=triple, override=spec)
        return cache[request]

    return resolve
