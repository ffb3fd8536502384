"""The `connector` package as a connector developer gets it: built like an install builds it,
and imported where nothing but its own dependencies is installed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_an_install_carries_the_py_typed_marker(tmp_path):
    """PEP 561: without `connector/py.typed` in the installed package, a developer's mypy
    finds no types for `connector` at all (every name Any, or an import error). Built with the
    setuptools at hand, which ships only the package data pyproject.toml names."""
    source = tmp_path / "src"
    source.mkdir()
    shutil.copy(ROOT / "pyproject.toml", source)
    shutil.copytree(
        ROOT / "connector", source / "connector", ignore=shutil.ignore_patterns("__pycache__")
    )
    built = tmp_path / "lib"
    subprocess.run(
        [sys.executable, "-c", "from setuptools import setup; setup()", "-q", "build_py"]
        + ["--build-lib", str(built)],
        cwd=source,
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert (built / "connector" / "service.py").is_file()
    assert (built / "connector" / "py.typed").is_file()
