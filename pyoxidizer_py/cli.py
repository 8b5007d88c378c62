"""The ``pyoxidizer-py`` command line: parse arguments, call one library function, render the result.

Exit status (documented in docs/cli.md):

====  =========================================================
0     success
1     an error the user can fix (config, distribution, pip, cargo); one ``error:`` line on stderr
2     a usage error (unknown option, missing argument)
130   interrupted (Ctrl-C, SIGINT): 128 + SIGINT, the shell convention; one ``error: interrupted`` line
====  =========================================================

A reader that closes the pipe early (``pyoxidizer-py python-distribution-list | head -1``) ends the
command quietly with status 0: the rest of the output is dropped, no BrokenPipeError is shown (the
recipe of https://docs.python.org/3/library/signal.html#note-on-sigpipe).

The traceback of an error is shown only with ``--verbose``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pyoxidizer_py import __version__, logs
from pyoxidizer_py.errors import ConfigError, PyOxidizerError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (list-targets start-up)
if TYPE_CHECKING:
    from typing import Any

    from pyoxidizer_py import build as building_module
    from pyoxidizer_py.commands import ProgramName

__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT (2), what a shell reports for a program stopped by Ctrl-C


def _env_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--var",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="set VARS[NAME] = VALUE in the config",
    )
    p.add_argument(
        "--var-env",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "ENV"),
        help="set VARS[NAME] from environment variable ENV (None when unset)",
    )


def _dist_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--python-distribution",
        metavar="SPEC",
        default=None,
        help="CPython to embed for default_python_distribution(): 'host', a python executable, "
        "or a python-build-standalone archive path/URL (env: PYOXIDIZER_PY_DISTRIBUTION)",
    )


def _work_dir_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--work-dir",
        metavar="DIR",
        default=None,
        help="directory for intermediates (Rust project, artifacts, cargo target dir), one subdirectory "
        "per config (env: PYOXIDIZER_PY_WORK_DIR; default: the cache dir's work/)",
    )


def _zero_config_args(p: argparse.ArgumentParser) -> None:
    """Options of a build from ``pyproject.toml`` alone (no ``pyoxidizer.bzl``; docs/pyproject.md)."""
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--script",
        metavar="NAME",
        help="without a pyoxidizer.bzl: build only this [project.scripts] entry of pyproject.toml "
        "(or NAME=module:function for one it does not declare)",
    )
    group.add_argument(
        "--module", metavar="MODULE", help="without a pyoxidizer.bzl: build one executable running python -m MODULE"
    )


def _new_config_args(p: argparse.ArgumentParser) -> None:
    """Options of the commands that write a new ``pyoxidizer.bzl``."""
    p.add_argument("--python-code", metavar="CODE", help="Python code the executable runs")
    p.add_argument(
        "--pip-install",
        metavar="PKG",
        action="append",
        default=[],
        help="package to pip install into the executable (repeatable)",
    )


# Evaluation limits (config.limits): each flag sets its environment variable for this run.
def _limit(kind: type) -> Callable[[str], str]:
    def parse(text: str) -> str:
        try:
            ok = kind(text) >= 0
        except ValueError:
            ok = False
        if not ok:
            raise argparse.ArgumentTypeError(f"expected a non-negative {kind.__name__}, got {text!r}")
        return text

    return parse


_EVAL_LIMIT_FLAGS = (
    ("--eval-max-steps", "PYOXIDIZER_PY_EVAL_MAX_STEPS", "N", "loop iterations and calls (default 2000000)", int),
    ("--eval-max-seconds", "PYOXIDIZER_PY_EVAL_MAX_SECONDS", "S", "seconds running Starlark (default 60)", float),
    ("--eval-max-memory", "PYOXIDIZER_PY_EVAL_MAX_MEMORY", "MIB", "MiB of strings and lists built (default 512)", int),
)


# --- start-up: `--version` and `list-targets` build only the parser they use --------------------
def _terminal_columns() -> int:
    """Columns of the terminal, as ``shutil.get_terminal_size()`` reports them (``COLUMNS``, then
    stdout's terminal, else 80), without importing shutil (and the compression modules it loads)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter with the width argparse itself computes (terminal columns - 2)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None):
        super().__init__(prog, indent_increment, max_help_position, _terminal_columns() - 2 if width is None else width)


class _Parser(argparse.ArgumentParser):
    """``ArgumentParser`` using ``_HelpFormatter`` (subcommand parsers inherit the class)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)


class _SkippedParser(_Parser):
    """Stands in for the parser of a command that is not being run: its options are not built."""

    def __init__(self) -> None:  # no ArgumentParser.__init__: nothing here is ever parsed
        pass

    def add_argument(self, *args: Any, **kwargs: Any) -> Any:
        return None

    def add_mutually_exclusive_group(self, **kwargs: Any) -> Any:
        return self


class _Subcommands:
    """``add_subparsers()``'s action, building in full only the parser of command ``only`` (all
    when ``only`` is None); the others get their name and help line, so choices and errors stay
    the same."""

    def __init__(self, action: Any, only: str | None) -> None:
        self._action = action
        self._only = only

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        action = self._action
        if self._only is None or name == self._only:
            return action.add_parser(name, **kwargs)  # type: ignore[no-any-return]
        if all(hasattr(action, a) for a in ("_ChoicesPseudoAction", "_choices_actions", "_name_parser_map")):
            # What add_parser(name, help=...) records, without building a parser that is never
            # used (each costs its gettext look-ups): the name among the choices, its help line.
            action._choices_actions.append(action._ChoicesPseudoAction(name, (), kwargs.get("help")))
            action._name_parser_map[name] = _SkippedParser()
        else:  # argparse's internals changed: build the small parser after all
            action.add_parser(name, help=kwargs.get("help"), add_help=False)
        return _SkippedParser()


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of every command (also used for the ``--help`` snapshot test).

    Args:
        only: build the options of this command alone (the others keep their name and help line;
            ``main`` passes the command it is about to run); None builds every command's.

    Returns:
        The parser.
    """
    common = _Parser(add_help=False)
    common.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS,
        help="more output: pip's and cargo's own output, tracebacks on errors (repeatable)",
    )
    common.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=argparse.SUPPRESS,
        help="no progress lines or notes; only warnings, errors and the command's own output",
    )
    common.add_argument(
        "--system-rust",
        action="store_true",
        default=argparse.SUPPRESS,
        help="accepted for PyOxidizer compatibility: pyoxidizer-py always uses the cargo on PATH",
    )
    for flag, env, metavar, what, kind in _EVAL_LIMIT_FLAGS:
        common.add_argument(
            flag,
            metavar=metavar,
            type=_limit(kind),
            default=argparse.SUPPRESS,
            help=f"config evaluation limit: {what}; 0 = no limit (env: {env})",
        )
    parser = _Parser(
        prog="pyoxidizer-py",
        description="Build self-contained executables that embed CPython, configured by pyoxidizer.bzl.",
        parents=[common],
    )
    parser.add_argument("-V", "--version", action="version", version=f"pyoxidizer-py {__version__}")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND")
    subcommands.required = True
    sub = _Subcommands(subcommands, only)

    p = sub.add_parser("init-config-file", parents=[common], help="write a new pyoxidizer.bzl")
    p.add_argument("path", metavar="PATH", help="directory to create the config in")
    _new_config_args(p)
    p.add_argument(
        "--from-pyproject",
        action="store_true",
        help="write the pyoxidizer.bzl that a build from PATH/pyproject.toml alone uses (eject)",
    )
    _zero_config_args(p)

    p = sub.add_parser(
        "init-rust-project", parents=[common], help="create a Rust project that embeds Python and builds with cargo"
    )
    p.add_argument("path", metavar="PATH", help="directory of the new project (its name is the program's)")
    _new_config_args(p)
    _dist_arg(p)

    p = sub.add_parser(
        "run-build-script",
        parents=[common],
        help="write a Rust project's artifacts from its pyoxidizer.bzl (run by build.rs; prints cargo: lines)",
    )
    p.add_argument("script", metavar="BUILD_SCRIPT", help="the build script's path (build.rs)")
    p.add_argument(
        "--target", metavar="TARGET", help="config target to resolve (default: the default build-script target)"
    )
    _dist_arg(p)

    p = sub.add_parser(
        "generate-python-embedding-artifacts",
        parents=[common],
        help="write libpython, PyO3's config file and the stdlib for embedding Python in a Rust program",
    )
    p.add_argument("dest", metavar="DEST", help="directory to write the artifacts to")
    p.add_argument(
        "--flavor",
        default="standalone",
        choices=["standalone", "standalone_static", "standalone-static", "standalone_dynamic", "standalone-dynamic"],
        help="distribution flavor: standalone (the default link mode), standalone_static or standalone_dynamic",
    )
    p.add_argument(
        "--python-version",
        metavar="X.Y",
        help="CPython version, 3.10-3.15, or 3.14t/3.15t for a free-threaded build (default: the newest minor "
        "released at least six months before the catalog's newest release; python-distribution-list names it)",
    )
    p.add_argument("--target-triple", metavar="TRIPLE", help="Rust target triple (default: the host's)")
    _dist_arg(p)

    p = sub.add_parser("list-targets", parents=[common], help="list the targets of a config")
    p.add_argument("path", metavar="PATH", nargs="?", default=".", help="config file or a directory under it")
    _env_args(p)

    p = sub.add_parser("build", parents=[common], help="build targets of a config")
    p.add_argument("targets", metavar="TARGET", nargs="*", help="targets to build (default: the default target)")
    p.add_argument("--path", default=".", help="config file or a directory under it (default: .)")
    p.add_argument("--release", action="store_true", help="build in release mode")
    p.add_argument("--target-triple", metavar="TRIPLE", help="Rust target triple to build for")
    _env_args(p)
    _dist_arg(p)
    _work_dir_arg(p)
    _zero_config_args(p)

    p = sub.add_parser("run", parents=[common], help="build a target and run it")
    p.add_argument("--path", default=".", help="config file or a directory under it (default: .)")
    p.add_argument("--target", metavar="TARGET", help="target to run (default: the default target)")
    p.add_argument("--release", action="store_true", help="build in release mode")
    p.add_argument("--target-triple", metavar="TRIPLE", help="Rust target triple to build for")
    _env_args(p)
    _dist_arg(p)
    _work_dir_arg(p)
    _zero_config_args(p)
    p.add_argument("extra", nargs=argparse.REMAINDER, metavar="-- ARGS", help="arguments passed to the program")

    p = sub.add_parser(
        "python-distribution-extract", parents=[common], help="extract a python-build-standalone distribution"
    )
    p.add_argument("dest", metavar="DESTINATION_PATH")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--download-default", action="store_true", help="download the default distribution")
    group.add_argument("--archive-path", metavar="DISTRIBUTION_PATH", help="a local archive")

    p = sub.add_parser("python-distribution-info", parents=[common], help="describe a distribution archive")
    p.add_argument("path", metavar="PATH")
    p = sub.add_parser("python-distribution-licenses", parents=[common], help="licenses of a distribution archive")
    p.add_argument("path", metavar="PATH")
    p = sub.add_parser("python-distribution-list", parents=[common], help="list the python-build-standalone catalog")
    p.add_argument("--python-version", metavar="X.Y", help="only this version (3.14, 3.14.2, 3.14t)")
    p.add_argument("--target-triple", metavar="TRIPLE")
    p.add_argument("--all", action="store_true", dest="all_releases", help="every patch release, not just the newest")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p = sub.add_parser("sbom", parents=[common], help="print the SBOM embedded in a built executable")
    p.add_argument("executable", metavar="EXECUTABLE")
    p.add_argument("--validate", action="store_true", help="check it against the CycloneDX 1.6 schema")
    p = sub.add_parser(
        "cache-clear", parents=[common], help="delete pyoxidizer-py's cache (downloads, pip installs, work dirs)"
    )
    _work_dir_arg(p)
    p = sub.add_parser("completion", parents=[common], help="print a shell completion script (bash, zsh, fish)")
    p.add_argument("shell", metavar="SHELL", choices=COMPLETION_SHELLS, help=", ".join(COMPLETION_SHELLS))

    return parser


