"""Finds the packages; everything else about the build is in pyproject.toml.

``plugins/`` is installed as ``tsae_plugins`` (see ``package-dir``), which a plain
``packages.find`` cannot express, so the list is computed here.
"""
from setuptools import find_packages, setup

setup(
    packages=[
        *find_packages(include=["tsae", "tsae.*"]),
        "tsae_plugins",
        *(f"tsae_plugins.{name}" for name in find_packages("plugins")),
    ],
)
