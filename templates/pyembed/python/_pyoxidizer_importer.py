"""pyoxidizer-py's importer: modules, package data and metadata from the packed resources.

This module runs inside an executable built by pyoxidizer-py. Its bytecode is in the
executable's packed resources (format: ``docs/packed-resources.md``) and in CPython's
frozen-module table while the interpreter initialises; the runtime (``importer.rs``) calls
``install()`` right after ``Py_InitializeFromConfig``, before any application code runs.

What it provides:

* ``OxidizedFinder``, first on ``sys.meta_path``: a finder and loader for every module in
  the index, in memory or installed as files (``filesystem-relative``), without probing the
  filesystem. Modules have ``__file__``, ``__spec__.origin`` and ``__path__`` beside the
  executable (``<exe dir>/lib/pkg/mod.py``) even when no such file exists; ``get_data()``
  serves in-memory files under those paths, ``get_source()`` returns packed sources
  (tracebacks, ``linecache``, ``inspect``), ``get_resource_reader()`` serves
  ``importlib.resources``, ``find_distributions()`` serves ``importlib.metadata``.
* a path hook for directories under the prefixes, so ``pkgutil.iter_modules()`` lists
  packed modules.
* modules imported while the interpreter initialised (from the frozen table) are given
  this finder's specs, so they look like every other module.
* CPython's path-based finder is removed from ``sys.meta_path`` unless the configuration's
  ``filesystem_importer`` is set.

Only built-in and bootstrap modules are imported here at import time; ``importlib.resources``
and ``importlib.metadata`` support is defined on first use, when those packages are loaded.
"""

import _frozen_importlib as _bootstrap
import _frozen_importlib_external as _external
import _imp
import _io
import marshal
import sys

__all__ = ["OxidizedFinder", "install"]

_MAGIC = b"PYOXRES\x00"
_FORMAT_VERSION = 4

_PACKAGE = 0x01
_NAMESPACE = 0x02
_SOURCE = 0x04
_BYTECODE = (0x08, 0x10, 0x20)
_EXTENSION = 0x40
_SOURCELESS = 0x80

_ModuleSpec = _bootstrap.ModuleSpec
_NamespaceLoaderBase = getattr(_external, "NamespaceLoader", None) or _external._NamespaceLoader
_LoaderBasics = getattr(_external, "_LoaderBasics", object)
_CACHE_TAG = sys.implementation.cache_tag
_fspath = _external._os.fspath


def _u64(data, offset):
    return int.from_bytes(data[offset : offset + 8], "little")


_CodeType = type(_u64.__code__)


class _Store:
    """One packed resources blob: its memoryview, index and prefix directories."""

    __slots__ = (
        "cache_shared_objects",
        "data",
        "decompress",
        "distributions",
        "memory_only",
        "modules",
        "package_data",
        "prefix_dirs",
        "shared_libraries",
    )

    def __init__(self, data, origin, decompress=None):
        if bytes(data[:8]) != _MAGIC:
            raise ImportError("packed resources: bad magic (not a pyoxidizer-py packed resources blob)")
        version = int.from_bytes(data[8:12], "little")
        if version != _FORMAT_VERSION:
            raise ImportError("packed resources: format version %d is not supported" % version)
        if bytes(data[64:68]) != _external.MAGIC_NUMBER:
            raise ImportError("packed resources were built for another CPython version (bytecode magic differs)")
        index_offset = _u64(data, 32)
        index = marshal.loads(data[index_offset : index_offset + _u64(data, 40)])
        _version, prefixes, self.modules, self.package_data, self.distributions, self.shared_libraries, options = index
        self.memory_only = bool(options.get("memory_only"))
        self.cache_shared_objects = bool(options.get("cache_shared_objects"))
        self.data = data
        self.decompress = decompress
        self.prefix_dirs = tuple(origin if p == "." else origin + "/" + p for p in prefixes)

    def module_path(self, loc, name, is_package):
        """``<prefix dir>/a/b.py`` or ``<prefix dir>/a/b/__init__.py``."""
        base = self.prefix_dirs[loc] + "/" + name.replace(".", "/")
        return base + "/__init__.py" if is_package else base + ".py"

    def package_dir(self, loc, name):
        return self.prefix_dirs[loc] + "/" + name.replace(".", "/")

    def slice(self, offset, length):
        """The payload at a span of the index; a negative length is a Zstandard frame, decompressed."""
        if length >= 0:
            return self.data[offset : offset + length]
        if self.decompress is None:
            raise ImportError("packed resources are compressed, but this runtime cannot decompress them")
        return self.decompress(self.data[offset : offset - length])


def _read_file(path):
    with _io.FileIO(path, "r") as f:
        return f.read()


def _normalize_name(name):
    """PEP 503 normalisation with underscores (``Foo.Bar-baz`` -> ``foo_bar_baz``)."""
    out = []
    separator = False
    for ch in name.lower():
        if ch in "-_.":
            if not separator:
                out.append("_")
            separator = True
        else:
            out.append(ch)
            separator = False
    return "".join(out)


