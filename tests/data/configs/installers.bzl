# A tool that ships Windows installers, a macOS application bundle and wheels of a
# prebuilt binary; the variables below come from --var / --var-env.

VERSION = "1.4.2"
VENDOR = "Acme Tools"

IN_CI = VARS.get("IN_CI", False)
SIGN = VARS.get("SIGN", False)

WHEEL_METADATA = """Metadata-Version: 2.1
Name: acme
Version: %s
Summary: The acme command
""" % VERSION


def make_msi(target_triple, with_redist):
    if target_triple == "i686-pc-windows-msvc":
        arch = "x86"
    elif target_triple == "x86_64-pc-windows-msvc":
        arch = "x64"
    else:
        arch = "unknown"

    msi = WiXMSIBuilder(
        id_prefix = "acme",
        product_name = "Acme",
        product_version = VERSION,
        product_manufacturer = VENDOR,
        arch = arch,
    )
    msi.help_url = "https://example.invalid/acme/"
    msi.msi_filename = "Acme-" + VERSION + "-" + arch + ".msi"
    if with_redist:
        msi.add_visual_cpp_redistributable(redist_version = "14", platform = arch)
    return msi


def make_msi_x86_64():
    return make_msi("x86_64-pc-windows-msvc", True)


def make_exe_installer():
    bundle = WiXBundleBuilder(
        id_prefix = "acme",
        name = "Acme",
        version = VERSION,
        manufacturer = VENDOR,
    )
    bundle.add_vc_redistributable("x64")
    bundle.add_wix_msi_builder(
        builder = make_msi("x86_64-pc-windows-msvc", False),
        display_internal_ui = True,
        install_condition = "VersionNT64",
    )
    return bundle


def make_macos_app_bundle():
    bundle = MacOsApplicationBundleBuilder("Acme")
    bundle.set_info_plist_required_keys(
        display_name = "Acme",
        identifier = "invalid.example.acme",
        version = VERSION,
        signature = "acme",
        executable = "acme",
    )

    universal = AppleUniversalBinary("acme")
    for arch in ["aarch64-apple-darwin", "x86_64-apple-darwin"]:
        universal.add_path("target/" + arch + "/release/acme")

    files = FileManifest()
    files.add_file(universal.to_file_content())
    bundle.add_macos_manifest(files)
    return bundle


def make_wheel(platform_tag):
    wheel = PythonWheelBuilder("acme", VERSION)
    wheel.generator = "acme-release (%s)" % VERSION
    wheel.tag = "py3-none-%s" % platform_tag
    wheel.add_file_dist_info(FileContent(filename = "METADATA", content = WHEEL_METADATA))
    return wheel


def make_wheel_linux():
    return make_wheel("manylinux2014_x86_64")


def make_universal_binary_file():
    universal = AppleUniversalBinary("acme")
    universal.add_path("target/aarch64-apple-darwin/release/acme")
    universal.write_to_directory("universal")
    return universal


def make_notes():
    notes = FileContent(filename = "NOTES.txt", content = "Acme " + VERSION + "\n")
    notes.write_to_directory("notes")
    return FileManifest()


def register_code_signers():
    if not SIGN:
        return
    signer = code_signer_from_pfx_file(VARS.get("PFX"), prompt_password("PFX password", default = ""))
    signer.set_time_stamp_server("http://timestamp.example.invalid")
    signer.activate()


register_code_signers()

register_target("msi_x86_64", make_msi_x86_64)
register_target("exe_installer", make_exe_installer, default = True)
register_target("macos_app_bundle", make_macos_app_bundle)
register_target("wheel_linux", make_wheel_linux)
register_target("universal_binary", make_universal_binary_file)
register_target("notes", make_notes)

resolve_targets()
