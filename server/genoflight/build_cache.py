"""``genoflight build-cache CACHE_DIR OUT_DIR``: convert an Ensembl VEP cache to Parquet once.

The Rust core (``_native.build_cache``) does the work and calls back after each source file;
this module draws the progress bar (on a terminal, not in CI) and formats the summary.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from genoflight.native import load_native

__all__ = ["BuildReport", "ProgressBar", "build_cache", "summary"]


@dataclass(frozen=True)
class BuildReport:
    """What a build did (``_native.build_cache``'s JSON)."""

    source: str
    out_dir: str
    parts: int
    converted: int
    skipped: int
    files_read: int
    bytes: int
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def from_json(text: str) -> BuildReport:
        raw: dict[str, Any] = json.loads(text)
        return BuildReport(
            source=str(raw["source"]),
            out_dir=str(raw["out_dir"]),
            parts=int(raw["parts"]),
            converted=int(raw["converted"]),
            skipped=int(raw["skipped"]),
            files_read=int(raw["files_read"]),
            bytes=int(raw["bytes"]),
            seconds=float(raw["seconds"]),
            rows={str(k): int(v) for k, v in raw.get("rows", {}).items()},
        )


class ProgressBar:
    """A one-line bar on ``out``, redrawn at most ten times a second; silent when ``enabled``
    is false (not a terminal, or CI)."""

    WIDTH = 30

    def __init__(self, out: TextIO, enabled: bool) -> None:
        self._out = out
        self._enabled = enabled
        self._last = 0.0
        self._drawn = False

    @staticmethod
    def wanted(out: TextIO) -> bool:
        return out.isatty() and not os.environ.get("CI")

    def __call__(self, done: int, total: int, message: str) -> None:
        if not self._enabled:
            return
        now = time.monotonic()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        filled = self.WIDTH * done // total if total else self.WIDTH
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        line = f"[{bar}] {done}/{total} {message}"
        width = shutil.get_terminal_size((100, 20)).columns - 1
        self._out.write("\r" + line[:width].ljust(width))
        self._out.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self._out.write("\n")
            self._out.flush()


def build_cache(cache_dir: str, out_dir: str, progress: ProgressBar) -> BuildReport:
    """Convert ``cache_dir`` into ``out_dir`` (resuming or verifying a previous build)."""
    try:
        text = load_native().build_cache(cache_dir, out_dir, progress)
    finally:
        progress.close()
    return BuildReport.from_json(text)


def summary(report: BuildReport) -> str:
    """The lines printed once a build is done."""
    rows = ", ".join(f"{table} {n:,}" for table, n in sorted(report.rows.items()))
    what = (
        "already complete (verified, nothing written)"
        if report.converted == 0
        else f"converted {report.converted} of {report.parts} parts "
        f"({report.files_read} source files; {report.skipped} complete parts kept)"
    )
    return (
        f"{report.out_dir}: {what} in {report.seconds:.1f} s\n"
        f"  rows: {rows or 'none'}; {report.bytes / 1e6:.1f} MB of Parquet\n"
        f'  serve it like the VEP cache: [[vep_caches]] path = "{report.out_dir}"'
    )
