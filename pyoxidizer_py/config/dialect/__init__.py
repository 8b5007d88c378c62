"""PyOxidizer's Starlark dialect: global functions and types (https://gregoryszorc.com/docs/pyoxidizer/main/pyoxidizer_config.html).

``GLOBAL_FUNCTIONS`` maps every global name to its host implementation; the
engine wraps them once per process (``dialect_globals``).
"""

from __future__ import annotations

import functools

from pyoxidizer_py import logs
from pyoxidizer_py.config import engine
from pyoxidizer_py.config.context import DistributionRequest, current_context
from pyoxidizer_py.config.dialect.base import (
    check_bool,
    check_list_of_str,
    check_optional_str,
    check_str,
    type_name,
)
from pyoxidizer_py.config.dialect.platform import PLATFORM_CONSTRUCTORS, PROMPT_FUNCTIONS
from pyoxidizer_py.config.targets import Target

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (list-targets start-up)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["GLOBAL_FUNCTIONS", "FilesGlobal", "dialect_globals", "undefined_name"]


def register_target(
    target: Any, callable: Any, depends: Any = None, default: Any = False, default_build_script: Any = False
) -> None:
    """Register ``callable`` (a module-level ``def``) as target ``target``."""
    fn = "register_target"
    ctx = current_context()
    check_str(fn, "target", target)
    if ctx.phase != 1:
        raise RuntimeError(f"{fn}() must be called at the top level of the config file")
    ident = engine.function_identity(callable)
    if ident is None:
        raise TypeError(f"{fn}(): callable must be a function defined with `def` at the top level of the config file")
    if ctx.session is not None and ident.file != ctx.session.main_file:
        raise TypeError(f"{fn}(): callable {ident.name} must be defined in the main config file, not {ident.file}")
    deps = check_list_of_str(fn, "depends", depends, optional=True)
    ctx.registry.register(
        Target(
            name=target,
            function=ident.name,
            depends=tuple(deps),
            default=check_bool(fn, "default", default),
            default_build_script=check_bool(fn, "default_build_script", default_build_script),
        )
    )


def resolve_target(target: Any) -> Any:
    """Resolve a target (inside a target function) and return its value."""
    ctx = current_context()
    name = check_str("resolve_target", "target", target)
    if ctx.phase != 2:
        raise RuntimeError("resolve_target() can only be called inside a target function; use depends= instead")
    from pyoxidizer_py.config.evaluate import run_target_function

    return ctx.registry.resolve(name, run_target_function)


def resolve_targets() -> None:
    """Resolve the targets requested by the command (PyOxidizer configs end with this call)."""
    ctx = current_context()
    if ctx.phase != 1:
        raise RuntimeError("resolve_targets() must be called at the top level of the config file")
    ctx.registry.resolve_requested = True


def set_build_path(path: Any) -> None:
    """Set the directory target outputs go to (relative paths are relative to CWD)."""
    ctx = current_context()
    ctx.build_path = ctx.resolve_path(check_str("set_build_path", "path", path)).resolve()


def default_python_distribution(
    flavor: Any = "standalone", build_target: Any = None, python_version: Any = None
) -> Any:
    """The default CPython for the build target, resolved when first used."""
    # The Python types (and the resource model below them) load on first use: `list-targets`
    # evaluates a config without calling target functions and never needs them. The stages
    # behind them log through logging directly, so a deferred logging setup runs first.
    logs.configure_now()
    from pyoxidizer_py.config.dialect.python import FLAVORS, PythonDistribution

    fn = "default_python_distribution"
    check_str(fn, "flavor", flavor)
    if flavor not in FLAVORS:
        raise ValueError(
            f"{fn}(): distribution flavor {flavor!r} not recognized (use one of {', '.join(FLAVORS[::2])})"
        )
    check_optional_str(fn, "build_target", build_target)
    version = check_optional_str(fn, "python_version", python_version)
    if version is not None and not _is_major_minor(version):
        raise ValueError(
            f"{fn}(): python_version must look like '3.12' (or '3.14t' for free-threaded), got {version!r}"
        )
    return PythonDistribution(
        DistributionRequest(
            kind="default", flavor=flavor.replace("-", "_"), build_target=build_target, python_version=version
        )
    )


