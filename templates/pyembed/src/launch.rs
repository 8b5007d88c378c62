//! What this process runs: the configured program, a multiprocessing child, or
//! (with `parse_argv`, the `python` profile's default) what the command line
//! names, like the `python` command.
//!
//! Decided from the configuration and the process arguments before the
//! interpreter is configured (pure functions, no CPython calls):
//!
//! 1. `multiprocessing_auto_dispatch` and the process was started by
//!    `multiprocessing` as a child of this executable (exact command lines of
//!    CPython 3.10-3.14's `multiprocessing`, see `multiprocessing_child`): run
//!    the child's entry point instead of the application, in every profile.
//! 2. `parse_argv` (effective value): CPython parses the command line like
//!    `python`. A `-c CMD` or `-m MOD` on the command line wins over the
//!    configured `run_command`/`run_module`/`run_filename` (so
//!    `sys.executable -c ...` works in an application); otherwise the configured
//!    program runs and positional arguments are its arguments (a configured
//!    `run_filename` is passed to CPython as the script argument, so `sys.argv[0]`
//!    is the script as with `python FILE ARGS`). Without any program, the first
//!    positional argument is a script path and no argument at all starts the REPL.
//! 3. Otherwise the configured program runs with `sys.argv` = the process arguments.
//!    A configured `run_module` (without `run_command`) then runs through a short
//!    command (`run_module_command`) that does what `python -m` does without importing
//!    `runpy` and its dependencies, which would cost more than the rest of start-up.

use std::ffi::{OsStr, OsString};

/// The arguments `multiprocessing.spawn.get_command_line()` puts after a frozen
/// executable (`sys.frozen` true): `EXE --multiprocessing-fork name=value...`.
pub(crate) const MULTIPROCESSING_FORK: &str = "--multiprocessing-fork";

/// What a frozen spawn child runs: CPython's own parser of the `name=value`
/// arguments, which calls `multiprocessing.spawn.spawn_main(**kwargs)` and exits.
pub(crate) const FREEZE_SUPPORT_COMMAND: &str =
    "from multiprocessing.spawn import freeze_support; freeze_support()\n";

/// What may follow a multiprocessing `-c` command on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trailing {
    /// Nothing.
    Nothing,
    /// Exactly `--multiprocessing-fork` (non-frozen spawn children).
    MultiprocessingFork,
    /// Any arguments (the parent's `sys.argv[1:]`, newer forkserver versions).
    Any,
}

/// The `-c` commands CPython's `multiprocessing` starts `sys.executable` with,
/// even for frozen applications (3.10-3.14 `forkserver.py`, `resource_tracker.py`,
/// and `spawn.py` when `sys.frozen` is not set). Matched as exact prefixes.
const CHILD_COMMANDS: [(&str, Trailing); 4] = [
    (
        "from multiprocessing.resource_tracker import main;main(",
        Trailing::Nothing,
    ),
    (
        "from multiprocessing.forkserver import main; main(",
        Trailing::Nothing,
    ),
    (
        "import sys; from multiprocessing.forkserver import main; main(",
        Trailing::Any,
    ),
    (
        "from multiprocessing.spawn import spawn_main; spawn_main(",
        Trailing::MultiprocessingFork,
    ),
];

/// A process started by `multiprocessing` with this executable as `sys.executable`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum MultiprocessingChild {
    /// `EXE --multiprocessing-fork name=value...` (spawn with `sys.frozen`).
    FrozenSpawn,
    /// `EXE [interpreter flags] -c COMMAND [rest]`: run COMMAND with
    /// `sys.argv = ["-c", *rest]`, as `python` would.
    Command {
        command: String,
        rest: Vec<OsString>,
    },
}

fn bytes(arg: &OsStr) -> &[u8] {
    arg.as_encoded_bytes()
}

/// One of the interpreter flags `subprocess._args_from_interpreter_flags()`
/// writes before `-c` (3.10-3.14): `-O`/`-OO`, `-d`, `-B`, `-S`, `-v`, `-b`, `-q`,
/// `-I`, `-E`, `-s`, `-P` (repeated letters allowed), `-W<filter>`; `-X` is
/// followed by a separate value and handled by the caller.
fn is_single_interpreter_flag(arg: &[u8]) -> bool {
    match arg {
        [b'-', b'W', rest @ ..] => !rest.is_empty(),
        [b'-', letters @ ..] => {
            !letters.is_empty() && letters.iter().all(|c| b"OdBSvbqIEsP".contains(c))
        }
        _ => false,
    }
}