def _project_of(directory):
    """The project name of a ``name-1.0.dist-info`` / ``name.egg-info`` directory."""
    stem = directory.rpartition(".")[0] or directory
    return stem.partition("-")[0]


def _normpath(path):
    if "/." in path or "//" in path:
        import posixpath

        return posixpath.normpath(path)
    return path


class OxidizedFinder(_LoaderBasics):
    """Meta path finder and loader for the packed resources (see the module docstring)."""

    def __init__(self, stores, origin, filesystem_importer=False, load_shared_object=None):
        self._stores = tuple(stores)
        self._origin = origin
        self._filesystem_importer = filesystem_importer
        self._load_shared_object = load_shared_object  # memload.rs's load(), None outside Linux
        self._loaded_libraries = set()  # (id(store), name) of shared libraries loaded from memory
        self._memory_files = None  # absolute path -> (store, offset, length), built on first use
        self._tree = None  # directory -> {name: None (directory) | (store, offset, length) | ()}
        self._memory_dirs = None  # directories with in-memory content
        self._children = None  # package name -> [(child name, is package)]
        self._aliases = {}  # module name -> the indexed name whose entry it is loaded from
        self._parent_dirs = {}  # module name -> the directory holding it (its parent's, where indexed)
        if len(self._stores) == 1:
            get = self._stores[0].modules.get
            store = self._stores[0]
            init_alias = self._init_alias

            def find(name):
                entry = get(name)
                if entry is None:
                    return init_alias(name) if name.endswith(".__init__") else None
                return (store, entry)

            self._find = find

    def __repr__(self):
        return "<OxidizedFinder %s>" % self._origin

    def _find(self, name):
        for store in self._stores:
            entry = store.modules.get(name)
            if entry is not None:
                return store, entry
        if name.endswith(".__init__"):
            return self._init_alias(name)
        return None

    def _init_alias(self, name):
        """``pkg.__init__`` (``from .__init__ import x``): as with CPython's path-based finder, the
        package's ``__init__`` file imported once more as a plain module of that package."""
        package = name[: -len(".__init__")]
        for store in self._stores:
            entry = store.modules.get(package)
            if entry is not None:
                if entry[0] & (_NAMESPACE | _EXTENSION) or not entry[0] & _PACKAGE:
                    return None
                # With the package flag cleared, "pkg.__init__" maps to pkg/__init__.py and its
                # bytecode, which is the package's own entry.
                return store, (entry[0] & ~_PACKAGE, *entry[1:])
        return None

    def _namespace_locations(self, fullname):
        """The directories of every indexed portion of a namespace package, in index order."""
        locations = []
        for store in self._stores:
            entry = store.modules.get(fullname)
            if entry is not None and entry[0] & _NAMESPACE:
                for loc in entry[1:]:
                    directory = store.package_dir(loc, fullname)
                    if directory not in locations:
                        locations.append(directory)
        return locations

    def _namespace_path_finder(self, fullname, parent_path):
        """``_NamespacePath``'s path finder: the indexed portions, then (with the filesystem
        importer) portions CPython's path-based finder finds on ``parent_path``."""
        locations = self._namespace_locations(fullname)
        if self._filesystem_importer:
            found = _external.PathFinder._get_spec(fullname, parent_path)
            if found is not None and found.loader is None and found.submodule_search_locations:
                locations += [p for p in found.submodule_search_locations if p not in locations]
        if not locations:
            return None
        spec = _ModuleSpec(fullname, None)
        spec.submodule_search_locations = locations
        return spec

    def _entry(self, fullname):
        found = self._find(self._aliases.get(fullname, fullname))
        if found is None and fullname == "__main__":
            # runpy runs a module as __main__ with our loader: linecache and inspect then
            # ask for "__main__", whose spec names the real module.
            spec = getattr(sys.modules.get("__main__"), "__spec__", None)
            if spec is not None and spec.loader is self:
                found = self._find(spec.name)
        if found is None:
            raise ImportError("%r is not in the packed resources" % fullname, name=fullname)
        return found

    # -- importlib.abc.MetaPathFinder ------------------------------------------------------
    def find_spec(self, fullname, path=None, target=None):
        found = self._find(fullname)
        if found is None:
            if path and not self._filesystem_importer:
                return self._find_on_path(fullname, path, target)
            return None
        if (
            path is not None
            and self._parent_dirs.get(fullname) not in path
            and not self._in_parent_path(fullname, found, path)
        ):
            # The parent's __path__ does not hold the indexed module: a parent whose __path__
            # code replaced, or an alias (setuptools' distutils shim: "distutils" is
            # setuptools._distutils). CPython's path-based finder would search __path__.
            spec = self._find_on_path(fullname, path, target)
            if spec is not None:
                return spec
        return self._spec(fullname, found[0], found[1])

    def _in_parent_path(self, fullname, found, path):
        """Whether the directory holding the indexed ``fullname`` is on ``path`` (its parent's
        ``__path__``). The directories are cached: this runs for every submodule import."""
        store, entry = found
        parent = fullname.rpartition(".")[0]
        directory = self._parent_dirs.get(fullname)
        if directory is None:
            directory = self._parent_dirs[fullname] = store.package_dir(entry[1], parent)
        if directory in path:
            return True
        if entry[0] & _NAMESPACE:
            return any(store.package_dir(loc, parent) in path for loc in entry[2:])
        return False

    def _find_on_path(self, fullname, path, target=None):
        """Search ``path`` (a package's ``__path__``) as CPython's path-based finder does: in
        the index for directories of the packed resources, on the filesystem for others
        (a ``__path__`` extended with ``append`` or ``pkgutil.extend_path``)."""
        ours = tuple(d + "/" for store in self._stores for d in store.prefix_dirs)
        for entry in list(path):
            if not isinstance(entry, str):
                continue
            if (entry + "/").startswith(ours):
                package = self._package_for_dir(entry)
                spec = None if package is None else self._spec_in_package(fullname, package)
            else:
                spec = _external.PathFinder.find_spec(fullname, [entry], target)
            if spec is not None:
                return spec
        return None

    def _spec_in_package(self, fullname, package, portion_dir=None):
        """The spec of ``fullname`` as found in the directory of the indexed ``package`` (``""``
        for a prefix directory): the entry of ``<package>.<last part of fullname>``, loaded under
        ``fullname``, as CPython's FileFinder finds a file by its name only. With ``portion_dir``
        a namespace package is reported as a portion (no loader, that directory), as FileFinder
        reports one to the path-based finder."""
        tail = fullname.rpartition(".")[2]
        real = package + "." + tail if package else tail
        found = self._find(real)
        if found is None:
            return None
        store, entry = found
        if portion_dir is not None and entry[0] & _NAMESPACE:
            portion = portion_dir + "/" + tail
            if portion not in self._namespace_locations(real):
                return None
            spec = _ModuleSpec(fullname, None)
            spec.submodule_search_locations = [portion]
            return spec
        if real != fullname:
            self._aliases[fullname] = real
        return self._spec(fullname, store, entry, real)

    def invalidate_caches(self):
        pass

    def _spec(self, fullname, store, entry, real=None):
        """The spec of ``fullname``, loaded from the index entry of ``real`` (default: the same name)."""
        flags = entry[0]
        if real is None:
            real = fullname
        if flags & _EXTENSION:
            path = store.prefix_dirs[entry[1]] + "/" + entry[2]
            if entry[1] == 0:
                loader = _MemoryExtensionLoader(self, store, fullname, entry, path)
            else:
                loader = _external.ExtensionFileLoader(fullname, path)
            is_package = bool(flags & _PACKAGE)
            spec = _ModuleSpec(fullname, loader, origin=path, is_package=is_package)
            spec.has_location = True
            if is_package:
                spec.submodule_search_locations = [path.rpartition("/")[0]]
            return spec
        if flags & _NAMESPACE:
            # As CPython's PathFinder: a NamespaceLoader, origin None, and a _NamespacePath that
            # is recomputed when the parent's path changes and can be extended.
            parent = fullname.rpartition(".")[0]
            locations = self._namespace_locations(real)
            if parent and parent not in sys.modules:
                # _NamespacePath reads the parent's __path__; without the parent imported (a bare
                # find_spec call) the spec has no loader and a plain list, which CPython's import
                # machinery turns into a namespace package all the same.
                spec = _ModuleSpec(fullname, None, is_package=True)
                spec.submodule_search_locations = locations
                return spec
            if self._filesystem_importer:
                locations = self._namespace_path_finder(fullname, self._parent_path(fullname))
                locations = locations.submodule_search_locations
            loader = _OxidizedNamespaceLoader(self, fullname, locations)
            spec = _ModuleSpec(fullname, loader, is_package=True)
            spec.submodule_search_locations = loader._path
            return spec
        is_package = bool(flags & _PACKAGE)
        origin = store.module_path(entry[1], real, is_package)
        spec = _ModuleSpec(fullname, self, origin=origin, is_package=is_package)
        spec.has_location = True
        if is_package:
            spec.submodule_search_locations = [origin.rpartition("/")[0]]
        level = min(sys.flags.optimize, 2)
        if entry[1]:
            # Files: the .pyc this module is loaded from.
            spec.cached = self._bytecode_file(origin, flags, level)
        elif sys.pycache_prefix is None:
            # In memory: what ModuleSpec would derive from origin (as for zip imports), without
            # cache_from_source's path juggling, which costs about 2% of a large import.
            head, _, tail = origin.rpartition("/")
            opt = ".opt-%d" % level if level else ""
            spec.cached = "%s/__pycache__/%s.%s%s.pyc" % (head, tail[:-3], _CACHE_TAG, opt)
        return spec

    @staticmethod
    def _parent_path(fullname):
        parent = fullname.rpartition(".")[0]
        return sys.path if not parent else getattr(sys.modules[parent], "__path__", ())

    @staticmethod
    def _bytecode_file(source_path, flags, level):
        if flags & _SOURCELESS:
            return source_path[:-3] + ".pyc"
        if not flags & _BYTECODE[level]:
            return None
        head, _, tail = source_path.rpartition("/")
        opt = ".opt-%d" % level if level else ""
        return "%s/__pycache__/%s.%s%s.pyc" % (head, tail[:-3], _CACHE_TAG, opt)

    # -- shared objects in memory -----------------------------------------------------------
    def _shared_object_path(self, store, name, span, key, kind):
        """A path the dynamic loader can open for the shared object at ``span`` (offset, length)."""
        load = self._load_shared_object
        if load is None:
            raise ImportError("%s is packed in memory, but this runtime cannot load shared objects from memory" % name)
        offset, length = span
        if length < 0 and store.decompress is not None:
            # Zstandard frames: the runtime decodes them straight into the memory file.
            data, compressed = store.data[offset : offset - length], True
        else:
            data, compressed = store.slice(offset, length), False
        return load(name.rpartition("/")[2], data, kind, key, store.memory_only, compressed, store.cache_shared_objects)

    def _load_dependencies(self, store, names):
        """Load the shared libraries an in-memory extension module needs, in order, once each."""
        for name in names:
            marker = (id(store), name)
            if marker in self._loaded_libraries:
                continue
            _loc, offset, length, key = store.shared_libraries[name]
            self._shared_object_path(store, name, (offset, length), key, 1)
            self._loaded_libraries.add(marker)

    # -- importlib.abc.InspectLoader / ExecutionLoader ---------------------------------------
    def is_package(self, fullname):
        return bool(self._entry(fullname)[1][0] & _PACKAGE)

    def get_filename(self, fullname):
        store, entry = self._entry(fullname)
        fullname = self._aliases.get(fullname, fullname)
        flags = entry[0]
        if flags & _EXTENSION:
            return store.prefix_dirs[entry[1]] + "/" + entry[2]
        if flags & _NAMESPACE:
            raise ImportError("namespace package %r has no file" % fullname, name=fullname)
        return store.module_path(entry[1], fullname, flags & _PACKAGE)

    def get_code(self, fullname):
        store, entry = self._entry(fullname)
        fullname = self._aliases.get(fullname, fullname)
        flags = entry[0]
        if flags & (_NAMESPACE | _EXTENSION):
            return None
        level = min(sys.flags.optimize, 2)
        path = store.module_path(entry[1], fullname, flags & _PACKAGE)
        if entry[1] == 0:
            payload = None
            for lvl in (level, 0, 1, 2):
                if flags & _BYTECODE[lvl] and (lvl == level or not flags & _SOURCE):
                    payload = store.slice(entry[4 + 2 * lvl], entry[5 + 2 * lvl])
                    break
            if payload is None:
                if not flags & _SOURCE:
                    raise ImportError("no code for %r in the packed resources" % fullname, name=fullname)
                source = bytes(store.slice(entry[2], entry[3]))
                return compile(source, path, "exec", dont_inherit=True, optimize=level)
            code = marshal.loads(payload)
        else:
            code = None
            pyc = self._bytecode_file(path, flags, level)
            if pyc is not None:
                try:
                    with _io.open_code(pyc) as f:
                        data = f.read()
                except OSError:
                    data = b""
                if data[:4] == _external.MAGIC_NUMBER:
                    code = marshal.loads(memoryview(data)[16:])
            if code is None:
                if not flags & _SOURCE:
                    raise ImportError("cannot read the bytecode of %r (%s)" % (fullname, pyc), name=fullname, path=pyc)
                with _io.open_code(path) as f:
                    source = f.read()
                return compile(source, path, "exec", dont_inherit=True, optimize=level)
        _imp._fix_co_filename(code, path)
        return code

    def get_source(self, fullname):
        store, entry = self._entry(fullname)
        fullname = self._aliases.get(fullname, fullname)
        flags = entry[0]
        if flags & (_NAMESPACE | _EXTENSION) or not flags & _SOURCE:
            return None
        if entry[1] == 0:
            data = bytes(store.slice(entry[2], entry[3]))
        else:
            try:
                data = _read_file(store.module_path(entry[1], fullname, flags & _PACKAGE))
            except OSError as exc:
                raise ImportError("cannot read the source of %r" % fullname, name=fullname) from exc
        return _external.decode_source(data)

    # -- importlib.abc.ResourceLoader ------------------------------------------------------
    def get_data(self, path):
        """Bytes of a file: in-memory files under the prefixes first, then the filesystem."""
        path = _fspath(path)
        found = self._memory_file(path)
        if found is not None:
            return found
        return _read_file(path)

    def _memory_file(self, path):
        if not path.startswith(self._origin):
            return None
        files = self._memory_files
        if files is None:
            files = self._build_memory_files()
        found = files.get(path)
        if found is None:
            found = files.get(_normpath(path))
            if found is None:
                return None
        store, offset, length = found
        return bytes(store.slice(offset, length))

    def _build_memory_files(self):
        files = {}
        for store in reversed(self._stores):
            for name, entry in store.modules.items():
                if entry[1] == 0 and entry[0] & _SOURCE and not entry[0] & (_NAMESPACE | _EXTENSION):
                    files[store.module_path(0, name, entry[0] & _PACKAGE)] = (store, entry[2], entry[3])
            for package, entries in store.package_data.items():
                base = None
                for rel, value in entries.items():
                    if value[0] == 0:
                        if base is None:
                            base = store.package_dir(0, package) + "/"
                        files[base + rel] = (store, value[1], value[2])
            for directory, entries in store.distributions.items():
                for rel, value in entries.items():
                    if value[0] == 0:
                        files[store.prefix_dirs[0] + "/" + directory + "/" + rel] = (store, value[1], value[2])
        self._memory_files = files
        return files

    # -- a directory tree of everything indexed (importlib.resources, metadata files) --------
    def _build_tree(self):
        tree = {}
        memory_dirs = set()
        stop = len(self._origin)

        def ensure_dir(directory):
            children = tree.get(directory)
            if children is None:
                children = tree[directory] = {}
                if len(directory) > stop:
                    up, _, base = directory.rpartition("/")
                    ensure_dir(up).setdefault(base, None)
            return children

        def add_file(path, value):
            parent, _, name = path.rpartition("/")
            children = ensure_dir(parent)
            if not children.get(name):
                children[name] = value
            if value:
                mark_memory(parent)

        def mark_memory(directory):
            while len(directory) >= stop and directory not in memory_dirs:
                memory_dirs.add(directory)
                directory = directory.rpartition("/")[0]

        for store in self._stores:
            for name, entry in store.modules.items():
                flags, loc = entry[0], entry[1]
                if flags & _NAMESPACE:
                    for where in entry[1:]:
                        ensure_dir(store.package_dir(where, name))
                elif flags & _EXTENSION:
                    path = store.prefix_dirs[loc] + "/" + entry[2]
                    add_file(path, (store, entry[3], entry[4]) if loc == 0 else ())
                    if flags & _PACKAGE:
                        ensure_dir(path.rpartition("/")[0])
                else:
                    path = store.module_path(loc, name, flags & _PACKAGE)
                    if flags & _PACKAGE:
                        ensure_dir(path.rpartition("/")[0])
                    if loc == 0:
                        if flags & _SOURCE:
                            add_file(path, (store, entry[2], entry[3]))
                        elif flags & _PACKAGE:
                            mark_memory(path.rpartition("/")[0])
                    elif flags & _SOURCE:
                        add_file(path, ())
                    elif flags & _SOURCELESS:
                        add_file(path[:-3] + ".pyc", ())
            for package, entries in store.package_data.items():
                for rel, value in entries.items():
                    path = store.package_dir(value[0], package) + "/" + rel
                    add_file(path, (store, value[1], value[2]) if value[0] == 0 else ())
            for directory, entries in store.distributions.items():
                for rel, value in entries.items():
                    path = store.prefix_dirs[value[0]] + "/" + directory + "/" + rel
                    add_file(path, (store, value[1], value[2]) if value[0] == 0 else ())
        self._memory_dirs = memory_dirs
        self._tree = tree
        return tree

    def _resource_path(self, path):
        """A ``pathlib.Path`` for things only on disk, else an in-memory ``Traversable``."""
        tree = self._tree if self._tree is not None else self._build_tree()
        if path in self._memory_dirs:
            return _resources().Path(self, path)
        parent, _, name = path.rpartition("/")
        value = tree.get(parent, {}).get(name)
        if value:
            return _resources().Path(self, path)
        import pathlib

        return pathlib.Path(path)

    def get_resource_reader(self, fullname):
        """An ``importlib.resources`` reader for a package (or the package holding a module)."""
        found = self._find(fullname)
        if found is None:
            return None
        store, entry = found
        flags = entry[0]
        if flags & _NAMESPACE:
            directory = store.package_dir(entry[1], fullname)
        elif flags & _EXTENSION:
            directory = (store.prefix_dirs[entry[1]] + "/" + entry[2]).rpartition("/")[0]
        else:
            directory = store.module_path(entry[1], fullname, flags & _PACKAGE).rpartition("/")[0]
        return _resources().Reader(self, directory)

    # -- pkgutil ----------------------------------------------------------------------------
    def _package_children(self, package):
        children = self._children
        if children is None:
            children = {}
            for store in reversed(self._stores):
                for name, entry in store.modules.items():
                    parent, _, child = name.rpartition(".")
                    children.setdefault(parent, {})[child] = bool(entry[0] & _PACKAGE)
            children = self._children = {k: sorted(v.items()) for k, v in children.items()}
        return children.get(package, ())

    def _package_for_dir(self, path):
        """The package whose directory ``path`` is (``""`` for a prefix directory), or None."""
        for store in self._stores:
            for directory in store.prefix_dirs:
                if path == directory:
                    return ""
                if path.startswith(directory + "/"):
                    name = path[len(directory) + 1 :].replace("/", ".")
                    found = self._find(name)
                    if found is not None and found[1][0] & _PACKAGE:
                        return name
        return None

    def path_hook(self, path):
        """``sys.path_hooks`` entry: a path entry finder for directories holding packed modules."""
        path = _fspath(path)
        package = self._package_for_dir(path) if path.startswith(self._origin) else None
        if package is None:
            raise ImportError("not a directory of the packed resources", path=path)
        return _PathEntryFinder(self, path, package)

    # -- importlib.metadata -----------------------------------------------------------------
    def find_distributions(self, context=None):
        """Distributions whose ``*.dist-info`` metadata is indexed (``importlib.metadata``)."""
        name = getattr(context, "name", None) if context is not None else None
        paths = vars(context).get("path") if context is not None and hasattr(context, "__dict__") else None
        wanted = _normalize_name(name) if name else None
        cls = _metadata().Distribution
        for store in self._stores:
            for directory, files in store.distributions.items():
                if wanted is not None and _normalize_name(_project_of(directory)) != wanted:
                    continue
                dist = cls(self, store, directory, files)
                if paths is not None and dist._site not in paths:
                    continue
                yield dist


