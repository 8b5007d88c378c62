# A distribution and a Rust crate without license metadata, for the unknown-license policy.

def make_exe():
    dist = default_python_distribution()
    exe = dist.to_python_executable(name = "nolicense")
    exe.unknown_license_policy = VARS.get("POLICY", "warn")
    exe.add_python_resources(exe.read_virtualenv("venv"))
    exe.add_cargo_manifest_licensing("crate/Cargo.toml")
    return exe

register_target("exe", make_exe, default = True)
resolve_targets()
