# An application from a local package tree, started through its console entry point
# (`greet = greeter.cli:main` in pyproject.toml), with a C-extension dependency (PyYAML).
#   pyoxidizer-py run --path examples/local-app --python-distribution host -- World

def make_exe():
    dist = default_python_distribution()
    config = dist.make_python_interpreter_config()
    # What the `greet` console script does: import the entry point and exit with its result.
    config.run_command = "import sys; from greeter.cli import main; sys.exit(main())"
    exe = dist.to_python_executable(name = "greet", config = config)
    exe.libpython_link_mode = VARS.get("LINK_MODE", "default")
    exe.add_python_resources(exe.read_package_root(path = "src", packages = ["greeter"]))
    exe.add_python_resources(exe.pip_install(["PyYAML==6.0.2"]))
    return exe

def make_install(exe):
    files = FileManifest()
    files.add_python_resource(".", exe)
    return files

register_target("exe", make_exe)
register_target("install", make_install, depends = ["exe"], default = True)
resolve_targets()