class _OxidizedNamespaceLoader(_NamespaceLoaderBase):
    """CPython's namespace loader, whose ``importlib.resources`` reader also sees in-memory files."""

    def __init__(self, finder, name, path):
        super().__init__(name, path, finder._namespace_path_finder)
        self._finder = finder

    def get_resource_reader(self, module):
        finder = self._finder
        if finder._tree is None:
            finder._build_tree()
        for directory in self._path:
            if directory in finder._memory_dirs:
                return _resources().Reader(finder, directory)
        return super().get_resource_reader(module)


class _MemoryExtensionLoader:
    """Loader of an extension module whose shared object is in the packed resources.

    ``create_module`` loads the libraries it needs, asks the runtime for a path the dynamic
    loader can open (a sealed memfd, ``/proc/self/fd/N``, or the per-user extraction cache)
    and runs CPython's own ``_imp.create_dynamic`` on it, so single- and multi-phase init,
    module state and the sub-interpreter checks are CPython's. The module's ``__file__`` and
    ``__spec__.origin`` are the path it would have beside the executable.
    """

    def __init__(self, finder, store, name, entry, path):
        self._finder = finder
        self._store = store
        self.name = name
        self._entry = entry
        self.path = path

    def __repr__(self):
        return "<OxidizedExtensionLoader %s>" % self.name

    def create_module(self, spec):
        store, entry = self._store, self._entry
        # The module's memory file first, then its libraries: loading a library may start its
        # threads (OpenBLAS starts a pool), which would compete with decoding the module.
        opened = self._finder._shared_object_path(store, entry[2], (entry[3], entry[4]), entry[5], 0)
        self._finder._load_dependencies(store, entry[6])
        module = _bootstrap._call_with_frames_removed(_imp.create_dynamic, _ModuleSpec(spec.name, self, origin=opened))
        try:  # noqa: SIM105 (no contextlib import in the importer)
            module.__file__ = spec.origin
        except (AttributeError, TypeError):
            pass
        return module

    def exec_module(self, module):
        _bootstrap._call_with_frames_removed(_imp.exec_dynamic, module)

    def is_package(self, fullname):
        return bool(self._entry[0] & _PACKAGE)

    def get_code(self, fullname):
        return None

    def get_source(self, fullname):
        return None

    def get_filename(self, fullname):
        return self.path

    def get_resource_reader(self, fullname):
        return self._finder.get_resource_reader(fullname)


