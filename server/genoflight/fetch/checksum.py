"""Checksums a mirror publishes: Ensembl's ``CHECKSUMS`` (BSD ``sum``) and ``<file>.md5``.

Ensembl writes ``CHECKSUMS`` with ``sum`` (GNU coreutils, whose default is the BSD algorithm,
``sum -r``): one line ``<checksum> <1K-blocks> <file name>`` per file. The BSD checksum is a
16-bit rotating sum: for every byte, rotate the sum right by one bit, add the byte, keep 16 bits.
The block count is the size in 1024-byte blocks, rounded up.
"""

from __future__ import annotations

import functools
import hashlib
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BsdSum",
    "Expected",
    "bsd_sum_file",
    "md5_file",
    "parse_checksums",
    "parse_md5",
    "verify",
]

CHUNK = 1 << 20

# Rotation right by one bit of every 16-bit value, looked up rather than computed per byte.
_ROTATE_RIGHT = tuple((x >> 1) | ((x & 1) << 15) for x in range(1 << 16))


class BsdSum:
    """The BSD ``sum`` of a byte stream, fed in pieces (as GNU ``sum -r`` computes it)."""

    def __init__(self) -> None:
        self.checksum = 0
        self.size = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        rotate = _ROTATE_RIGHT
        s = self.checksum
        for byte in bytes(data):
            s = (rotate[s] + byte) & 0xFFFF
        self.checksum = s
        self.size += len(data)

    @property
    def blocks(self) -> int:
        return -(-self.size // 1024)

    def result(self) -> tuple[int, int]:
        """``(checksum, 1K-blocks)``, the two numbers ``sum`` prints."""
        return self.checksum, self.blocks


@functools.cache
def _gnu_sum() -> str | None:
    """The path of GNU coreutils' ``sum`` (C speed, same algorithm), or None."""
    exe = shutil.which("sum")
    if exe is None:
        return None
    try:
        proc = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return exe if proc.returncode == 0 and "GNU coreutils" in proc.stdout else None


def bsd_sum_file(path: Path, *, use_tool: bool = True) -> tuple[int, int]:
    """``(checksum, 1K-blocks)`` of a file. GNU ``sum -r`` computes it when installed (it is ~30x
    faster than a Python byte loop on multi-GB files); otherwise :class:`BsdSum` does."""
    exe = _gnu_sum() if use_tool else None
    if exe is not None:
        proc = subprocess.run([exe, "-r", "--", str(path)], capture_output=True, text=True)
        fields = proc.stdout.split()
        if proc.returncode == 0 and len(fields) >= 2 and fields[0].isdigit():
            return int(fields[0]), int(fields[1])
        # Fall through: an unreadable file raises a clear OSError below.
    state = BsdSum()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            state.update(chunk)
    return state.result()


def md5_file(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Expected:
    """What a file must hash to: ``kind`` "bsd" (value "<checksum> <blocks>") or "md5" (hex)."""

    kind: str
    value: str
    source: str  # where the value came from, for error messages ("CHECKSUMS", "x.vcf.gz.md5")

    def describe(self) -> str:
        name = "BSD sum" if self.kind == "bsd" else "MD5"
        return f"{name} {self.value} (from {self.source})"


def compute(path: Path, kind: str) -> str:
    """The value of ``kind`` for ``path``, formatted as :class:`Expected` holds it."""
    if kind == "bsd":
        checksum, blocks = bsd_sum_file(path)
        return f"{checksum} {blocks}"
    if kind == "md5":
        return md5_file(path)
    raise ValueError(f"unknown checksum kind {kind!r}")


def verify(path: Path, expected: Expected) -> str | None:
    """None when ``path`` matches, else the value it has (for the error message)."""
    actual = compute(path, expected.kind)
    return None if actual == expected.value else actual


_CHECKSUMS_LINE = re.compile(r"^\s*(\d+)\s+(\d+)\s+(\S.*?)\s*$")


def parse_checksums(text: str, source: str = "CHECKSUMS") -> dict[str, Expected]:
    """File name -> expected BSD sum, from ``sum`` output lines (``29888 168645 name``).

    Lines that are not ``sum`` output (blank, or some other tool's) are ignored; a name listed
    twice keeps its last line, as the file would have been re-summed.
    """
    out: dict[str, Expected] = {}
    for line in text.splitlines():
        m = _CHECKSUMS_LINE.match(line)
        if m is None:
            continue
        checksum, blocks, name = int(m.group(1)), int(m.group(2)), m.group(3)
        if checksum > 0xFFFF:
            continue
        out[name.removeprefix("./")] = Expected("bsd", f"{checksum} {blocks}", source)
    return out


_MD5 = re.compile(r"\b([0-9a-fA-F]{32})\b")


def parse_md5(text: str, name: str, source: str) -> Expected | None:
    """The MD5 in a ``<file>.md5`` (``md5sum`` output, or BSD ``MD5 (name) = hex``, or bare)."""
    lines: Iterable[str] = text.splitlines()
    candidates = [(m.group(1).lower(), line) for line in lines if (m := _MD5.search(line))]
    for digest, line in candidates:
        if name in line:
            return Expected("md5", digest, source)
    return Expected("md5", candidates[0][0], source) if len(candidates) == 1 else None