/// Whether `argv` is the command line of a `multiprocessing` child of this
/// executable, and which. Only CPython's exact forms count, so an application's
/// own `-c` argument is never taken for one.
pub(crate) fn multiprocessing_child(argv: &[OsString]) -> Option<MultiprocessingChild> {
    if argv.len() >= 2 && argv[1] == MULTIPROCESSING_FORK {
        return Some(MultiprocessingChild::FrozenSpawn);
    }
    let mut i = 1;
    while i < argv.len() {
        let arg = bytes(&argv[i]);
        if arg == b"-c" {
            break;
        }
        if arg == b"-X" {
            i += 2;
        } else if is_single_interpreter_flag(arg) {
            i += 1;
        } else {
            return None;
        }
    }
    let command = argv.get(i + 1)?.to_str()?;
    let rest = &argv[i + 2..];
    let trailing = CHILD_COMMANDS
        .iter()
        .find(|(prefix, _)| command.starts_with(prefix))?
        .1;
    let accepted = match trailing {
        Trailing::Nothing => rest.is_empty(),
        Trailing::MultiprocessingFork => rest.len() == 1 && rest[0] == MULTIPROCESSING_FORK,
        Trailing::Any => true,
    };
    accepted.then(|| MultiprocessingChild::Command {
        command: command.to_string(),
        rest: rest.to_vec(),
    })
}

/// Where CPython's command-line parser (`Python/getopt.c` with the options of
/// `Python/initconfig.c`, 3.10-3.14) stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CommandLineProgram {
    /// A `-c CMD` option ends the options.
    Command,
    /// A `-m MOD` option ends the options.
    Module,
    /// The options end before this index (a script path, `-`, the argument after
    /// `--`, or the end of argv).
    Arguments(usize),
    /// CPython exits while parsing (`-h`, `-V`, `--help...`, an unknown option).
    Exits,
}

/// Scan `argv` the way CPython parses the `python` command line.
pub(crate) fn scan_python_command_line(argv: &[OsString]) -> CommandLineProgram {
    // Short options taking a value; all others take none.
    const WITH_VALUE: &[u8] = b"cmWX";
    const FLAGS: &[u8] = b"bBdEiIOPqRsStuvx";
    let mut i = 1;
    while i < argv.len() {
        let arg = bytes(&argv[i]);
        if arg.first() != Some(&b'-') || arg == b"-" {
            return CommandLineProgram::Arguments(i);
        }
        if arg == b"--" {
            return CommandLineProgram::Arguments(i + 1);
        }
        if let Some(long) = arg.strip_prefix(b"--") {
            if long == b"check-hash-based-pycs" {
                i += 2;
                continue;
            }
            return CommandLineProgram::Exits;
        }
        i += 1;
        let mut j = 1;
        while j < arg.len() {
            let option = arg[j];
            j += 1;
            match option {
                b'c' => return CommandLineProgram::Command,
                b'm' => return CommandLineProgram::Module,
                _ if WITH_VALUE.contains(&option) => {
                    if j == arg.len() {
                        i += 1; // the value is the next argument
                    }
                    break;
                }
                _ if FLAGS.contains(&option) => {}
                _ => return CommandLineProgram::Exits, // -h, -?, -V, unknown
            }
        }
    }
    CommandLineProgram::Arguments(argv.len().min(i))
}

/// The program settings of the configuration that decide what runs.
#[derive(Clone, Debug)]
pub(crate) struct Configured {
    /// `parse_argv` after the profile's default (python: true, isolated: false).
    pub parse_argv: bool,
    pub multiprocessing_auto_dispatch: bool,
    pub run_command: Option<String>,
    pub run_module: Option<String>,
    /// `$ORIGIN` already expanded.
    pub run_filename: Option<OsString>,
}

/// What to put in `PyPreConfig`/`PyConfig` for this process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Launch {
    /// Override of `parse_argv` (None: keep the configured value).
    pub parse_argv: Option<bool>,
    pub run_command: Option<String>,
    pub run_module: Option<String>,
    pub run_filename: Option<OsString>,
    /// `PyConfig.argv`.
    pub argv: Vec<OsString>,
}