class _PathEntryFinder:
    """Path entry finder for one directory of the packed resources (``pkgutil`` support)."""

    def __init__(self, finder, path, package):
        self._finder = finder
        self.path = path
        self._package = package
        self._fallback = None
        if finder._filesystem_importer:
            try:
                self._fallback = _external.FileFinder(path, *_external._get_supported_file_loaders())
            except (OSError, TypeError, ValueError):
                self._fallback = None

    def __repr__(self):
        return "<OxidizedPathEntryFinder %s>" % self.path

    def find_spec(self, fullname, target=None):
        spec = self._finder._spec_in_package(fullname, self._package, self.path)
        if spec is not None:
            return spec
        if self._fallback is not None:
            return self._fallback.find_spec(fullname, target)
        return None

    def invalidate_caches(self):
        if self._fallback is not None:
            self._fallback.invalidate_caches()

    def iter_modules(self, prefix=""):
        for name, is_package in self._finder._package_children(self._package):
            yield prefix + name, is_package


# -- importlib.resources support, defined when first used ------------------------------------
_RESOURCES = None


def _resources():
    global _RESOURCES
    if _RESOURCES is not None:
        return _RESOURCES
    import io
    import os

    try:
        from importlib.resources.abc import Traversable, TraversableResources
    except ImportError:  # CPython 3.10
        from importlib.abc import Traversable, TraversableResources

    class OxidizedResourcePath(Traversable):
        """A file or directory of the packed resources (``importlib.resources.abc.Traversable``).

        Directories merge in-memory content with files on disk; ``joinpath`` returns a
        ``pathlib.Path`` for anything that exists only on disk, so ``as_file()`` needs no copy.
        """

        def __init__(self, finder, path):
            self._finder = finder
            self._path = path

        def __repr__(self):
            return "OxidizedResourcePath(%r)" % self._path

        def __str__(self):
            return self._path

        def __eq__(self, other):
            return isinstance(other, OxidizedResourcePath) and other._path == self._path

        def __hash__(self):
            return hash(self._path)

        @property
        def name(self):
            return self._path.rpartition("/")[2]

        @property
        def parent(self):
            return self._finder._resource_path(self._path.rpartition("/")[0])

        def _value(self):
            parent, _, name = self._path.rpartition("/")
            return self._finder._tree.get(parent, {}).get(name, False)

        def is_dir(self):
            return self._path in self._finder._tree or os.path.isdir(self._path)

        def is_file(self):
            value = self._value()
            if value:
                return True
            return value is not None and os.path.isfile(self._path)

        def exists(self):
            return self.is_file() or self.is_dir()

        def iterdir(self):
            names = set(self._finder._tree.get(self._path, ()))
            if os.path.isdir(self._path):
                names.update(os.listdir(self._path))
            if not names and not self.is_dir():
                raise FileNotFoundError(self._path)
            for name in sorted(names):
                yield self._finder._resource_path(self._path + "/" + name)

        def read_bytes(self):
            data = self._finder._memory_file(self._path)
            if data is not None:
                return data
            with open(self._path, "rb") as f:
                return f.read()

        def read_text(self, encoding=None, errors=None):
            with self.open("r", encoding=encoding, errors=errors) as f:
                return f.read()

        def open(self, mode="r", *args, **kwargs):
            if mode not in ("r", "rb", "rt"):
                raise ValueError("in-memory resources are read-only; invalid mode %r" % mode)
            if self.is_dir():
                raise IsADirectoryError(self._path)
            stream = io.BytesIO(self.read_bytes())
            if "b" in mode:
                return stream
            if not args and kwargs.get("encoding") is None and hasattr(io, "text_encoding"):
                kwargs["encoding"] = io.text_encoding(None)
            return io.TextIOWrapper(stream, *args, **kwargs)

        def joinpath(self, *descendants):
            path = self._path
            for descendant in descendants:
                for part in str(descendant).split("/"):
                    if part in ("", "."):
                        continue
                    path = path.rpartition("/")[0] if part == ".." else path + "/" + part
            return self._finder._resource_path(path)

        def __truediv__(self, child):
            return self.joinpath(child)

    class OxidizedResourceReader(TraversableResources):
        """``importlib.resources`` reader of one package directory."""

        def __init__(self, finder, directory):
            self._finder = finder
            self._directory = directory

        def files(self):
            return self._finder._resource_path(self._directory)

        def resource_path(self, resource):
            path = self._directory + "/" + resource
            if self._finder._memory_file(path) is not None or not os.path.isfile(path):
                raise FileNotFoundError(path)
            return path

    class _Namespace:
        Path = OxidizedResourcePath
        Reader = OxidizedResourceReader

    _RESOURCES = _Namespace
    return _RESOURCES


