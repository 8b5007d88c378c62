"""The Starlark engine adapter: the only module that imports ``xingque``.

It hosts PyOxidizer's dialect on xingque 0.2.1 following the rules found by
probing the engine (shared/reference/starlark-engines.md §7-8):

* Allow-list exposure. Host objects cross into Starlark only as ``Proxy``
  objects whose class declares ``STARLARK_GET``, ``STARLARK_SET`` and
  ``STARLARK_CALL``; every host function is a ``Method``. Neither exposes any
  dunder or Python internal, so ``x.__class__`` or ``f.__globals__`` fail.
* The evaluator's garbage collector is disabled on every ``Evaluator`` (it moves
  values that Python still holds).
* Two phases. The main file is evaluated, then its module is frozen, then target
  functions and callbacks run in fresh evaluators against the frozen module
  (re-entering a running evaluator, or running functions of an unfrozen module,
  crashes the engine).
* Globals are built once per process (``build_globals``); per-run state is
  reached through a ``ContextVar``, never through the globals (they live in Rust
  and would keep every run alive).
* ``load()`` resolves paths relative to the loading file; loaded modules are
  frozen; ``print`` goes to a handler the caller provides.

Errors come back from xingque as rendered diagnostics in ``RuntimeError`` /
``ValueError`` strings; ``_config_error`` turns them into ``ConfigError`` with
the file, line, column and snippet of the innermost Starlark location.
"""

from __future__ import annotations

import contextvars
import re
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xingque as xq

from pyoxidizer_py.errors import ConfigError, PyOxidizerError

__all__ = [
    "FrozenModule",
    "Method",
    "Proxy",
    "StarlarkFunction",
    "StarlarkSession",
    "build_globals",
    "call_function",
    "from_starlark",
    "function_identity",
    "host_object",
    "is_starlark_function",
    "to_starlark",
]

FrozenModule = xq.FrozenModule

# The first exception raised by host code during the current evaluation: the
# engine only passes a rendered string back, so the original is kept for the
# error message and ``__cause__`` (and --verbose tracebacks).
_LAST_HOST_EXC: contextvars.ContextVar[BaseException | None] = contextvars.ContextVar(
    "pyoxidizer_py_last_host_exc", default=None
)
_PROXIES: weakref.WeakValueDictionary[int, Proxy] = weakref.WeakValueDictionary()
_STARLARK_VALUES = (xq.Value, xq.FrozenValue)
_FN_REPR = re.compile(r"^<Starlark value (?P<file>.+)\.(?P<name>[A-Za-z_][A-Za-z0-9_]*)>$")
# Dialect: def, lambda, load, keyword-only args, top-level statements; no type annotations.
_DIALECT = xq.Dialect(
    enable_def=True,
    enable_lambda=True,
    enable_load=True,
    enable_keyword_only_arguments=True,
    enable_top_level_stmt=True,
    enable_f_strings=False,
)


def _exposed(value: object) -> bool:
    return hasattr(type(value), "STARLARK_CALL")


