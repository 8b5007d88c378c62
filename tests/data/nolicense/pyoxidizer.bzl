# A distribution without license metadata, for the unknown-license policy.

def make_exe():
    dist = default_python_distribution()
    exe = dist.to_python_executable(name = "nolicense")
    exe.unknown_license_policy = VARS.get("POLICY", "warn")
    exe.add_python_resources(exe.read_virtualenv("venv"))
    return exe

register_target("exe", make_exe, default = True)
resolve_targets()