# -- importlib.metadata support, defined when first used -------------------------------------
_METADATA = None


def _metadata():
    global _METADATA
    if _METADATA is not None:
        return _METADATA
    import importlib.metadata

    class OxidizedDistribution(importlib.metadata.Distribution):
        """A distribution whose ``*.dist-info`` files are indexed in the packed resources."""

        def __init__(self, finder, store, directory, files):
            self._finder = finder
            self._store = store
            self._directory = directory
            self._files = files
            first = files.get("METADATA") or next(iter(files.values()))
            self._site = store.prefix_dirs[first[0]]

        def __repr__(self):
            return "<OxidizedDistribution %s>" % self._directory

        def read_text(self, filename):
            value = self._files.get(str(filename))
            if value is None:
                return None
            if value[0] == 0:
                data = bytes(self._store.slice(value[1], value[2]))
            else:
                try:
                    data = _read_file(self._store.prefix_dirs[value[0]] + "/" + self._directory + "/" + str(filename))
                except OSError:
                    return None
            return data.decode("utf-8")

        def locate_file(self, path):
            return self._finder._resource_path(_normpath(self._site + "/" + str(path)))

        @property
        def _normalized_name(self):
            return _normalize_name(_project_of(self._directory))

    class _Namespace:
        Distribution = OxidizedDistribution

    _METADATA = _Namespace
    return _METADATA


