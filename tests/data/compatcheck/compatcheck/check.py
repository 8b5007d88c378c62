"""Print a JSON report of what the packaged application sees (one key per check)."""

import json
import os
import sys
import tempfile


def _record(out, key, fn):
    """Run one group of checks; a failure is reported as ``error_<key>``."""
    try:
        fn()
    except BaseException as exc:  # report every failure, not just the first
        out["error_" + key] = "%s: %s" % (type(exc).__name__, exc)


def _namespace(out):
    import jaraco.context
    import jaraco.functools
    import jaraco.text

    out["ns_path_type"] = type(jaraco.__path__).__name__
    out["ns_path"] = list(jaraco.__path__)
    out["ns_origin"] = jaraco.__spec__.origin
    out["ns_file"] = getattr(jaraco, "__file__", None)
    out["ns_loader"] = type(jaraco.__loader__).__name__
    out["ns_loader_is_namespace_loader"] = isinstance(
        jaraco.__loader__, sys.modules["_frozen_importlib_external"]._NamespaceLoader
    )
    out["ns_functools"] = jaraco.functools.compose(str.upper, str.strip)("  ok ")
    with jaraco.context.suppress(ZeroDivisionError):
        _ = 1 / 0
    out["ns_text_lorem"] = jaraco.text.lorem_ipsum.split()[0]
    import pkgutil

    out["ns_iter_modules"] = sorted(m.name for m in pkgutil.iter_modules(jaraco.__path__))
    # Extend the namespace with a directory outside the executable, as plugin systems do.
    extra = tempfile.mkdtemp()
    os.mkdir(os.path.join(extra, "jaraco"))
    with open(os.path.join(extra, "jaraco", "added_later.py"), "w") as f:
        f.write("WHERE = 'a portion added to __path__ at run time'\n")
    jaraco.__path__.append(os.path.join(extra, "jaraco"))
    import jaraco.added_later

    out["ns_extended"] = jaraco.added_later.WHERE
    import importlib.util

    out["ns_find_spec"] = importlib.util.find_spec("jaraco").submodule_search_locations is not None


def _namespace_with_extensions(out):
    import zope.event
    import zope.interface

    class IThing(zope.interface.Interface):
        pass

    @zope.interface.implementer(IThing)
    class Thing:
        pass

    out["zope_path_type"] = type(zope.__path__).__name__
    out["zope_path"] = list(zope.__path__)
    out["zope_provides"] = IThing.providedBy(Thing())
    out["zope_c_optimizations"] = "zope.interface._zope_interface_coptimizations" in sys.modules
    events = []
    zope.event.subscribers.append(events.append)
    zope.event.notify("ping")
    out["zope_event"] = events


def _namespace_data(out):
    import importlib.resources

    import compatns.hello

    out["ns_data_module"] = compatns.hello.X
    out["ns_data"] = importlib.resources.files("compatns").joinpath("greeting.txt").read_text()


def _subdir_namespace(out):
    import compatcheck.plugins.first

    out["local_ns_type"] = type(compatcheck.plugins.__path__).__name__
    out["local_ns_plugin"] = compatcheck.plugins.first.NAME
    from setuptools._distutils.compilers.C import unix

    import setuptools._distutils.compilers.C as cpkg

    out["setuptools_ns_type"] = type(cpkg.__path__).__name__
    out["setuptools_ns_origin"] = cpkg.__spec__.origin
    out["setuptools_unix"] = unix.Compiler.compiler_type


def _mypyc(out):
    import black
    import black.report

    out["black_file"] = black.__file__
    out["black_path"] = list(black.__path__)
    out["black_is_package"] = black.__spec__.submodule_search_locations is not None
    out["black_loader"] = type(black.__loader__).__name__
    out["black_format"] = black.format_str("x = {  'a':37,'b':42,}\nprint( x )\n", mode=black.Mode())
    out["black_report"] = black.report.Report.__module__
    out["black_report_file"] = black.report.__file__
    groups = [name for name in sys.modules if name.endswith("__mypyc")]
    out["mypyc_group"] = [(name, os.path.basename(sys.modules[name].__file__)) for name in groups]


def _file_data(out):
    import pytz

    from compatcheck import motd

    paris = pytz.timezone("Europe/Paris")
    out["pytz_zone"] = paris.zone
    import datetime

    out["pytz_offset"] = str(paris.utcoffset(datetime.datetime(2024, 7, 1)))
    out["pytz_zoneinfo_on_disk"] = os.path.isfile(os.path.join(os.path.dirname(pytz.__file__), "zoneinfo", "UTC"))
    out["motd"] = motd.read()


def _init_import(out):
    from compatcheck import reexport

    import compatcheck

    out["init_reexport"] = reexport.REEXPORTED
    out["init_module_name"] = sys.modules["compatcheck.__init__"].__name__
    out["init_distinct"] = sys.modules["compatcheck.__init__"] is not compatcheck


def main(argv):
    out = {"version": "%d.%d" % sys.version_info[:2]}
    for key, fn in (
        ("namespace", _namespace),
        ("namespace_data", _namespace_data),
        ("namespace_with_extensions", _namespace_with_extensions),
        ("subdir_namespace", _subdir_namespace),
        ("mypyc", _mypyc),
        ("file_data", _file_data),
        ("init_import", _init_import),
    ):
        _record(out, key, lambda fn=fn: fn(out))
    print(json.dumps(out, indent=1, sort_keys=True))
    return 0
