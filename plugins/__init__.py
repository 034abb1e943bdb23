"""tsae's built-in plugins, installed as ``tsae_plugins``.

Each module here is registered through the ``tsae`` entry-point group in
pyproject.toml, exactly as a third-party plugin package registers its own.
"""