# -- installation -----------------------------------------------------------------------------
def _fix_filenames(module, compiled_as, path):
    """Give functions of a module imported during start-up their real file name."""
    fix = _imp._fix_co_filename
    name = module.__name__
    values = list(vars(module).values())
    # The module's own functions share its code's file name: when the first one was not compiled
    # from the packed resources (CPython's own frozen modules, "<frozen os>"), nothing needs fixing.
    for value in values:
        code = getattr(value, "__code__", None)
        if type(code) is _CodeType and getattr(value, "__module__", None) == name:
            if code.co_filename != compiled_as:
                return
            break

    def code_of(obj):
        code = getattr(obj, "__code__", None)
        if type(code) is _CodeType and code.co_filename == compiled_as:
            fix(code, path)

    for value in values:
        code_of(value)
        if isinstance(value, type) and getattr(value, "__module__", None) == name:
            for attr in list(vars(value).values()):
                code_of(getattr(attr, "__func__", attr))
                for accessor in ("fget", "fset", "fdel"):
                    code_of(getattr(attr, accessor, None))


def _adopt_modules(finder):
    """Give modules imported during initialisation this finder's spec, loader and file names."""
    for name, module in list(sys.modules.items()):
        found = finder._find(name)
        if found is None:
            continue
        store, entry = found
        if entry[0] & _EXTENSION:
            continue
        spec = finder._spec(name, store, entry)
        module.__spec__ = spec
        module.__loader__ = spec.loader
        if spec.has_location:
            module.__file__ = spec.origin
            module.__cached__ = spec.cached
        if spec.submodule_search_locations is not None:
            module.__path__ = spec.submodule_search_locations
        if entry[1] == 0 and spec.origin:
            relative = spec.origin[len(store.prefix_dirs[0]) + 1 :]
            _fix_filenames(module, relative, spec.origin)


