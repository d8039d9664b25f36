"""genoflight: an Arrow Flight SQL server for genomic data.

The engine is the Rust extension ``genoflight._native``; this package is its face (CLI,
configuration, demo data). Importing ``genoflight`` never needs the native module, so
``genoflight.config`` works (and ``genoflight --help`` runs) before the Rust core is built.
"""

from __future__ import annotations

from typing import Any

__all__ = ["__version__"]


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("genoflight")
    except metadata.PackageNotFoundError:
        pass
    try:
        from genoflight import _native
    except ImportError:
        return "0+unknown"
    return str(_native.version())


def __getattr__(name: str) -> Any:
    # Lazy, so that `import genoflight` stays cheap and works without the native module.
    if name == "__version__":
        value = _version()
        globals()["__version__"] = value
        return value
    raise AttributeError(f"module 'genoflight' has no attribute {name!r}")
