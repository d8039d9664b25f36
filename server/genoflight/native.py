"""Access to the Rust core, ``genoflight._native``, with an error that says how to build it."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["NativeModuleMissing", "load_native"]

BUILD_HINT = (
    "build and install it from the repository root with `pip install .` "
    "(or `uv sync`, then run commands with `uv run genoflight ...`); "
    "the Rust toolchain is needed for the build"
)


class NativeModuleMissing(RuntimeError):
    """``genoflight._native`` cannot be imported (the Rust core was not built or installed)."""


def load_native() -> ModuleType:
    """Import ``genoflight._native`` or raise :class:`NativeModuleMissing` with a build hint."""
    try:
        return importlib.import_module("genoflight._native")
    except ImportError as e:
        raise NativeModuleMissing(
            f"the native module genoflight._native is not built ({e}); {BUILD_HINT}"
        ) from e
