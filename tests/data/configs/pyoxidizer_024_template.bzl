# Fixture: the pyoxidizer.bzl that PyOxidizer 0.24's `init-config-file myapp`
# writes, reproduced from its template (src/templates/new-pyoxidizer.bzl.hbs in https://github.com/indygreg/PyOxidizer): the same
# functions, calls, registrations and commented-out examples of every policy,
# interpreter config and executable attribute; comment wording is ours.

def make_exe():
    # Default distribution of the build target.
    dist = default_python_distribution()

    policy = dist.make_python_packaging_policy()
    # policy.allow_files = True
    # policy.allow_in_memory_shared_library_loading = True
    # policy.bytecode_optimize_level_zero = True
    # policy.bytecode_optimize_level_one = True
    # policy.bytecode_optimize_level_two = True
    # policy.extension_module_filter = "all"
    # policy.extension_module_filter = "minimal"
    # policy.extension_module_filter = "no-libraries"
    # policy.extension_module_filter = "no-copyleft"
    # policy.file_scanner_classify_files = True
    # policy.file_scanner_emit_files = False
    # policy.include_classified_resources = True
    # policy.include_distribution_sources = False
    # policy.include_distribution_resources = False
    # policy.include_file_resources = False
    # policy.include_non_distribution_sources = True
    # policy.include_test = False
    # policy.resources_location = "in-memory"
    # policy.resources_location = "filesystem-relative:prefix"
    # policy.resources_location_fallback = "filesystem-relative:prefix"
    # policy.resources_location_fallback = None
    # policy.set_preferred_extension_module_variant("foo", "bar")
    # policy.set_resource_handling_mode("classify")
    # policy.set_resource_handling_mode("files")

    python_config = dist.make_python_interpreter_config()
    # python_config.config_profile = "python"
    # python_config.module_search_paths = ["$ORIGIN/lib"]
    # python_config.allocator_backend = "jemalloc"
    # python_config.allocator_backend = "mimalloc"
    # python_config.allocator_backend = "snmalloc"
    # python_config.allocator_backend = "default"
    # python_config.filesystem_importer = True
    # python_config.sys_frozen = False
    # python_config.sys_meipass = True
    # python_config.write_modules_directory_env = "/tmp/oxidized/loaded_modules"
    # python_config.run_command = "<code>"
    # python_config.run_module = "<module>"
    # python_config.run_filename = "/path/to/file"

    exe = dist.to_python_executable(
        name="myapp",
        packaging_policy=policy,
        config=python_config,
    )

    # exe.tcl_files_path = "lib"
    # exe.windows_runtime_dlls_mode = "never"
    # exe.windows_runtime_dlls_mode = "when-present"
    # exe.windows_runtime_dlls_mode = "always"
    # exe.windows_subsystem = "console"
    # exe.windows_subsystem = "windows"
    #exe.add_python_resources(exe.pip_download(["pyflakes==2.2.0"]))
    #exe.add_python_resources(exe.pip_install(["appdirs"]))
    #exe.add_python_resources(exe.pip_install(["-r", "requirements.txt"]))
    #exe.add_python_resources(exe.read_package_root(
    #    path="/src/mypackage",
    #    packages=["foo", "bar"],
    #))
    #exe.add_python_resources(exe.read_virtualenv(path="/path/to/venv"))
    #exe.filter_resources_from_files(files=["/path/to/filter-file"])

    return exe

def make_embedded_resources(exe):
    return exe.to_embedded_resources()

def make_install(exe):
    files = FileManifest()
    files.add_python_resource(".", exe)
    return files

def make_msi(exe):
    return exe.to_wix_msi_builder(
        "myapp",
        "My Application",
        "1.0",
        "Alice Jones"
    )


def register_code_signers():
    if not VARS.get("ENABLE_CODE_SIGNING"):
        return

    # pfx_path = prompt_input("path to code signing certificate file")
    # pfx_password = prompt_password(
    #     "password for code signing certificate file",
    #     confirm = True
    # )
    # signer = code_signer_from_pfx_file(pfx_path, pfx_password)
    # sha1_thumbprint = prompt_input(
    #     "SHA-1 thumbprint of code signing certificate in Windows store"
    # )
    # signer = code_signer_from_windows_store_sha1_thumbprint(sha1_thumbprint)
    # signer = code_signer_from_windows_store_auto()
    # signer.activate()


register_code_signers()

register_target("exe", make_exe)
register_target(
    "resources",
    make_embedded_resources,
    depends=["exe"],
    default_build_script=True
)
register_target("install", make_install, depends=["exe"], default=True)
register_target("msi_installer", make_msi, depends=["exe"])

resolve_targets()