_DROPPED_MODULE = "_pyoxidizer_dropped"


class _DroppedModules:
    """Last on ``sys.meta_path`` when the build left stdlib modules out (``policy.stdlib_filter``,
    ``extension_module_filter``): importing one raises a ``ModuleNotFoundError`` naming the setting.

    The names are in the generated module ``_pyoxidizer_dropped``, read on the first miss.
    """

    def __init__(self):
        self._module = None

    def __repr__(self):
        return "<pyoxidizer-py dropped modules>"

    def find_spec(self, fullname, path=None, target=None):
        module = self._module
        if module is None:
            module = self._module = __import__(_DROPPED_MODULE)
        reason = module.DROPPED.get(fullname)
        if reason is None:
            return None
        raise ModuleNotFoundError(
            "No module named %r: left out of this executable by %s" % (fullname, module.REASONS[reason]),
            name=fullname,
        )

    def invalidate_caches(self):
        pass


def _excepthook(exc_type, exc, tb):
    """``sys.excepthook`` on CPython < 3.13, whose C traceback printer reads source lines from
    files only: print through ``traceback`` so packed sources show in tracebacks."""
    try:
        import traceback

        traceback.print_exception(exc_type, exc, tb)
    except BaseException:
        sys.__excepthook__(exc_type, exc, tb)


