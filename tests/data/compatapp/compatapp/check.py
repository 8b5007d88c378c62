"""The checks: each value in the report is compared with what a regular installation gives."""

import importlib
import importlib.metadata
import importlib.resources
import inspect
import io
import json
import linecache
import os
import pkgutil
import runpy
import sys
import traceback
import warnings


def _resources(report):
    import compatapp

    here = os.path.dirname(compatapp.__file__)
    report["file"] = compatapp.__file__
    report["spec_origin"] = compatapp.__spec__.origin
    report["path"] = list(compatapp.__path__)
    report["loader_get_data"] = compatapp.__loader__.get_data(os.path.join(here, "data", "message.txt")).decode()
    report["pkgutil_get_data"] = pkgutil.get_data("compatapp", "data/message.txt").decode()
    files = importlib.resources.files("compatapp")
    report["files_names"] = sorted(p.name for p in files.iterdir())
    report["files_read_text"] = files.joinpath("data", "message.txt").read_text(encoding="utf-8")
    with importlib.resources.as_file(files / "data" / "message.txt") as path:
        with open(path, encoding="utf-8") as f:
            report["as_file"] = f.read()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        report["read_text"] = importlib.resources.read_text("compatapp", "hello.txt")


def _certifi(report):
    import certifi

    where = certifi.where()
    report["certifi_where"] = where
    with open(where, encoding="ascii") as f:
        report["certifi_where_is_pem"] = "-----BEGIN CERTIFICATE-----" in f.read()
    report["certifi_contents"] = "-----BEGIN CERTIFICATE-----" in certifi.contents()
    report["certifi_files_type"] = type(importlib.resources.files("certifi").joinpath("cacert.pem")).__name__


def _metadata(report):
    report["version_rich"] = importlib.metadata.version("rich")
    report["version_certifi"] = importlib.metadata.version("certifi")
    report["metadata_name"] = importlib.metadata.metadata("pyflakes")["Name"]
    scripts = importlib.metadata.entry_points().select(group="console_scripts")
    report["console_scripts"] = sorted(e.name for e in scripts)
    entry = next(e for e in scripts if e.name == "pyflakes")
    report["entry_point_loads"] = entry.load().__module__
    files = importlib.metadata.files("rich")
    init = next((p for p in files if str(p) == "rich/__init__.py"), None)
    report["metadata_files"] = len(importlib.metadata.distribution("rich").read_text("RECORD").splitlines()) > 50
    # Installed packages ship bytecode only by default: RECORD lists a .py that is not there
    # (CPython 3.12+ leaves missing files out of files()).
    present = init is not None and init.locate().exists()
    report["metadata_file_read"] = "def print(" in init.read_text() if present else "missing"
    metadata = next(p for p in files if p.name == "METADATA")
    report["metadata_read"] = "Name: rich" in metadata.read_text()
    report["requires"] = sorted(r.split()[0].split(";")[0] for r in importlib.metadata.requires("rich") or [])[:2]


def _source(report):
    import compatapp.boom

    report["getsource"] = inspect.getsource(compatapp.boom.explode).splitlines()[-1].strip()
    try:
        compatapp.boom.explode()
    except KeyError:
        report["traceback"] = traceback.format_exc()
    report["linecache"] = linecache.getline(compatapp.boom.__file__, 6, vars(compatapp.boom)).strip()
    import json.decoder

    import rich.console

    # The default policy ships the stdlib and installed packages as bytecode only.
    for key, func in (
        ("stdlib_getsource", json.decoder.JSONDecoder.decode),
        ("package_getsource", rich.console.Console.print),
    ):
        try:
            report[key] = inspect.getsource(func).splitlines()[0].strip()
        except OSError as exc:
            report[key] = f"OSError: {exc}"


def _modules(report):
    import rich

    report["rich_path"] = list(rich.__path__)
    report["iter_rich"] = {"console", "table", "syntax"} <= {m.name for m in pkgutil.iter_modules(rich.__path__)}
    top = {m.name for m in pkgutil.iter_modules()}
    report["iter_top"] = {"compatapp", "rich", "certifi", "json", "pyflakes"} <= top
    walked = {m.name for m in pkgutil.walk_packages(__import__("compatapp").__path__, "compatapp.")}
    report["walk_packages"] = sorted(walked)
    report["run_module"] = runpy.run_module("compatapp.tool")["RESULT"]
    report["path_finder"] = any(getattr(f, "__name__", "") == "PathFinder" for f in sys.meta_path)
    report["meta_path_0"] = type(sys.meta_path[0]).__name__
    report["encodings_loader"] = type(sys.modules["encodings"].__loader__).__name__
    report["encodings_file"] = sys.modules["encodings"].__file__
    try:
        importlib.import_module("dropped_beside_exe")
        report["filesystem_import"] = True
    except ImportError:
        report["filesystem_import"] = False


def _real_packages(report):
    from rich.console import Console
    from rich.syntax import Syntax
    from rich.table import Table

    out = io.StringIO()
    console = Console(file=out, width=60, color_system="truecolor", force_terminal=True)
    table = Table(title="packages")
    table.add_column("name")
    table.add_row("rich")
    console.print(table)
    console.print(Syntax("x = 1", "python"))  # pygments lexers, found through importlib.metadata plugins
    report["rich_render"] = "packages" in out.getvalue() and "\x1b[" in out.getvalue()

    import pyflakes.api
    import pyflakes.reporter

    messages = io.StringIO()
    reporter = pyflakes.reporter.Reporter(messages, messages)
    report["pyflakes"] = pyflakes.api.check("import os\n", "mem.py", reporter)


def main(args):
    if args[:1] == ["raise"]:
        import compatapp.boom

        compatapp.boom.explode()
    report = {"executable": sys.executable, "version": "%d.%d" % sys.version_info[:2]}
    for check in (_resources, _certifi, _metadata, _source, _modules, _real_packages):
        try:
            check(report)
        except Exception:
            report["error_" + check.__name__] = traceback.format_exc()
    print(json.dumps(report, indent=1, sort_keys=True))
    return 0
