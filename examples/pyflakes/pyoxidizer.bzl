# A real application from PyPI: pyflakes, installed with pip and run as a module.
#   pyoxidizer-py run --path examples/pyflakes --python-distribution host -- some_file.py

def make_exe():
    dist = default_python_distribution()
    policy = dist.make_python_packaging_policy()
    config = dist.make_python_interpreter_config()
    config.run_module = "pyflakes"
    exe = dist.to_python_executable(name = "pyflakes", packaging_policy = policy, config = config)
    exe.libpython_link_mode = VARS.get("LINK_MODE", "default")
    exe.add_python_resources(exe.pip_install(["pyflakes==3.2.0"]))
    return exe

def make_install(exe):
    files = FileManifest()
    files.add_python_resource(".", exe)
    return files

register_target("exe", make_exe)
register_target("install", make_install, depends = ["exe"], default = True)
resolve_targets()
