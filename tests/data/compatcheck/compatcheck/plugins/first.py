NAME = "first plugin (compatcheck/plugins has no __init__.py)"
