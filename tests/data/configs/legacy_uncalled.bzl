# An application config carried forward from PyOxidizer 0.7: the old helpers were
# kept below the current ones and are no longer called by the default target.

APP = "acme"


def make_dist():
    return default_python_distribution()


def make_exe(dist):
    policy = dist.make_python_packaging_policy()
    policy.resources_location = "in-memory"
    policy.resources_location_fallback = "filesystem-relative:lib"

    python_config = dist.make_python_interpreter_config()
    python_config.run_module = APP

    return dist.to_python_executable(
        name = APP,
        packaging_policy = policy,
        config = python_config,
    )


def make_install(exe):
    files = FileManifest()
    files.add_python_resource(".", exe)
    return files


# --- kept from the 0.7 config ------------------------------------------------------

def make_embedded_config():
    return PythonInterpreterConfig(
        run_mode = python_run_mode_module(APP),
        sys_paths = ["$ORIGIN/lib"],
    )


def make_version_file():
    return FileContent(
        filename = "VERSION",
        content = APP + " built with PyOxidizer " + PYOXIDIZER_VERSION + "\n",
    )


def make_legacy_exe(dist):
    exe = dist.to_python_executable(name = APP)
    exe.add_in_memory_python_resources(dist.pip_install(["six"]))
    return exe


register_target("dist", make_dist)
register_target("exe", make_exe, depends = ["dist"])
register_target("install", make_install, depends = ["exe"], default = True)
register_target("embedded_config", make_embedded_config)
register_target("version_file", make_version_file)
register_target("legacy_exe", make_legacy_exe, depends = ["dist"])

resolve_targets()