def install(sources, origin, filesystem_importer=False, load_shared_object=None, decompress=None):
    """Install the importer (called once by the runtime, right after the interpreter initialised).

    Args:
        sources: memoryviews of the packed resources blobs, earlier ones win.
        origin: the directory holding the executable (``$ORIGIN``).
        filesystem_importer: keep CPython's path-based finder on ``sys.meta_path``.
        load_shared_object: the runtime's ``load(name, data, kind, key, memory_only,
            compressed=False, cache=False)``, which returns a path the dynamic loader can open
            for an in-memory shared object (kind 0: extension module; kind 1: shared library,
            also loaded; ``compressed``: ``data`` is its Zstandard frames; ``cache``: prefer a
            copy in the per-user cache, written once), or None.
        decompress: the runtime's ``decompress(frames)``, which returns the bytes a payload
            stored with a negative length holds (one Zstandard frame, or consecutive frames
            for a payload above 1 MiB), or None.

    Returns:
        The ``OxidizedFinder`` now first on ``sys.meta_path``.

    Raises:
        ImportError: a blob is not a packed resources blob for this CPython version.
    """
    origin = origin.rstrip("/") if origin != "/" else ""
    stores = [_Store(data, origin, decompress) for data in sources]
    finder = OxidizedFinder(stores, origin, bool(filesystem_importer), load_shared_object)
    _adopt_modules(finder)
    meta_path = sys.meta_path
    if not filesystem_importer:
        meta_path[:] = [f for f in meta_path if f is not _external.PathFinder]
    meta_path.insert(0, finder)
    if finder._find(_DROPPED_MODULE) is not None:
        meta_path.append(_DroppedModules())
    sys.path_hooks.insert(0, finder.path_hook)
    sys.path_importer_cache.clear()
    if sys.version_info < (3, 13) and sys.excepthook is sys.__excepthook__:
        sys.excepthook = _excepthook
    return finder
