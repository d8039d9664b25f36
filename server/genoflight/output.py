"""Query results for people (a plain-text table) and for files (Parquet, CSV, Arrow IPC)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["OUTPUT_FORMATS", "format_table", "output_format", "write_table"]

#: File extension -> format written by ``genoflight sql --output``.
OUTPUT_FORMATS = {
    ".parquet": "parquet",
    ".csv": "csv",
    ".arrow": "arrow",
    ".feather": "arrow",
    ".ipc": "arrow",
}

MAX_CELL = 40


def output_format(path: str | Path) -> str:
    """The format for an output file name; ``ValueError`` naming the choices otherwise."""
    suffix = Path(path).suffix.lower()
    try:
        return OUTPUT_FORMATS[suffix]
    except KeyError:
        known = ", ".join(sorted(OUTPUT_FORMATS))
        got = f"extension {suffix!r}" if suffix else "no extension"
        raise ValueError(
            f"cannot tell the output format of {str(path)!r} ({got}); "
            f"use a file name ending in one of: {known}"
        ) from None


def write_table(table: pa.Table, path: str | Path) -> str:
    """Write ``table`` in the format its extension names; return that format."""
    import pyarrow as pa

    fmt = output_format(path)
    target = Path(path)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, target)
    elif fmt == "csv":
        import pyarrow.csv as pacsv

        nested = [
            f.name for f in table.schema if pa.types.is_nested(f.type) or pa.types.is_map(f.type)
        ]
        if nested:
            raise ValueError(
                f"CSV cannot hold the nested column(s) {', '.join(nested)}; select scalar "
                "columns only, or write .parquet or .arrow instead"
            )
        pacsv.write_csv(table, target)
    else:
        with pa.OSFile(str(target), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
    return fmt


def format_table(table: pa.Table, *, max_rows: int = 100) -> str:
    """A plain-text rendering: header, rule, at most ``max_rows`` rows, and a row count."""
    import pyarrow as pa

    names = table.schema.names
    shown = table.slice(0, max_rows) if max_rows >= 0 else table
    columns = [shown.column(i).to_pylist() for i in range(shown.num_columns)]
    numeric = [
        pa.types.is_integer(f.type) or pa.types.is_floating(f.type) or pa.types.is_decimal(f.type)
        for f in table.schema
    ]
    cells = [[_cell(v) for v in col] for col in columns]
    widths = [
        max([len(name), *(len(c) for c in col)]) for name, col in zip(names, cells, strict=True)
    ]

    def line(values: list[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [line(list(names)), "  ".join("-" * w for w in widths)]
    out += [line([col[r] for col in cells]) for r in range(shown.num_rows)]
    n = table.num_rows
    if shown.num_rows < n:
        out.append(f"({n} rows, showing the first {shown.num_rows}; use --output FILE for all)")
    else:
        out.append(f"({n} row{'' if n == 1 else 's'})")
    return "\n".join(out)


def _cell(value: Any) -> str:
    text = _render(value)
    text = text.replace("\n", "\\n").replace("\t", " ")
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def _render(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:.6g}"
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, (list, dict, tuple)):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)
