"""The Starlark engine adapter: the only module that imports ``xingque``.

It hosts PyOxidizer's dialect on xingque 0.2.1 (https://pypi.org/project/xingque/, Python
bindings of starlark-rust, https://github.com/facebook/starlark-rust) following rules found by
probing that engine:

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

* Source text is checked and instrumented before the engine sees it
  (``config.source``): nesting depth is bounded (deep nesting overflows the
  engine's native stack), loops and size-building operators go through the
  evaluation budget (``config.limits``), and global names the file uses but
  nobody defines become ``_pyoxidizer_undefined("NAME")``, which fails only
  when that code runs (PyOxidizer's engine resolved names at run time; xingque
  resolves them when a file is compiled).
* A Rust panic in the engine (a value grown past its size limits) is caught and
  reported as one error; the engine's own panic message, which Rust writes
  straight to file descriptor 2, is kept off the terminal.

Errors come back from xingque as rendered diagnostics in ``RuntimeError`` /
``ValueError`` strings; ``_config_error`` turns them into ``ConfigError`` with
the file, line, column and snippet of the innermost Starlark location, mapped
back to what the user wrote.
"""

from __future__ import annotations

import contextvars
import os
import re
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import xingque as xq

from pyoxidizer_py.config import limits as limits_mod
from pyoxidizer_py.config.source import (
    HELPER_PREFIX,
    Instrumented,
    SourceMap,
    check_nesting,
    decode_source,
    instrument,
)
from pyoxidizer_py.errors import ConfigError, DownloadError, PyOxidizerError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (list-targets start-up)
if TYPE_CHECKING:
    from typing import Any

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
    "set_missing_attribute_hook",
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


# --- Rust's stderr ---------------------------------------------------------------------------
def _capture_fd() -> int:
    """A new readable, writable, seekable descriptor that captured output goes to.

    Linux: an anonymous memory file (``memfd_create(2)``, https://man7.org/linux/man-pages/man2/memfd_create.2.html),
    no file system access. Elsewhere: an unlinked temporary file.

    Raises:
        OSError: no such file can be made.
    """
    memfd_create = getattr(os, "memfd_create", None)
    if memfd_create is not None:
        try:
            return int(memfd_create("pyoxidizer-py-engine-stderr", os.MFD_CLOEXEC))
        except OSError:
            pass  # a kernel without memfd: fall back to a file
    import tempfile  # only where memfd is missing (tempfile pulls shutil, random: CLI start-up)

    with tempfile.TemporaryFile() as f:
        return os.dup(f.fileno())  # the file lives until this descriptor is closed


def _read_fd(fd: int) -> bytes:
    """Everything written to ``fd`` so far, read from its start."""
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


class _StderrGuard:
    """Points file descriptor 2 at a capture file (``_capture_fd``) while engine (Rust) code runs.

    Rust's panic hook writes its message (and, with RUST_BACKTRACE, a backtrace)
    straight to fd 2. While the engine runs, fd 2 goes to the capture file; host
    functions called back from Starlark get the real stderr for their duration.
    After the outermost engine call, what was captured is discarded when the
    engine panicked and copied to the real stderr otherwise.
    """

    def __init__(self) -> None:
        self.saved: int | None = None
        self.capture: int | None = None
        self.depth = 0
        self.panicked = False

    def enter(self) -> None:
        self.depth += 1
        if self.depth > 1:
            return
        try:
            import sys

            sys.stderr.flush()
            self.capture = _capture_fd()
            self.saved = os.dup(2)
            os.dup2(self.capture, 2)
        except (OSError, ValueError, AttributeError):
            if self.saved is not None:
                os.close(self.saved)
            if self.capture is not None:
                os.close(self.capture)
            self.saved = self.capture = None
        self.panicked = False

    def leave(self) -> None:
        self.depth -= 1
        if self.depth > 0 or self.saved is None or self.capture is None:
            return
        os.dup2(self.saved, 2)
        os.close(self.saved)
        self.saved = None
        capture, self.capture = self.capture, None
        try:
            data = _read_fd(capture)
        finally:
            os.close(capture)
        if data and not self.panicked:
            os.write(2, data)

    def host(self) -> Any:
        return _HostStderr(self)


