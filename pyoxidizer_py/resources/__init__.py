"""Stage 3: collect Python resources (stdlib, pip installs, package roots, virtualenvs),
classify them into typed records (``model``) and apply the packaging policy (``policy``).
"""
