"""``genoflight export``: a query's result as a genomic file (VCF, BAM, FASTQ, BED, Parquet).

The work happens in the Rust core (``_native.export``); this module checks the output name
before anything runs and shapes the summary the command prints.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

__all__ = ["EXPORT_SUFFIXES", "ExportSummary", "export", "export_format"]

#: Output suffix -> format written (indexes: VCF/BED .tbi or .csi, BAM .bai or .csi).
EXPORT_SUFFIXES = {
    ".vcf.gz": "vcf",
    ".vcf.bgz": "vcf",
    ".bam": "bam",
    ".fastq.gz": "fastq",
    ".fq.gz": "fastq",
    ".bed.gz": "bed",
    ".bed.bgz": "bed",
    ".parquet": "parquet",
}


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote."""

    format: str
    rows: int
    bytes: int
    index: Path | None

    def describe(self, out: Path) -> str:
        written = f"wrote {self.rows} {self.format.upper()} records to {out} ({self.bytes} bytes)"
        return f"{written}; index {self.index}" if self.index else written


def export_format(path: str | Path) -> str:
    """The format an output file name asks for; ``ValueError`` naming the choices otherwise."""
    name = Path(path).name.lower()
    for suffix, fmt in EXPORT_SUFFIXES.items():
        if name.endswith(suffix):
            return fmt
    known = ", ".join(EXPORT_SUFFIXES)
    raise ValueError(
        f"cannot tell the export format of {str(path)!r}: use a file name ending in one of "
        f"{known} (VCF, BED and FASTQ are written BGZF-compressed)"
    )


def export(native: ModuleType, config_json: str, sql: str, out: Path) -> ExportSummary:
    """Run ``sql`` over the catalog of ``config_json`` and write the result to ``out``."""
    export_format(out)
    if not out.parent.is_dir():
        raise ValueError(f"-o {out}: directory {out.parent} does not exist")
    if not sql.strip():
        raise ValueError("the SQL query is empty")
    summary = json.loads(native.export(config_json, sql, str(out)))
    index = summary.get("index")
    return ExportSummary(
        format=str(summary["format"]),
        rows=int(summary["rows"]),
        bytes=int(summary["bytes"]),
        index=Path(index) if index else None,
    )