class _HostStderr:
    __slots__ = ("_active", "_g")

    def __init__(self, guard: _StderrGuard) -> None:
        self._g = guard
        self._active = False

    def __enter__(self) -> None:
        g = self._g
        if g.saved is not None and g.capture is not None:
            self._active = True
            os.dup2(g.saved, 2)

    def __exit__(self, *exc: object) -> None:
        g = self._g
        if self._active and g.capture is not None:
            import sys

            sys.stderr.flush()
            os.dup2(g.capture, 2)


_STDERR = _StderrGuard()


def _host_stderr() -> Any:
    return _STDERR.host()


def _is_panic(exc: BaseException) -> bool:
    return type(exc).__name__ == "PanicException"


def _engine_call(f: Callable[..., Any], *args: Any) -> Any:
    """Run engine code with Rust's stderr captured; a panic becomes ``ConfigError``."""
    _STDERR.enter()
    try:
        return f(*args)
    except BaseException as exc:
        if _is_panic(exc):
            _STDERR.panicked = True
            detail = (str(exc).strip().splitlines() or ["panic"])[0]
            raise _EnginePanic(detail) from None
        raise
    finally:
        _STDERR.leave()


class _EnginePanic(Exception):
    """The engine panicked (a Rust-side limit such as a string length overflow)."""


class Method:
    """A host callable as Starlark sees it: callable, with no attributes at all."""

    __slots__ = ("__weakref__", "_allow", "_f")

    def __init__(self, f: Callable[..., Any], allow_functions: bool = False) -> None:
        object.__setattr__(self, "_f", f)
        object.__setattr__(self, "_allow", allow_functions)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        f = object.__getattribute__(self, "_f")
        allow = object.__getattribute__(self, "_allow")
        budget = limits_mod.current_budget()
        try:
            if budget is not None:
                budget.step()  # raises before entering: nothing to leave
                budget.enter_host()
            try:
                with _host_stderr():
                    result = f(
                        *[from_starlark(a, allow) for a in args],
                        **{k: from_starlark(v, allow) for k, v in kwargs.items()},
                    )
            finally:
                if budget is not None:
                    budget.leave_host()
            return to_starlark(result)
        except RecursionError:
            err = ConfigError("a value nested too deeply was passed to a dialect function")
            _remember(err)
            raise err from None
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
        if name in cls.STARLARK_CALL:
            takes = getattr(cls, "STARLARK_TAKES_CALLABLES", ())
            return Method(getattr(t, name), allow_functions=name in takes)
        if name in cls.STARLARK_GET:
            try:
                return to_starlark(getattr(t, name))
            except Exception as exc:
                # starlark-rust's get_attr cannot carry an error: remember it so the
                # reported message is ours rather than "has no attribute".
                _remember(exc)
                raise AttributeError(name) from exc
        hook = _MISSING_ATTRIBUTE_HOOK[0]
        message = hook(_type_name(t), name) if hook is not None else None
        if message:
            _MISSING_ATTRIBUTES[name] = message
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        t = object.__getattribute__(self, "_t")
        cls = type(t)
        try:
            if name not in cls.STARLARK_SET:
                kind = "read-only" if name in cls.STARLARK_GET else "not an attribute"
                raise AttributeError(f"{_type_name(t)}.{name} is {kind} and cannot be assigned")
            setattr(t, name, from_starlark(value))
        except Exception as exc:
            _remember(exc)
            raise

    def __dir__(self) -> list[str]:
        cls = type(object.__getattribute__(self, "_t"))
        return sorted(set(cls.STARLARK_GET) | set(cls.STARLARK_CALL))

    def __repr__(self) -> str:
        return repr(object.__getattribute__(self, "_t"))

    def __str__(self) -> str:
        return str(object.__getattribute__(self, "_t"))

    def __eq__(self, other: object) -> bool:
        return type(other) is Proxy and object.__getattribute__(self, "_t") is object.__getattribute__(other, "_t")

    def __hash__(self) -> int:
        return id(object.__getattribute__(self, "_t"))