COMPLETION_SHELLS = ("bash", "zsh", "fish")


def completion_script(shell: str) -> str:
    """Return the completion script of every command and flag for ``shell`` (generated by shtab).

    Args:
        shell: one of ``COMPLETION_SHELLS``.

    Returns:
        The script's text (docs/cli.md, "Shell completion", says where to put it).
    """
    import shtab

    return str(shtab.complete(build_parser(), shell=shell))


def _setup_logging(verbose: int, quiet: bool) -> None:
    import logging

    from pyoxidizer_py import progress

    progress.configure(quiet=quiet)
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = progress.LogHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger("pyoxidizer_py")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def _vars(ns: argparse.Namespace) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    for name, value in getattr(ns, "var", []):
        if name in values:
            raise PyOxidizerError(f"Starlark variable {name} already defined")
        values[name] = value
    for name, env in getattr(ns, "var_env", []):
        if name in values:
            raise PyOxidizerError(f"Starlark variable {name} already defined")
        values[name] = os.environ.get(env)
    return values


def _render_error(exc: PyOxidizerError) -> str:
    """One ``error:`` line, then any detail lines (cargo or pip output) indented so they never
    look like further errors, then the snippet and hint."""
    first, *details = str(exc).splitlines() or [""]
    lines = [f"error: {first}", *(f"  | {d}" for d in details)]
    if isinstance(exc, ConfigError) and exc.snippet:
        lines.append(exc.snippet)
    if exc.hint:
        lines.append(f"hint: {exc.hint}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: arguments without the program name (default: ``sys.argv[1:]``).

    Returns:
        The exit status (0, 1, 2 or 130; see the module docstring).
    """
    try:
        status = _main(argv)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's shutdown flush
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_OK
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return status


def _discard_stdout() -> None:
    """Point stdout's file descriptor at the null device, so the interpreter's final flush of the
    buffered rest does not raise BrokenPipeError again (docs.python.org/3/library/signal.html,
    "Note on SIGPIPE")."""
    import contextlib  # only here (start-up of the console script, which runpy does not load)

    with contextlib.suppress(OSError, ValueError):  # ValueError, OSError: no real descriptor (a StringIO)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _main(argv: Sequence[str] | None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    # Only the parser of the command being run (the first word), or none for a bare --version.
    only = "" if args in (["--version"], ["-V"]) else args[0] if args and not args[0].startswith("-") else None
    parser = build_parser(only)
    try:
        ns = parser.parse_args(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    verbose = int(getattr(ns, "verbose", 0) or 0)
    quiet = bool(getattr(ns, "quiet", False))
    if ns.command == "list-targets":  # it usually logs nothing: set logging up when first used
        logs.defer(lambda: _setup_logging(verbose, quiet))
    else:
        _setup_logging(verbose, quiet)
    for flag, env, _metavar, _what, _kind in _EVAL_LIMIT_FLAGS:
        value = getattr(ns, flag[2:].replace("-", "_"), None)
        if value is not None:
            os.environ[env] = value
    try:
        return _dispatch(ns)
    except PyOxidizerError as exc:
        if verbose:
            import traceback

            traceback.print_exc(file=sys.stderr)
        print(_render_error(exc), file=sys.stderr)
        return EXIT_ERROR


def _built_line(result: building_module.BuildResult) -> str:
    """``built TARGET: EXECUTABLE (SIZE)``, or the output directory and its size for a target with no
    executable to run."""
    from pyoxidizer_py.progress import format_size

    path = result.run_path if result.run_path is not None and result.run_path.is_file() else result.output
    if path.is_file():
        size = path.stat().st_size
    else:
        size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    return f"built {result.target}: {path} ({format_size(size)})"


def _note_program_name(program: ProgramName) -> None:
    if program.changed:
        print(
            f"note: the program is named {program.name}: {program.given!r} is not a valid executable name "
            "(letters, digits, '-' and '_', starting with a letter)",
            file=sys.stderr,
        )


def _dispatch(ns: argparse.Namespace) -> int:
    from pyoxidizer_py import commands

    if ns.command == "completion":
        sys.stdout.write(completion_script(ns.shell))
        return EXIT_OK
    if ns.command == "init-config-file" and (ns.from_pyproject or ns.script or ns.module):
        if not ns.from_pyproject:
            raise PyOxidizerError("--script and --module need --from-pyproject")
        dest = commands.eject_pyproject_config(Path(ns.path), script=ns.script, module=ns.module)
        print(f"writing {dest}\n\n`pyoxidizer-py build --path {ns.path}` now builds from it.", file=sys.stderr)
        return EXIT_OK
    if ns.command == "init-config-file":
        dest = commands.init_config_file(Path(ns.path), ns.python_code, ns.pip_install)
        print(f"writing {dest}", file=sys.stderr)
        _note_program_name(commands.program_name_for(Path(ns.path)))
        import shlex  # only here and in init-rust-project (start-up of the other commands)

        where = shlex.quote(ns.path)
        print(
            f"\nBuild and run it with:\n\n  pyoxidizer-py run --path {where}\n\n"
            "That downloads a python-build-standalone CPython the first time. Offline, embed the Python\n"
            f"running pyoxidizer-py instead:\n\n  pyoxidizer-py run --path {where} --python-distribution host\n",
            file=sys.stderr,
        )
        return EXIT_OK
    if ns.command == "init-rust-project":
        import shlex

        made = commands.init_rust_project(
            Path(ns.path), ns.python_code, ns.pip_install, distribution_spec=ns.python_distribution
        )
        _note_program_name(commands.program_name_for(Path(ns.path)))
        where = shlex.quote(ns.path)
        if made.artifacts_dir is not None:
            print(
                f"created the Rust project {made.path} and its artifacts\nBuild and run it with cargo:\n\n"
                f"  cd {where}\n  cargo run\n\n(see README.md there; or `pyoxidizer-py run` in that directory)",
                file=sys.stderr,
            )
            return EXIT_OK
        print(
            f"created the Rust project {made.path}\nBuild and run it with cargo:\n\n"
            f"  cd {where}\n"
            "  pyoxidizer-py run-build-script build.rs   # once: writes artifacts/ (downloads CPython)\n"
            "  cargo run\n\n"
            "offline: add --python-distribution host to run-build-script (or to init-rust-project);\n"
            "it is recorded in .cargo/config.toml for cargo's builds. See README.md there.",
            file=sys.stderr,
        )
        return EXIT_OK
    if ns.command == "run-build-script":
        from pyoxidizer_py.embedding import BuildScriptOptions, run_build_script

        script = run_build_script(
            BuildScriptOptions(script=ns.script, target=ns.target, distribution_spec=ns.python_distribution)
        )
        if script.under_cargo:
            for line in script.cargo_lines:
                print(line)
        else:
            state = "are up to date" if script.up_to_date else "written"
            print(f"artifacts in {script.artifacts_dir} {state}; now run cargo build", file=sys.stderr)
            if script.recorded_distribution is not None:
                print(
                    f"note: PYOXIDIZER_PY_DISTRIBUTION = {script.recorded_distribution!r} recorded in "
                    ".cargo/config.toml: cargo's builds embed the same CPython",
                    file=sys.stderr,
                )
        return EXIT_OK
    if ns.command == "generate-python-embedding-artifacts":
        from pyoxidizer_py.embedding import EmbeddingArtifactsOptions, generate_python_embedding_artifacts

        names = generate_python_embedding_artifacts(
            EmbeddingArtifactsOptions(
                dest=Path(ns.dest),
                flavor=ns.flavor,
                python_version=ns.python_version,
                target_triple=ns.target_triple,
                distribution_spec=ns.python_distribution,
            )
        )
        print(f"wrote {', '.join(names)} to {ns.dest}", file=sys.stderr)
        return EXIT_OK
    if ns.command == "list-targets":
        listing = commands.list_targets(Path(ns.path), _vars(ns))
        if not listing.names:
            print("(no targets defined)")
        for name in listing.names:
            print(f"*{name}" if name == listing.default else name)
        return EXIT_OK
    if ns.command in ("build", "run"):
        from pyoxidizer_py import build as building

        options = building.BuildOptions(
            start=Path(ns.path),
            targets=tuple(ns.targets) if ns.command == "build" else ((ns.target,) if ns.target else ()),
            release=ns.release,
            target_triple=ns.target_triple,
            vars=_vars(ns),
            distribution_spec=ns.python_distribution,
            verbose=int(getattr(ns, "verbose", 0) or 0),
            work_dir=Path(ns.work_dir) if ns.work_dir else None,
            system_rust=bool(getattr(ns, "system_rust", False)),
            script=ns.script,
            module=ns.module,
        )
        if ns.command == "build":
            for result in building.build(options):
                if not getattr(ns, "quiet", False):
                    print(_built_line(result), file=sys.stderr)
            return EXIT_OK
        extra = list(ns.extra)
        if extra and extra[0] == "--":
            extra = extra[1:]
        return building.run(options, extra)
    if ns.command == "sbom":
        print(commands.read_sbom(Path(ns.executable), validate=ns.validate).rstrip("\n"))
        return EXIT_OK
    if ns.command.startswith("python-distribution-") or ns.command == "cache-clear":
        from pyoxidizer_py.distribution.pbs import commands as dist_commands

        if ns.command == "python-distribution-extract":
            text = dist_commands.python_distribution_extract(
                Path(ns.dest),
                download_default=ns.download_default,
                archive_path=Path(ns.archive_path) if ns.archive_path else None,
            )
        elif ns.command == "python-distribution-info":
            text = dist_commands.python_distribution_info(Path(ns.path))
        elif ns.command == "python-distribution-licenses":
            text = dist_commands.python_distribution_licenses(Path(ns.path))
        elif ns.command == "python-distribution-list":
            text = dist_commands.python_distribution_list(
                python_version=ns.python_version,
                target_triple=ns.target_triple,
                all_releases=ns.all_releases,
                as_json=ns.json,
            )
        else:
            text = commands.cache_clear(Path(ns.work_dir) if ns.work_dir else None)
        print(text.rstrip("\n"))
        return EXIT_OK
    raise AssertionError(f"unhandled command {ns.command}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
