# The smallest useful config: an executable that runs one line of Python.
#   pyoxidizer-py run --path examples/hello --python-distribution host

def make_exe():
    dist = default_python_distribution()
    config = dist.make_python_interpreter_config()
    config.run_command = "import sys; print('hello from', sys.executable, sys.version.split()[0], sys.argv[1:])"
    exe = dist.to_python_executable(name = "hello", config = config)
    exe.libpython_link_mode = VARS.get("LINK_MODE", "default")
    return exe

def make_install(exe):
    files = FileManifest()
    files.add_python_resource(".", exe)
    return files

register_target("exe", make_exe)
register_target("install", make_install, depends = ["exe"], default = True)
resolve_targets()