# attribute name -> explanation, for names a dialect type once had (replaces "has no attribute").
_MISSING_ATTRIBUTES: dict[str, str] = {}
_MISSING_ATTRIBUTE_HOOK: list[Callable[[str, str], str | None] | None] = [None]


def set_missing_attribute_hook(hook: Callable[[str, str], str | None]) -> None:
    """Install ``hook(type_name, attribute)`` giving the message for a missing attribute (or None)."""
    _MISSING_ATTRIBUTE_HOOK[0] = hook


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
        # Straight to the real stderr, in order with everything else (see _StderrGuard).
        with _host_stderr():
            self._sink(text)


# --- helpers the instrumented text calls (see config.source) -------------------------------------
PRELUDE_FILE = "<pyoxidizer-py instrumentation>"
# Starlark helpers: they do the operation natively and charge what it built. Names without
# a leading underscore (the engine does not export private names); they are bound in every
# module as ``_pyoxidizer_<name>``.
_PRELUDE = """
def add(a, b):
    r = a + b
    t = type(r)
    if t == "string" or t == "list" or t == "tuple":
        alloc(len(r), t)
    return r

def mul(a, b):
    ta = type(a)
    tb = type(b)
    if ta == "int" and (tb == "string" or tb == "list" or tb == "tuple"):
        alloc(len(b) * a, tb)
    elif tb == "int" and (ta == "string" or ta == "list" or ta == "tuple"):
        alloc(len(a) * b, ta)
    return a * b

def mod(a, b):
    r = a % b
    if type(r) == "string":
        alloc(len(r), "string")
    return r

def range_(*args):
    r = range(*args)
    alloc(len(r), "range")
    return r
"""
_PRELUDE_HELPERS = {"add": "add", "mul": "mul", "mod": "mod", "range": "range_"}
# prelude line number -> helper name (to locate an error raised inside a helper)
_PRELUDE_LINES: dict[int, str] = {}


def _prelude_index() -> None:
    current = ""
    for number, text in enumerate(_PRELUDE.split("\n"), start=1):
        m = re.match(r"def (\w+)\(", text)
        if m:
            current = m.group(1)
        _PRELUDE_LINES[number] = current


_prelude_index()


def _alloc(count: int, kind: str) -> None:
    budget = limits_mod.current_budget()
    if budget is not None:
        size = count if kind == "string" else count * limits_mod.ELEMENT_BYTES
        budget.allocate(size)


class _Tick:
    """``_pyoxidizer_tick()``: one loop iteration. Called very often, so it is not a ``Method``
    (no argument conversion, no stderr switch); like ``Method`` it exposes no attributes."""

    __slots__ = ()

    def __call__(self) -> bool:
        budget = limits_mod.current_budget()
        if budget is not None:
            try:
                budget.step()
            except Exception as exc:
                _remember(exc)
                raise
        return True

    def __getattribute__(self, name: str) -> Any:
        raise AttributeError(name)

    def __dir__(self) -> list[str]:
        return []


_FROZEN_PRELUDE: list[xq.FrozenModule] = []


def _prelude() -> xq.FrozenModule:
    """The helper module, evaluated once per process with the standard globals."""
    if not _FROZEN_PRELUDE:
        gb = xq.GlobalsBuilder.standard()
        gb.set("alloc", Method(_alloc))
        module = xq.Module()
        ev = _fresh_evaluator(module)
        _engine_call(ev.eval_module, xq.AstModule.parse(PRELUDE_FILE, _PRELUDE, _DIALECT), gb.build())
        del ev
        _FROZEN_PRELUDE.append(module.freeze())
    return _FROZEN_PRELUDE[0]


UndefinedHandler = Callable[[str], BaseException]


def _default_undefined(name: str) -> BaseException:
    return NameError(f"name {name!r} is not defined")


