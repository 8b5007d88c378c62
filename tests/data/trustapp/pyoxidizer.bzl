# A small application for the licensing, SBOM and reproducibility tests: a local package plus
# two distributions from PyPI, one with a C extension (PyYAML) and one pure Python (packaging).

def make_exe():
    dist = default_python_distribution()
    config = dist.make_python_interpreter_config()
    config.run_module = "trustapp"
    exe = dist.to_python_executable(name = "trustapp", config = config)
    exe.libpython_link_mode = VARS.get("LINK_MODE", "default")
    exe.sbom_embed = True
    exe.licenses_filename = VARS.get("LICENSES", "COPYING.txt")
    exe.add_python_resources(exe.read_package_root(path = "src", packages = ["trustapp"]))
    exe.add_python_resources(exe.pip_install(["PyYAML==6.0.2", "packaging==25.0"]))
    return exe

def make_install(exe):
    files = FileManifest()
    files.add_python_resource(".", exe)
    return files

register_target("exe", make_exe)
register_target("install", make_install, depends = ["exe"], default = True)
resolve_targets()