def PythonDistribution_(sha256: Any, local_path: Any = None, url: Any = None, flavor: Any = "standalone") -> Any:
    """``PythonDistribution(sha256, local_path=None, url=None, flavor="standalone")``: a specific archive."""
    logs.configure_now()  # see default_python_distribution
    from pyoxidizer_py.config.dialect.python import PythonDistribution

    fn = "PythonDistribution"
    digest = check_str(fn, "sha256", sha256).lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"{fn}(): sha256 must be 64 hexadecimal characters, got {sha256!r}")
    check_optional_str(fn, "local_path", local_path)
    check_optional_str(fn, "url", url)
    if local_path is not None and url is not None:
        raise ValueError(f"{fn}(): cannot define both local_path and url")
    if local_path is None and url is None:
        raise ValueError(f"{fn}(): one of local_path or url must be given")
    if check_str(fn, "flavor", flavor) != "standalone":
        raise ValueError(f"{fn}(): flavor must be 'standalone', got {flavor!r}")
    path = str(current_context().resolve_path(local_path)) if local_path is not None else None
    return PythonDistribution(DistributionRequest(kind="archive", sha256=digest, url=url, local_path=path))


def _is_major_minor(text: str) -> bool:
    parts = text.removesuffix("t").split(".")
    return len(parts) == 2 and all(p.isdigit() for p in parts)


class FilesGlobal:
    """A global of ``dialect.files`` (``FileManifest``, ``FileContent``, ``glob``) that imports that
    module on its first call: a config that builds no file manifest never loads it (start-up of
    ``list-targets``).

    Args:
        name: the global's name, also its name in ``dialect.files``.
    """

    def __init__(self, name: str) -> None:
        self.__name__ = name

    def target(self) -> Any:
        """The class or function it stands for (the configuration reference documents that one)."""
        from pyoxidizer_py.config.dialect import files

        return getattr(files, self.__name__)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.target()(*args, **kwargs)


def starlark_type(value: Any) -> str:
    """``type(x)``: PyOxidizer's type names for dialect objects, Starlark's for the rest."""
    if engine.is_starlark_function(value):
        return "function"
    if value is None:
        return "NoneType"
    if isinstance(value, float):
        return "float"
    return type_name(value)


GLOBAL_FUNCTIONS: dict[str, Any] = {
    "register_target": register_target,
    "resolve_target": resolve_target,
    "resolve_targets": resolve_targets,
    "set_build_path": set_build_path,
    "default_python_distribution": default_python_distribution,
    "PythonDistribution": PythonDistribution_,
    "FileManifest": FilesGlobal("FileManifest"),
    "FileContent": FilesGlobal("FileContent"),
    "glob": FilesGlobal("glob"),
    "type": starlark_type,
    **PROMPT_FUNCTIONS,
    **PLATFORM_CONSTRUCTORS,
}


MODULE_VARIABLES = ("BUILD_TARGET_TRIPLE", "CONFIG_PATH", "CWD", "VARS")


def undefined_name(name: str) -> Exception:
    """The error for a name a config evaluates but nobody defines (see ``dialect.removed``)."""
    from pyoxidizer_py.config.dialect.removed import undefined_name_error  # the table loads on errors only

    return undefined_name_error(name, known=[*GLOBAL_FUNCTIONS, *MODULE_VARIABLES])


def _removed_attribute_message(type_name: str, name: str) -> str | None:
    """``dialect.removed.removed_attribute_message``, loading that table when an attribute is missing."""
    from pyoxidizer_py.config.dialect.removed import removed_attribute_message

    return removed_attribute_message(type_name, name)


@functools.lru_cache(maxsize=1)
def dialect_globals() -> Any:
    """The engine globals of the dialect, built once per process."""
    engine.set_missing_attribute_hook(_removed_attribute_message)
    return engine.build_globals(GLOBAL_FUNCTIONS, takes_functions={"register_target", "type"})