class _Undefined:
    """``_pyoxidizer_undefined("NAME")``: evaluating an unknown name raises the handler's error."""

    def __init__(self, handler: UndefinedHandler) -> None:
        self.handler = handler

    def __call__(self, name: str) -> Any:
        raise self.handler(name)


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
        _EnginePanic: the engine panicked.
    """
    ev = _fresh_evaluator()
    try:
        if print_sink is not None:
            ev.set_print_handler(_PrintHandler(print_sink))
        result = _engine_call(ev.eval_function, fn, *[to_starlark(a) for a in args])
        return from_starlark(result, allow_functions=True)
    finally:
        # xingque's evaluator must be dropped on the thread that made it; a traceback that
        # keeps this frame alive would otherwise let the GC drop it elsewhere.
        del ev


# Patterns of error messages, compiled when an error is reported (re caches them; start-up).
_NOT_FOUND = r"^error: Variable `(?P<name>[A-Za-z_][A-Za-z0-9_]*)` not found"
# How many unknown names one file may use (each costs one more compile of the file).
MAX_UNDEFINED_NAMES = 200


class StarlarkSession:
    """Evaluate one main file (with its ``load()``s) and run functions of its frozen module.

    Args:
        globals_: from ``build_globals`` (shared by every session of the process).
        module_vars: per-run variables set in every module before evaluation
            (``CWD``, ``VARS``, ``BUILD_TARGET_TRIPLE``, ...).
        print_sink: receives each ``print()`` line.
        limits: evaluation limits (default: ``EvaluationLimits.from_env()``).
        undefined: builds the error raised when code evaluates a name nobody defines
            (it receives the name).
    """

    def __init__(
        self,
        globals_: xq.Globals,
        module_vars: Mapping[str, Any],
        print_sink: Callable[[str], None],
        *,
        limits: limits_mod.EvaluationLimits | None = None,
        undefined: UndefinedHandler | None = None,
    ) -> None:
        self._globals = globals_
        self._vars = dict(module_vars)
        self._print = _PrintHandler(print_sink)
        self._print_sink = print_sink
        self._loaded: dict[str, xq.FrozenModule] = {}
        self._loading: list[str] = []
        self._paths: dict[str, Path] = {}  # engine file name -> real path
        self._maps: dict[str, SourceMap] = {}  # engine file name -> source map
        self._undefined = Method(_Undefined(undefined or _default_undefined))
        self._tick = _Tick()
        self.budget = limits_mod.Budget(limits=limits or limits_mod.EvaluationLimits.from_env())
        self.frozen: xq.FrozenModule | None = None
        self.main_file: str = ""
        self.main_text: str = ""

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
            chain = " -> ".join(str(self._paths.get(k, k)) for k in [*self._loading[1:], key])
            err = ConfigError(f"load() cycle: {self._loading[0]} -> {chain}")
            _remember(err)
            raise err
        try:
            data = target.read_bytes()
        except OSError as exc:
            err = ConfigError(f"cannot load {path!r}: {exc.strerror or exc} ({target})")
            _remember(err)
            raise err from exc
        try:
            frozen = self._evaluate(key, target, data)
        except ConfigError as err:
            if not self._inside_project(target) and err.file == key:
                # Do not echo lines of a file outside the project (load("/etc/passwd")).
                err = ConfigError(
                    f"cannot load {path!r}: {target} is not a valid Starlark file "
                    f"(error at line {err.line}, column {err.col})"
                )
            # This error is final and located: it replaces whatever the nested run remembered.
            _LAST_HOST_EXC.set(err)
            raise err from None
        self._loaded[key] = frozen
        return frozen

    def _inside_project(self, target: Path) -> bool:
        main = self._paths.get(self.main_file)
        if main is None:
            return False
        return target.is_relative_to(main.parent.resolve())

    def _evaluate(self, name: str, path: Path, data: bytes) -> xq.FrozenModule:
        """Check, instrument, compile and run one file; returns its frozen module.

        Raises:
            ConfigError: any failure, located in the user's text.
        """
        self._paths[name] = path
        text = decode_source(data, name)
        check_nesting(text, name)
        self._maps[name] = SourceMap.build(text, [])
        try:
            xq.AstModule.parse(name, text, _DIALECT)
        except ValueError as exc:
            raise _config_error(exc, self._maps) from None
        inst: Instrumented = instrument(text, name)
        self._maps[name] = inst.map
        self._loading.append(name)
        try:
            for _ in range(MAX_UNDEFINED_NAMES + 1):
                steps_before = self.budget.steps
                try:
                    return self._run_module(name, inst.text)
                except RuntimeError as exc:
                    retry = self._undefined_retry(exc, inst, steps_before)
                    if retry is None:
                        raise _config_error(exc, self._maps) from _LAST_HOST_EXC.get()
                    inst = retry
                    self._maps[name] = inst.map
            raise ConfigError(f"{name}: more than {MAX_UNDEFINED_NAMES} undefined names")
        except _EnginePanic as exc:
            raise _panic_error(exc, name) from None
        finally:
            self._loading.pop()

    def _undefined_retry(self, exc: RuntimeError, inst: Instrumented, steps_before: int) -> Instrumented | None:
        """When compiling failed on an unknown name, the instrumented text that defers it."""
        text = str(exc)
        m = re.search(_NOT_FOUND, text, re.M)
        if not m or self.budget.steps != steps_before:
            return None  # not a compile-time name error, or code already ran
        loc = re.compile(_LOC, re.M).search(text, m.end())
        if not loc:
            return None
        return inst.with_undefined(int(loc.group(2)), int(loc.group(3)), m.group("name"))

    def _run_module(self, name: str, text: str) -> xq.FrozenModule:
        module = xq.Module()
        for k, v in self._vars.items():
            module.set(k, to_starlark(v))
        prelude = _prelude()
        for helper, exported in _PRELUDE_HELPERS.items():
            module.set(f"{HELPER_PREFIX}{helper}", prelude.get(exported))
        module.set("range", prelude.get("range_"))
        module.set(f"{HELPER_PREFIX}tick", self._tick)
        module.set(f"{HELPER_PREFIX}undefined", self._undefined)
        ev = _fresh_evaluator(module)
        try:
            ev.set_loader(self)
            ev.set_print_handler(self._print)
            ast = xq.AstModule.parse(name, text, _DIALECT)
            with limits_mod.using_budget(self.budget):
                _engine_call(ev.eval_module, ast, self._globals)
            return module.freeze()
        finally:
            # Drop the engine objects here, on this thread (see call_function).
            del ev, module

    # -- public --------------------------------------------------------------------------
    def evaluate_main(self, path: Path, display_name: str | None = None, text: str | None = None) -> xq.FrozenModule:
        """Phase 1: evaluate the main file, then freeze its module.

        Args:
            path: the config file.
            display_name: file name used in diagnostics (default: ``str(path)``).
            text: the config's text when it is not read from ``path`` (a config generated
                from ``pyproject.toml``); ``path`` then need not exist.

        Returns:
            The frozen module.

        Raises:
            ConfigError: syntax, runtime or host error, with location; or an
                evaluation limit (``LimitExceeded``).
        """
        name = display_name or str(path)
        _LAST_HOST_EXC.set(None)
        if text is None:
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
        else:
            data = text.encode("utf-8")
        self.main_file = name
        self._paths[name] = path
        try:
            self.frozen = self._evaluate(name, path, data)
        except ConfigError:
            raise
        except (RuntimeError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise _config_error(exc, self._maps) from _LAST_HOST_EXC.get()
        self.main_text = self._maps[name].original
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
            with limits_mod.using_budget(self.budget):
                return call_function(fn, *args, print_sink=self._print_sink)
        except ConfigError:
            raise
        except _EnginePanic as exc:
            raise _panic_error(exc, self.main_file) from None
        except (RuntimeError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise _config_error(exc, self._maps) from _LAST_HOST_EXC.get()
        finally:
            _LAST_HOST_EXC.reset(token)


def call_nested(fn: Any, *args: Any, print_sink: Callable[[str], None] | None = None) -> Any:
    """Call a Starlark callback from inside a host function (e.g. a resource callback).

    Errors propagate as the engine's own ``RuntimeError`` so the outer evaluation
    reports them at the innermost Starlark location.
    """
    return call_function(fn, *args, print_sink=print_sink)


def _panic_error(exc: _EnginePanic, file: str) -> ConfigError:
    err = _LAST_HOST_EXC.get()
    if isinstance(err, limits_mod.LimitExceeded):
        return err
    return ConfigError(
        f"{file}: the Starlark engine gave up: {exc} (a string or list grew past the engine's size limits)"
    )


# Multi-line patterns (re.M) of rendered diagnostics, compiled when an error is reported.
_LOC = r"^\s*--> (.+?):(\d+):(\d+)\s*$"
_MSG = r"^error: (.*)$"
_FRAME = r"^\s*\* (.+?):(\d+), in (\S+)\s*$"
_PY_EXC_PREFIX = r"^(?:[A-Za-z_.]*(?:Error|Exception)): "


def _snippet(source: SourceMap | None, line: int, col: int) -> str:
    if source is None:
        return ""
    text = source.original_line(line)
    if not text and line > 1:
        return ""
    gutter = " " * len(str(line))
    caret_at = len(text[: col - 1].expandtabs(4)) if col >= 1 else 0
    return f"{gutter} |\n{line} | {text.expandtabs(4)}\n{gutter} | {' ' * caret_at}^"


def _locate(text: str, after: int, maps: Mapping[str, SourceMap]) -> tuple[str, int, int] | None:
    """The innermost user location of a rendered diagnostic, mapped to the user's text."""
    loc = re.compile(_LOC, re.M).search(text, max(after, 0))
    if not loc:
        return None
    file, line, col = loc.group(1), int(loc.group(2)), int(loc.group(3))
    if file == PRELUDE_FILE:
        # Raised inside an instrumentation helper: report the user's call of it.
        helper = _PRELUDE_LINES.get(line, "")
        frames = [f for f in re.compile(_FRAME, re.M).finditer(text, 0, loc.start()) if f.group(1) != PRELUDE_FILE]
        if not frames:
            return None
        file, line = frames[-1].group(1), int(frames[-1].group(2))
        col = 1
        source = maps.get(file)
        if source is not None:
            rewritten = source.rewritten.split("\n")[line - 1] if line - 1 < len(source.rewritten.split("\n")) else ""
            name = "range" if helper == "range_" else f"{HELPER_PREFIX}{helper}"
            k = rewritten.find(name + "(")
            col = k + 1 if k >= 0 else 1
    source = maps.get(file)
    if source is not None:
        line, col = source.to_original(line, col)
    return file, line, col