/// Decide what this process runs (see the module documentation for the rules).
pub(crate) fn plan(configured: &Configured, argv: Vec<OsString>) -> Launch {
    let as_configured = |argv: Vec<OsString>| Launch {
        parse_argv: None,
        run_command: configured.run_command.clone(),
        run_module: configured.run_module.clone(),
        run_filename: configured.run_filename.clone(),
        argv,
    };
    let command_line_program = |argv: Vec<OsString>| Launch {
        parse_argv: None,
        run_command: None,
        run_module: None,
        run_filename: None,
        argv,
    };
    if configured.multiprocessing_auto_dispatch {
        match multiprocessing_child(&argv) {
            Some(MultiprocessingChild::FrozenSpawn) => {
                // CPython's parser would reject --multiprocessing-fork: pass argv
                // through unparsed (spawn_main checks sys.argv[1]).
                return Launch {
                    parse_argv: Some(false),
                    run_command: Some(FREEZE_SUPPORT_COMMAND.to_string()),
                    run_module: None,
                    run_filename: None,
                    argv,
                };
            }
            Some(MultiprocessingChild::Command { command, rest }) if !configured.parse_argv => {
                // The interpreter flags before -c are the parent's, which came
                // from this same configuration: nothing to apply.
                let mut child_argv = vec![OsString::from("-c")];
                child_argv.extend(rest);
                return Launch {
                    parse_argv: None,
                    run_command: Some(command + "\n"),
                    run_module: None,
                    run_filename: None,
                    argv: child_argv,
                };
            }
            // With parse_argv, CPython parses `[flags] -c COMMAND` itself below.
            _ => {}
        }
    }
    if !configured.parse_argv {
        return without_runpy(as_configured(argv));
    }
    match scan_python_command_line(&argv) {
        CommandLineProgram::Command | CommandLineProgram::Module => command_line_program(argv),
        CommandLineProgram::Arguments(index)
            if configured.run_command.is_none() && configured.run_module.is_none() =>
        {
            match &configured.run_filename {
                Some(file) => {
                    let mut argv = argv;
                    argv.insert(index, file.clone());
                    command_line_program(argv)
                }
                None => as_configured(argv),
            }
        }
        _ => as_configured(argv),
    }
}

/// Run a configured `run_module` with `run_module_command` instead of CPython's
/// `runpy` (only when no `run_command` is set: CPython runs `run_command` first).
///
/// Only for `parse_argv = false`: with `parse_argv`, CPython makes `sys.argv[0]` and
/// `sys.path[0]` depend on whether it saw `-c` or `-m`, so `runpy` keeps doing it there.
fn without_runpy(mut launch: Launch) -> Launch {
    if launch.run_command.is_none() {
        if let Some(name) = launch.run_module.take() {
            launch.run_command = Some(run_module_command(&name));
        }
    }
    launch
}

/// What `runpy._run_module_as_main(name, alter_argv=True)` does (CPython 3.10-3.15
/// `Lib/runpy.py`), as a command run in `__main__`'s namespace: import the parent
/// packages, find the spec through `sys.meta_path` (a package runs its `__main__`),
/// set `sys.argv[0]` to the module's file and `__name__`, `__file__`, `__cached__`,
/// `__loader__`, `__package__`, `__spec__` of `__main__`, then execute the module's
/// code there. Errors exit with runpy's messages (`EXE: No module named X`).
const RUN_MODULE_COMMAND: &str = r#"def _pyoxidizer_run_module(name, main_globals):
    import sys

    def find(name):
        parent = name.rpartition(".")[0]
        path = None
        if parent:
            __import__(parent)
            path = getattr(sys.modules[parent], "__path__", None)
            if path is None:
                raise SystemExit("%s: Error while finding module specification for %r "
                                 "(ModuleNotFoundError: __path__ attribute not found on %r while trying to "
                                 "find %r)" % (sys.executable, name, parent, name))
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            spec = find_spec(name, path) if find_spec is not None else None
            if spec is not None:
                return spec
        return None

    if name.startswith("."):
        raise SystemExit("%s: Relative module names not supported" % sys.executable)
    spec = find(name)
    if spec is not None and spec.submodule_search_locations is not None:
        package = name
        name += ".__main__"
        spec = find(name)
        if spec is None:
            raise SystemExit("%s: No module named %s; %r is a package and cannot be directly executed"
                             % (sys.executable, name, package))
    if spec is None or spec.loader is None:
        raise SystemExit("%s: No module named %s" % (sys.executable, name))
    code = spec.loader.get_code(name)
    if code is None:
        raise SystemExit("%s: No code object available for %s" % (sys.executable, name))
    sys.argv[0] = spec.origin
    del main_globals["_pyoxidizer_run_module"]
    main_globals.update(__name__="__main__", __file__=spec.origin, __cached__=spec.cached, __doc__=None,
                        __loader__=spec.loader, __package__=spec.parent, __spec__=spec)
    exec(code, main_globals)

_pyoxidizer_run_module(MODULE_NAME, globals())
"#;

/// The `run_command` that runs module `name` as `__main__` (see `RUN_MODULE_COMMAND`).
pub(crate) fn run_module_command(name: &str) -> String {
    RUN_MODULE_COMMAND.replace("MODULE_NAME", &python_str_literal(name))
}

/// A Python string literal for `text` (ASCII, with `\\`, `"` and non-printable or
/// non-ASCII characters escaped).
fn python_str_literal(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            ' '..='~' => out.push(c),
            _ => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}