def to_starlark(value: Any) -> Any:
    """Convert a host value into what Starlark may see.

    Args:
        value: None, bool, int, float, str, list/tuple/dict of those, or an
            exposed host object (its class declares ``STARLARK_CALL``).

    Returns:
        The same primitive, a converted container, or the object's ``Proxy``
        (one proxy per object, so identity and ``==`` hold in Starlark).

    Raises:
        TypeError: the value is of a type Starlark must not see.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, _STARLARK_VALUES):
        return value
    if _exposed(value):
        proxy = _PROXIES.get(id(value))
        if proxy is None or object.__getattribute__(proxy, "_t") is not value:
            proxy = Proxy(value)
            _PROXIES[id(value)] = proxy
        return proxy
    if isinstance(value, list):
        return [to_starlark(v) for v in value]
    if isinstance(value, tuple):
        return tuple(to_starlark(v) for v in value)
    if isinstance(value, dict):
        return {k: to_starlark(v) for k, v in value.items()}
    raise TypeError(f"internal error: a {type(value).__name__} cannot be passed to Starlark")


def from_starlark(value: Any, allow_functions: bool = False) -> Any:
    """Convert a value coming from Starlark back into host objects.

    Args:
        value: what the engine passed to a host function.
        allow_functions: accept Starlark functions (only for host functions that
            store callables, such as ``register_target``).

    Returns:
        Proxies unwrapped to their host objects; containers converted recursively.

    Raises:
        TypeError: a Starlark function or struct was passed where it is not allowed.
    """
    if type(value) is Proxy:
        return object.__getattribute__(value, "_t")
    if isinstance(value, list):
        return [from_starlark(v, allow_functions) for v in value]
    if isinstance(value, tuple):
        return tuple(from_starlark(v, allow_functions) for v in value)
    if isinstance(value, dict):
        return {from_starlark(k): from_starlark(v, allow_functions) for k, v in value.items()}
    if isinstance(value, _STARLARK_VALUES) and not allow_functions:
        raise TypeError("a Starlark function or struct cannot be passed here")
    return value


def _remember(exc: BaseException) -> None:
    if _LAST_HOST_EXC.get() is None:
        _LAST_HOST_EXC.set(exc)


class Method:
    """A host callable as Starlark sees it: callable, with no attributes at all."""

    __slots__ = ("__weakref__", "_allow", "_f")

    def __init__(self, f: Callable[..., Any], allow_functions: bool = False) -> None:
        object.__setattr__(self, "_f", f)
        object.__setattr__(self, "_allow", allow_functions)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        f = object.__getattribute__(self, "_f")
        allow = object.__getattribute__(self, "_allow")
        try:
            result = f(
                *[from_starlark(a, allow) for a in args],
                **{k: from_starlark(v, allow) for k, v in kwargs.items()},
            )
            return to_starlark(result)
        except Exception as exc:
            _remember(exc)
            raise

    def __getattribute__(self, name: str) -> Any:
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(name)

    def __dir__(self) -> list[str]:
        return []

    def __repr__(self) -> str:
        f = object.__getattribute__(self, "_f")
        return f"<built-in function {getattr(f, '__name__', 'function')}>"


class Proxy:
    """An exposed host object as Starlark sees it (allow-listed attributes and methods)."""

    __slots__ = ("__weakref__", "_t")

    def __init__(self, target: object) -> None:
        object.__setattr__(self, "_t", target)

    def __getattribute__(self, name: str) -> Any:
        t = object.__getattribute__(self, "_t")
        cls = type(t)
        if name in cls.STARLARK_CALL:  # type: ignore[attr-defined]
            takes = getattr(cls, "STARLARK_TAKES_CALLABLES", ())
            return Method(getattr(t, name), allow_functions=name in takes)
        if name in cls.STARLARK_GET:  # type: ignore[attr-defined]
            try:
                return to_starlark(getattr(t, name))
            except Exception as exc:
                # starlark-rust's get_attr cannot carry an error: remember it so the
                # reported message is ours rather than "has no attribute".
                _remember(exc)
                raise AttributeError(name) from exc
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        t = object.__getattribute__(self, "_t")
        cls = type(t)
        try:
            if name not in cls.STARLARK_SET:  # type: ignore[attr-defined]
                kind = "read-only" if name in cls.STARLARK_GET else "not an attribute"  # type: ignore[attr-defined]
                raise AttributeError(f"{_type_name(t)}.{name} is {kind} and cannot be assigned")
            setattr(t, name, from_starlark(value))
        except Exception as exc:
            _remember(exc)
            raise

    def __dir__(self) -> list[str]:
        cls = type(object.__getattribute__(self, "_t"))
        return sorted(set(cls.STARLARK_GET) | set(cls.STARLARK_CALL))  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return repr(object.__getattribute__(self, "_t"))

    def __str__(self) -> str:
        return str(object.__getattribute__(self, "_t"))

    def __eq__(self, other: object) -> bool:
        return type(other) is Proxy and object.__getattribute__(self, "_t") is object.__getattribute__(other, "_t")

    def __hash__(self) -> int:
        return id(object.__getattribute__(self, "_t"))


def _type_name(obj: object) -> str:
    return str(getattr(type(obj), "STARLARK_TYPE", type(obj).__name__))


def host_object(value: Any) -> Any:
    """Return the host object behind a proxy (or the value itself)."""
    if type(value) is Proxy:
        return object.__getattribute__(value, "_t")
    return value


def is_starlark_function(value: Any) -> bool:
    """True when ``value`` is a Starlark value (a ``def``, lambda or struct)."""
    return isinstance(value, _STARLARK_VALUES)


@dataclass(frozen=True, slots=True)
class StarlarkFunction:
    """A Starlark function the host keeps: a global ``def`` identified by file and name.

    Only module-level functions can safely outlive the evaluation that passed them.
    """

    file: str
    name: str


def function_identity(value: Any) -> StarlarkFunction | None:
    """Identify a module-level Starlark ``def``.

    Args:
        value: a value passed from Starlark.

    Returns:
        ``StarlarkFunction(file, name)``, or None for lambdas, nested functions,
        builtins and non-functions.
    """
    if not is_starlark_function(value):
        return None
    m = _FN_REPR.match(repr(value))
    if not m or m.group("name") == "lambda":
        return None
    return StarlarkFunction(file=m.group("file"), name=m.group("name"))


def build_globals(
    functions: Mapping[str, Callable[..., Any]],
    *,
    takes_functions: Iterable[str] = (),
) -> xq.Globals:
    """Build the process-wide Starlark globals.

    Args:
        functions: global name -> host callable. Each is wrapped in ``Method``.
        takes_functions: names of globals allowed to receive Starlark functions
            (``register_target``).

    Returns:
        A ``xingque.Globals``; build it once per process and reuse it.
    """
    takes = set(takes_functions)
    gb = xq.GlobalsBuilder.extended_by(
        [xq.LibraryExtension.PRINT, xq.LibraryExtension.STRUCT_TYPE, xq.LibraryExtension.JSON]
    )
    for name, f in functions.items():
        gb.set(name, Method(f, allow_functions=name in takes))
    return gb.build()


class _PrintHandler:
    __slots__ = ("_sink",)

    def __init__(self, sink: Callable[[str], None]) -> None:
        self._sink = sink

    def println(self, text: str) -> None:
        self._sink(text)


def _fresh_evaluator(module: xq.Module | None = None) -> xq.Evaluator:
    ev = xq.Evaluator(module if module is not None else xq.Module())
    ev.disable_gc()
    return ev


def call_function(fn: Any, *args: Any, print_sink: Callable[[str], None] | None = None) -> Any:
    """Call a Starlark function from the host, in a fresh evaluator.

    Args:
        fn: a Starlark function value (from a frozen module, or alive in the
            current target's evaluation).
        *args: host values; converted with ``to_starlark``.
        print_sink: where ``print()`` output of the call goes.

    Returns:
        The result converted with ``from_starlark`` (functions allowed).

    Raises:
        RuntimeError: the Starlark code failed (a rendered diagnostic).
    """
    ev = _fresh_evaluator()
    try:
        if print_sink is not None:
            ev.set_print_handler(_PrintHandler(print_sink))
        result = ev.eval_function(fn, *[to_starlark(a) for a in args])
        return from_starlark(result, allow_functions=True)
    finally:
        # xingque's evaluator must be dropped on the thread that made it; a traceback that
        # keeps this frame alive would otherwise let the GC drop it elsewhere.
        del ev


class StarlarkSession:
    """Evaluate one main file (with its ``load()``s) and run functions of its frozen module.

    Args:
        globals_: from ``build_globals`` (shared by every session of the process).
        module_vars: per-run variables set in every module before evaluation
            (``CWD``, ``VARS``, ``BUILD_TARGET_TRIPLE``, ...).
        print_sink: receives each ``print()`` line.
    """

    def __init__(
        self,
        globals_: xq.Globals,
        module_vars: Mapping[str, Any],
        print_sink: Callable[[str], None],
    ) -> None:
        self._globals = globals_
        self._vars = dict(module_vars)
        self._print = _PrintHandler(print_sink)
        self._print_sink = print_sink
        self._loaded: dict[str, xq.FrozenModule] = {}
        self._loading: list[str] = []
        self._paths: dict[str, Path] = {}  # engine file name -> real path
        self.frozen: xq.FrozenModule | None = None
        self.main_file: str = ""

    @property
    def source_files(self) -> tuple[Path, ...]:
        """Every file evaluated so far: the main file and each ``load()``ed file."""
        return tuple(self._paths.values())

    # -- loader protocol ---------------------------------------------------------------
    def load(self, path: str) -> xq.FrozenModule:
        """Loader protocol for ``load("file.star", ...)``: path relative to the loading file."""
        base = self._paths[self._loading[-1]].parent if self._loading else Path.cwd()
        rel = path[2:] if path.startswith("//") else path
        target = (base / rel).resolve()
        key = str(target)
        if key in self._loaded:
            return self._loaded[key]
        if key in self._loading:
            raise ConfigError(f"load() cycle: {' -> '.join([*self._loading, key])}")
        try:
            text = target.read_text(encoding="utf-8")
        except OSError as exc:
            err = ConfigError(f"cannot load {path!r}: {exc.strerror or exc} ({target})")
            _remember(err)
            raise err from exc
        frozen = self._evaluate(key, target, text)
        self._loaded[key] = frozen
        return frozen

    def _evaluate(self, name: str, path: Path, text: str) -> xq.FrozenModule:
        self._paths[name] = path
        module = xq.Module()
        for k, v in self._vars.items():
            module.set(k, to_starlark(v))
        ev = _fresh_evaluator(module)
        self._loading.append(name)
        try:
            ev.set_loader(self)
            ev.set_print_handler(self._print)
            ast = xq.AstModule.parse(name, text, _DIALECT)
            ev.eval_module(ast, self._globals)
            return module.freeze()
        finally:
            self._loading.pop()
            # Drop the engine objects here, on this thread (see call_function).
            del ev, module

    # -- public --------------------------------------------------------------------------
    def evaluate_main(self, path: Path, display_name: str | None = None) -> xq.FrozenModule:
        """Phase 1: evaluate the main file, then freeze its module.

        Args:
            path: the config file.
            display_name: file name used in diagnostics (default: ``str(path)``).

        Returns:
            The frozen module.

        Raises:
            ConfigError: syntax, runtime or host error, with location.
        """
        name = display_name or str(path)
        _LAST_HOST_EXC.set(None)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
        self.main_file = name
        try:
            self.frozen = self._evaluate(name, path, text)
        except (RuntimeError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise _config_error(exc) from _LAST_HOST_EXC.get()
        return self.frozen

    def get_function(self, name: str) -> Any:
        """Return a global of the frozen main module, or None."""
        if self.frozen is None:
            raise RuntimeError("evaluate_main() must run first")
        return self.frozen.get_option(name)

    def call(self, fn: Any, *args: Any) -> Any:
        """Phase 2: call a Starlark function in a fresh evaluator, mapping errors to ``ConfigError``.

        Args:
            fn: a function value from the frozen module (or a callback value).
            *args: host values passed positionally.

        Returns:
            The function's result as host values.

        Raises:
            ConfigError: the function failed; located at the innermost Starlark frame.
        """
        token = _LAST_HOST_EXC.set(None)
        try:
            return call_function(fn, *args, print_sink=self._print_sink)
        except ConfigError:
            raise
        except (RuntimeError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise _config_error(exc) from _LAST_HOST_EXC.get()
        finally:
            _LAST_HOST_EXC.reset(token)


def call_nested(fn: Any, *args: Any, print_sink: Callable[[str], None] | None = None) -> Any:
    """Call a Starlark callback from inside a host function (e.g. a resource callback).

    Errors propagate as the engine's own ``RuntimeError`` so the outer evaluation
    reports them at the innermost Starlark location.
    """
    return call_function(fn, *args, print_sink=print_sink)


_LOC = re.compile(r"^\s*--> (.+?):(\d+):(\d+)\s*$", re.M)
_MSG = re.compile(r"^error: (.*)$", re.M)
_PY_EXC_PREFIX = re.compile(r"^(?:[A-Za-z_.]*(?:Error|Exception)): ")


def _config_error(exc: BaseException) -> ConfigError:
    """Turn a rendered xingque diagnostic into a ``ConfigError``.

    Nested evaluations (targets, callbacks) render as several ``error:`` blocks;
    the innermost is the last ``error:`` line, and its location is the first
    ``-->`` after it.
    """
    text = str(exc)
    msgs = list(_MSG.finditer(text))
    last = msgs[-1] if msgs else None
    loc = _LOC.search(text, last.end()) if last else _LOC.search(text)
    snippet = ""
    if loc:
        lines = text[loc.end() :].splitlines()
        keep = []
        for ln in lines[1:]:
            if not ln.strip() or ln.lstrip().startswith("error:"):
                break
            keep.append(ln)
        # Drop the empty gutter lines (" |") around the snippet.
        snippet = "\n".join(ln for ln in keep if ln.strip() != "|")
    message = last.group(1).strip() if last else text.strip().splitlines()[0]
    cause = _LAST_HOST_EXC.get()
    if isinstance(cause, PyOxidizerError):
        message = cause.message
    elif cause is not None and str(cause) and str(cause) in message:
        message = str(cause)
    else:
        message = _PY_EXC_PREFIX.sub("", message)
    message = message.replace("Object of type `pyobject`", "Object")
    hint = cause.hint if isinstance(cause, PyOxidizerError) else None
    if isinstance(cause, ConfigError) and cause.file and not loc:
        return cause
    return ConfigError(
        message,
        file=loc.group(1) if loc else None,
        line=int(loc.group(2)) if loc else None,
        col=int(loc.group(3)) if loc else None,
        snippet=snippet,
        hint=hint,
    )