def _config_error(exc: BaseException, maps: Mapping[str, SourceMap] | None = None) -> ConfigError:
    """Turn a rendered xingque diagnostic into a ``ConfigError``.

    Nested evaluations (targets, callbacks) render as several ``error:`` blocks;
    the innermost is the last ``error:`` line, and its location is the first
    ``-->`` after it. Locations in instrumented text are mapped back to the
    user's text, and the snippet is taken from the user's text.
    """
    maps = maps or {}
    text = str(exc)
    msgs = list(re.finditer(_MSG, text, re.M))
    last = msgs[-1] if msgs else None
    where = _locate(text, last.end() if last else -1, maps)
    message = last.group(1).strip() if last else (text.strip().splitlines() or ["error"])[0]
    cause = _LAST_HOST_EXC.get()
    if isinstance(cause, ConfigError) and cause.file:
        return cause  # already located (a nested file or a limit raised with its location)
    if isinstance(cause, PyOxidizerError):
        message = cause.message
    elif cause is not None and str(cause) and str(cause) in message:
        message = str(cause)
    else:
        message = re.sub(_PY_EXC_PREFIX, "", message)
    message = message.replace("Object of type `pyobject`", "Object")
    missing = re.search(r"has no attribute `(\w+)`", message)
    if missing and missing.group(1) in _MISSING_ATTRIBUTES:
        message = _MISSING_ATTRIBUTES[missing.group(1)]
    message = re.sub(r", did you mean `[^`]*`\?", "", message) if "not found" in message else message
    hint = cause.hint if isinstance(cause, PyOxidizerError) else None
    err_type = type(cause) if isinstance(cause, limits_mod.LimitExceeded) else ConfigError
    if where is None:
        return err_type(message, hint=hint)
    file, line, col = where
    snippet = "" if isinstance(cause, DownloadError) else _snippet(maps.get(file), line, col)
    return err_type(message, file=file, line=line, col=col, snippet=snippet, hint=hint)
