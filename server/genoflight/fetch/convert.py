"""VCF -> sorted Parquet, one file per chromosome, through the Rust core.

``genoflight._native.export(config_json, sql, out_path)`` streams a query's result into a
Parquet file (docs/native-contract.md), so a chromosome is never held in Python. The query
reads the downloaded VCF as a table and sorts by position (ties by end and alleles, so the
output is the same on every run). The file is written under a hidden temporary name and renamed
when complete: a visible ``.parquet`` is always whole.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from genoflight.config import Config, LimitsConfig, TableEntry
from genoflight.fetch import FetchError
from genoflight.native import load_native

__all__ = [
    "check_export",
    "chromosomes_in",
    "default_memory_bytes",
    "export_chromosome",
    "parquet_name",
]

SOURCE_TABLE = "source"
ORDER = 'ORDER BY "start", "end", "ref", "alt"'


def parquet_name(species: str, chromosome: str) -> str:
    """``homo_sapiens_chr21.parquet``: served as table ``homo_sapiens_chr21``."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", chromosome)
    return f"{species}_chr{safe}.parquet"


def default_memory_bytes() -> int:
    """The sort's memory cap when none is given: half the RAM, at most 4 GiB, at least 256 MiB.

    A whole human chromosome does not fit in memory as Arrow; with a cap, DataFusion's sort
    spills sorted runs to the temporary directory ($TMPDIR) and merges them."""
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        ram = 8 << 30
    return max(256 << 20, min(4 << 30, ram // 2))


def _config_json(vcf: Path, memory_bytes: int | None = None) -> str:
    config = Config(
        tables=(TableEntry(name=SOURCE_TABLE, path=vcf.absolute()),),
        limits=LimitsConfig(memory_bytes=memory_bytes),
    )
    return config.to_native_json()


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def check_export() -> None:
    """Raise :class:`FetchError` unless the native module can write Parquet."""
    _native_with_export()


def _native_with_export() -> Any:
    native = load_native()
    if not hasattr(native, "export"):
        raise FetchError(
            "this build of genoflight._native has no export() (VCF -> Parquet): rebuild it "
            "(`uv sync` or `pip install .`), or rerun with --no-parquet to only download"
        )
    return native


def export_chromosome(
    vcf: Path, out: Path, chromosome: str | None, memory_bytes: int | None = None
) -> int | None:
    """Write ``chromosome``'s records of ``vcf`` (all of them when None), sorted, to ``out``,
    sorting within ``memory_bytes`` (default :func:`default_memory_bytes`).

    Returns the row count when the core reports it."""
    native = _native_with_export()
    where = "" if chromosome is None else f' WHERE "chrom" = {_quote(chromosome)}'
    sql = f'SELECT * FROM "{SOURCE_TABLE}"{where} {ORDER}'
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.partial.parquet")
    try:
        memory = memory_bytes if memory_bytes is not None else default_memory_bytes()
        report = native.export(_config_json(vcf, memory), sql, str(tmp))
        os.replace(tmp, out)
    except (ValueError, RuntimeError) as e:
        hint = ""
        if "Resources exhausted" in str(e) or "Not enough memory" in str(e):
            hint = " (the sort needs more memory: raise --memory)"
        raise FetchError(f"{vcf.name}: converting to Parquet failed{hint}: {e}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return _rows(report)


def _rows(report: object) -> int | None:
    try:
        data = json.loads(report) if isinstance(report, str) else report
    except ValueError:
        return None
    rows = data.get("rows") if isinstance(data, dict) else None
    return rows if isinstance(rows, int) else None


def chromosomes_in(vcf: Path) -> list[str]:
    """The chromosomes a (whole-genome) VCF has records on (one scan of the file)."""
    import pyarrow as pa

    native = load_native()
    sql = f'SELECT DISTINCT "chrom" FROM "{SOURCE_TABLE}"'
    try:
        data = native.query(_config_json(vcf), sql)
    except (ValueError, RuntimeError) as e:
        raise FetchError(f"{vcf.name}: cannot list its chromosomes: {e}") from None
    table = pa.ipc.open_stream(pa.py_buffer(data)).read_all()
    return [str(c) for c in table.column("chrom").to_pylist()]
