"""BED and GFF3/GTF files, read through a real server, against the files themselves and tabix.

A second server (module scope) serves ``<shared>/htslib/annotation`` plus a temporary directory of
small generated files for corner cases the shared data lacks (GENERATED below). Shared files come
from ``<shared>/htslib/MANIFEST.tsv`` (cross-checked with the directory); every expectation is
computed here from the files (plain Python, gzip for BGZF) or from ``tabix`` on them.

The contract under test:
- BED: ``chrom, start (BED start + 1), end``, then as many of ``name, score, strand,
  thick_start (+1), thick_end, item_rgb, block_count, block_sizes, block_starts`` as the first
  data line has; ``#``/``track``/``browser`` and blank lines are skipped.
- GFF3/GTF: ``chrom, start, end, source, type, score, strand, phase, attributes`` (1-based as in
  the file; ``.`` is NULL for score/strand/phase; ``attributes`` a map<string, string>: GFF3
  ``key=value`` percent-decoded, GTF ``key "value"`` unquoted, repeated keys comma-joined).
- Schema metadata ``bio.coordinate_system_zero_based`` = "false"; region predicates on an
  indexed BGZF file go through its tabix index.
"""

from __future__ import annotations

import csv
import gzip
import re
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
import pytest
from _support import (
    CALL_TIMEOUT_S,
    HTSLIB_MANIFEST,
    INDEX_SUFFIXES,
    SHARED_DATA,
    adbc_connect,
    expected_table_names,
    flight_sql_query,
    has_index,
    quote_ident,
    require_native,
    require_tool,
    table_ref,
    unavailable,
)
from conftest import free_port, start_server, stop_server

ANNOTATION_DIR = SHARED_DATA / "htslib" / "annotation"

# Format + compression suffix -> kind, longest first (as _support.FORMAT_SUFFIXES for VCF).
ANNOTATION_SUFFIXES = {
    ".bed.gz": "bed",
    ".bed": "bed",
    ".gff3.gz": "gff3",
    ".gff.gz": "gff3",
    ".gff3": "gff3",
    ".gff": "gff3",
    ".gtf.gz": "gtf",
    ".gtf": "gtf",
}

BED_COLUMNS = (
    "chrom",
    "start",
    "end",
    "name",
    "score",
    "strand",
    "thick_start",
    "thick_end",
    "item_rgb",
    "block_count",
    "block_sizes",
    "block_starts",
)
BED_TYPES = {
    "chrom": "string",
    "start": "int64",
    "end": "int64",
    "name": "string",
    "score": "double",
    "strand": "string",
    "thick_start": "int64",
    "thick_end": "int64",
    "item_rgb": "string",
    "block_count": "int32",
    "block_sizes": "string",
    "block_starts": "string",
}
GFF_COLUMNS = ("chrom", "start", "end", "source", "type", "score", "strand", "phase", "attributes")
GFF_TYPES = {
    "chrom": "string",
    "start": "int64",
    "end": "int64",
    "source": "string",
    "type": "string",
    "score": "double",
    "strand": "string",
    "phase": "int32",
    "attributes": "map<string,string>",
}
# The attribute compared by map access, per kind.
KEY_ATTRIBUTE = {"gff3": "ID", "gtf": "gene_id"}


# --------------------------------------------------------------------------------------------
# The naming contract, extended to the annotation suffixes


def annotation_kind(filename: str) -> str:
    lower = filename.lower()
    for suffix, kind in ANNOTATION_SUFFIXES.items():
        if lower.endswith(suffix):
            return kind
    raise ValueError(f"not an annotation file: {filename}")


def strip_annotation_suffix(filename: str) -> tuple[str, str]:
    """``("example", ".gff3.gz")`` for ``example.gff3.gz``."""
    lower = filename.lower()
    for suffix in ANNOTATION_SUFFIXES:
        if lower.endswith(suffix) and len(filename) > len(suffix):
            return filename[: -len(suffix)], filename[-len(suffix) :]
    raise ValueError(f"not an annotation file: {filename}")


def expected_annotation_table_names(files: Iterable[Path]) -> dict[Path, str]:
    """``_support.expected_table_names`` with this module's suffixes."""
    return expected_table_names(files, strip_annotation_suffix)


def annotation_files(directory: Path) -> list[Path]:
    return sorted(
        p
        for p in directory.iterdir()
        if p.is_file()
        and not p.name.lower().endswith(INDEX_SUFFIXES)
        and p.name.lower().endswith(tuple(ANNOTATION_SUFFIXES))
    )


def _manifest_annotations() -> dict[Path, int]:
    """Annotation data files of MANIFEST.tsv (index files left out) -> their record counts."""
    if not HTSLIB_MANIFEST.is_file():
        return {}
    with HTSLIB_MANIFEST.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return {
        HTSLIB_MANIFEST.parent / r["path"]: int(r["records"])
        for r in rows
        if r["path"].startswith("annotation/") and not r["path"].lower().endswith(INDEX_SUFFIXES)
    }


MANIFEST_RECORDS = _manifest_annotations()
FILES = sorted(MANIFEST_RECORDS)
TABLE_NAMES = (
    expected_annotation_table_names(annotation_files(ANNOTATION_DIR))
    if ANNOTATION_DIR.is_dir()
    else {}
)


def _tsv(*lines: str) -> list[str]:
    """Record lines written with ``|`` for readability; the files get tabs."""
    return [line.replace("|", "\t") for line in lines]


# Written to a temporary directory served too, for the contract's corner cases the shared data
# lacks: BED12, "." score/strand, track/browser/blank/comment lines, percent-encoded and repeated
# GFF3 attributes, a ##FASTA section, repeated GTF keys.
GENERATED: dict[str, list[str]] = {
    "generated_bed12.bed": [
        "browser position chr7:127471196-127495720",
        'track name="ItemRGBDemo" description="Item RGB demonstration" itemRgb="On"',
        "",
        "# a comment",
        *_tsv(
            "chr7|127471196|127472363|Pos1|0|+|127471196|127472363|255,0,0|1|1167,|0,",
            "chr7|127472363|127473530|Pos2|.|-|127472363|127473530|0,0,255|2|500,567,|0,600,",
            "chr7|127473530|127474697|Pos3|900|.|127473600|127474600|0|3|10,20,30,|0,100,1137,",
            "chr8|1000|5000|Neg1|3.5|+|1000|1000|0,255,0|2|100,200|0,3800",
        ),
    ],
    "generated_gff3.gff3": [
        "##gff-version 3",
        "##sequence-region ctg1 1 10000",
        *_tsv(
            "ctg1|test|gene|1000|9000|.|+|.|ID=gene%3B1;Name=EDEN%2Cprotein;Note=first;Note=second",
            "ctg1|test|mRNA|1050|9000|12.5|+|.|ID=mRNA1;Parent=gene%3B1",
        ),
        "# a comment between records",
        *_tsv(
            "ctg1|test|CDS|1201|1500|.|+|0|ID=cds1;Parent=mRNA1",
            "ctg1|test|CDS|3000|3902|.|+|2|ID=cds1;Parent=mRNA1",
            "ctg2|test|region|1|500|.|.|.|Note=unstranded%20region",
        ),
        "##FASTA",
        ">ctg1",
        "ACGTACGTAC",
        ">ctg2",
        "GGGGCCCC",
    ],
    "generated_gtf.gtf": _tsv(
        'chrG|gen|gene|100|900|.|-|.|gene_id "g1"; gene_name "G1";',
        'chrG|gen|exon|100|200|.|-|.|gene_id "g1"; transcript_id "t1"; tag "basic"; tag "CCDS"; '
        "level 2;",
        'chrG|gen|CDS|150|200|7|-|1|gene_id "g1"; transcript_id "t1"; exon_number "1";',
    ),
}

# Tests are parametrized by file name (shared and generated names do not clash); the server
# fixture resolves a name to its path.
NAMES = [p.name for p in FILES] + sorted(GENERATED)
BED_NAMES = [n for n in NAMES if annotation_kind(n) == "bed"]
GFF_NAMES = [n for n in NAMES if annotation_kind(n) != "bed"]
INDEXED_NAMES = [p.name for p in FILES if p.name.endswith(".gz") and has_index(p)]
UNINDEXED_NAMES = [n for n in NAMES if n not in INDEXED_NAMES]


# --------------------------------------------------------------------------------------------
# The files, parsed here into the rows the server should return


def _text_lines(path: Path) -> Iterator[str]:
    """The file's lines without line ends (gzip reads BGZF, a multi-member gzip)."""
    if path.name.lower().endswith(".gz"):
        with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
            for line in f:
                yield line.rstrip("\r\n")
    else:
        with path.open(encoding="utf-8", newline="") as f:
            for line in f:
                yield line.rstrip("\r\n")


def data_lines(path: Path, lines: Iterable[str] | None = None) -> list[str]:
    """Record lines: blank and ``#`` lines skipped, and for BED ``track``/``browser`` lines;
    a GFF3 ``##FASTA`` line ends the records."""
    kind = annotation_kind(path.name)
    out = []
    for line in _text_lines(path) if lines is None else lines:
        if kind == "gff3" and line.startswith("##FASTA"):
            break
        if not line.strip() or line.startswith("#"):
            continue
        if kind == "bed" and line.startswith(("track", "browser")):
            continue
        out.append(line)
    return out


def _dot_null(text: str) -> str | None:
    return None if text == "." else text


def _float_or_null(text: str) -> float | None:
    return None if text == "." else float(text)


def _int_or_null(text: str) -> int | None:
    return None if text == "." else int(text)


def _plus_one(text: str) -> int:
    return int(text) + 1


# Per BED column: file text -> the server's value.
BED_VALUES = (
    str,
    _plus_one,
    int,
    str,
    _float_or_null,
    _dot_null,
    _plus_one,
    int,
    str,
    int,
    str,
    str,
)


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    parts, current, quoted = [], [], False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _add_attribute(attrs: dict[str, str], key: str, value: str) -> None:
    """A key repeated in one record keeps all its values, joined with ','."""
    attrs[key] = f"{attrs[key]},{value}" if key in attrs else value


def parse_gff3_attributes(text: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    if text.strip() in ("", "."):
        return attrs
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue  # a trailing ';'
        if "=" not in part:
            raise AssertionError(f"GFF3 attribute without '=' ({part!r}): extend this test")
        key, _, value = part.partition("=")
        _add_attribute(attrs, key, unquote(value))
    return attrs


def parse_gtf_attributes(text: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    if text.strip() in ("", "."):
        return attrs
    for part in _split_outside_quotes(text, ";"):
        part = part.strip()
        if not part:
            continue  # after the final ';'
        key, *rest = re.split(r"\s+", part, maxsplit=1)
        value = rest[0].strip() if rest else ""
        if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
            value = value[1:-1]
        _add_attribute(attrs, key, value)
    return attrs


def parse_line(kind: str, columns: tuple[str, ...], line: str) -> tuple[Any, ...]:
    """One record line -> the row the server should return for it."""
    fields = line.split("\t")
    if kind == "bed":
        n = len(columns)
        fields = fields[:n] + ["."] * (n - len(fields))  # short lines: not in the data
        return tuple(convert(text) for convert, text in zip(BED_VALUES, fields, strict=False))
    assert len(fields) == 9, f"not 9 GFF columns: {line!r}"
    seqid, source, type_, start, end, score, strand, phase, attributes = fields
    parse_attributes = parse_gff3_attributes if kind == "gff3" else parse_gtf_attributes
    return (
        seqid,
        int(start),
        int(end),
        source,  # the contract names no NULL for source: "." stays "."
        type_,
        _float_or_null(score),
        _dot_null(strand),
        _int_or_null(phase),
        parse_attributes(attributes),
    )


@dataclass(frozen=True)
class Annotation:
    path: Path
    kind: str  # "bed" | "gff3" | "gtf"
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]  # in file order; GFF attributes as dicts

    def parse(self, line: str) -> tuple[Any, ...]:
        return parse_line(self.kind, self.columns, line)


@cache
def load(path: Path) -> Annotation:
    kind = annotation_kind(path.name)
    lines = data_lines(path)
    assert lines, f"{path.name} has no records"
    if kind == "bed":
        n = len(lines[0].split("\t"))
        assert 3 <= n <= len(BED_COLUMNS), f"{path.name}: first data line has {n} columns"
        columns = BED_COLUMNS[:n]
    else:
        columns = GFF_COLUMNS
    rows = tuple(parse_line(kind, columns, line) for line in lines)
    return Annotation(path=path, kind=kind, columns=columns, rows=rows)


def _select_list(columns: Iterable[str]) -> str:
    return ", ".join(quote_ident(c) for c in columns)


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _hashable(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted(value.items()))
    if isinstance(value, list):
        return tuple(value)
    return value


def _row_key(row: Iterable[Any]) -> tuple[Any, ...]:
    """Total order on rows of one table: NULLs last per column (as ORDER BY ... ASC)."""
    return tuple((v is None, "" if v is None else _hashable(v)) for v in row)


def _attributes(value: Any) -> dict[str, str]:
    """A map value as pyarrow returns it (a list of (key, value) pairs) -> a dict."""
    if value is None:
        return {}  # "no attributes": the contract does not say NULL or empty map; not in the data
    pairs = list(value.items()) if isinstance(value, dict) else list(value)
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), f"repeated keys in one map (should be ','-joined): {pairs}"
    return dict(pairs)


def server_rows(table: pa.Table) -> list[tuple[Any, ...]]:
    columns = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        values = column.to_pylist()
        if name == "attributes":
            values = [_attributes(v) for v in values]
        columns.append(values)
    return list(zip(*columns, strict=True))


def _map_value(value: Any) -> Any:
    """``attributes['k']``: the value, or (map_extract semantics) a list holding it."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _type_name(t: pa.DataType) -> str:
    if pa.types.is_map(t):
        return f"map<{_type_name(t.key_type)},{_type_name(t.item_type)}>"
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    return str(t)


def _compare_rows(
    got: list[tuple[Any, ...]], expected: Iterable[tuple[Any, ...]], what: str
) -> None:
    expected = sorted(expected, key=_row_key)
    got = sorted(got, key=_row_key)
    assert len(got) == len(expected), f"{what}: {len(got)} rows, expected {len(expected)}"
    for i, (g, e) in enumerate(zip(got, expected, strict=True)):
        assert g == e, f"{what}: row {i} (sorted) differs:\n server {g}\n file   {e}"


# --------------------------------------------------------------------------------------------
# tabix


def run_tabix(*args: str | Path) -> str:
    """tabix's stdout; ``pytest.xfail`` with tabix's stderr if it fails."""
    exe = require_tool("tabix")
    proc = subprocess.run(
        [exe, *map(str, args)], capture_output=True, timeout=CALL_TIMEOUT_S, check=False
    )
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        pytest.xfail(f"tabix {' '.join(map(str, args))} failed: {err}")
    return proc.stdout.decode("utf-8", "surrogateescape")


def _window(ann: Annotation) -> tuple[str, int, int]:
    """A region inside the first chromosome's records: from the first to the second quartile
    of their (1-based) starts."""
    chrom = ann.rows[0][0]
    starts = sorted(r[1] for r in ann.rows if r[0] == chrom)
    return chrom, starts[len(starts) // 4], starts[len(starts) // 2]


# --------------------------------------------------------------------------------------------
# The second server


@dataclass
class AnnotationServer:
    uri: str
    proc: subprocess.Popen[bytes]
    stderr_path: Path
    files: dict[str, Path]  # every served data file, by file name
    table_names: dict[Path, str]  # the contract's table name of each

    def path(self, name: str) -> Path:
        return self.files[name]

    def table(self, name: str) -> str:
        return table_ref(self.table_names[self.files[name]])

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""


@pytest.fixture(scope="module")
def annotation_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnnotationServer]:
    """``genoflight serve <shared>/htslib/annotation <tmp>`` on a free port (as conftest's
    server), ``<tmp>`` holding the GENERATED files."""
    require_native()
    if not ANNOTATION_DIR.is_dir():
        unavailable(f"shared test data not found at {ANNOTATION_DIR} (set GENOFLIGHT_SHARED_DATA)")
    generated_dir = tmp_path_factory.mktemp("annotation-generated")
    for name, lines in GENERATED.items():
        (generated_dir / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    served = annotation_files(ANNOTATION_DIR) + annotation_files(generated_dir)
    files = {p.name: p for p in served}
    assert len(files) == len(served), "a generated file has a shared file's name"
    host = "127.0.0.1"
    port = free_port(host)
    log_dir = tmp_path_factory.mktemp("annotation-server-logs")
    proc, stderr_path = start_server(
        [str(ANNOTATION_DIR), str(generated_dir)], host=host, port=port, log_dir=log_dir
    )
    handle = AnnotationServer(
        uri=f"grpc://{host}:{port}",
        proc=proc,
        stderr_path=stderr_path,
        files=files,
        table_names=expected_annotation_table_names(served),
    )
    try:
        yield handle
    finally:
        died = proc.poll()
        stop_server(proc)
    if died is not None:
        pytest.fail(
            f"the annotation server died during the tests (exit status {died}); stderr:\n"
            f"{handle.stderr()}",
            pytrace=False,
        )


def _scalar(server: AnnotationServer, sql: str) -> Any:
    table = flight_sql_query(server.uri, sql)
    assert table.num_rows == 1, f"{sql}: expected one row, got {table.num_rows}"
    return table.column(0)[0].as_py()


def _explain(server: AnnotationServer, sql: str) -> str:
    table = flight_sql_query(server.uri, f"EXPLAIN {sql}")
    return "\n".join(str(v) for column in table.columns for v in column.to_pylist())


# --------------------------------------------------------------------------------------------
# Naming and listing


def test_manifest_matches_directory() -> None:
    if not ANNOTATION_DIR.is_dir():
        pytest.skip(f"no shared data at {ANNOTATION_DIR}")
    assert annotation_files(ANNOTATION_DIR) == FILES, (
        "MANIFEST.tsv and the annotation/ directory disagree"
    )


def test_table_names_follow_the_naming_contract() -> None:
    """The helper above re-derives the contract's examples for the shared files."""
    if not ANNOTATION_DIR.is_dir():
        pytest.skip(f"no shared data at {ANNOTATION_DIR}")
    by_file = {p.name: name for p, name in TABLE_NAMES.items()}
    # Three-way collision on "example": the indexed files first, then by path.
    assert by_file["example.gff3.gz"] == "example"
    assert by_file["example.gtf.gz"] == "example_gtf_gz"
    assert by_file["example.bed"] == "example_bed"
    assert by_file["example_0v26.bed.gz"] == "example_0v26"
    assert by_file["knownGene.hg18.chr21.short.bed"] == "knownGene_hg18_chr21_short"
    assert by_file["bed_file.bed"] == "bed_file"
    assert by_file["gff_file.gff"] == "gff_file"
    assert by_file["test.gtf"] == "test"


def test_tables_are_listed_under_their_contract_names(annotation_server: AnnotationServer) -> None:
    conn = adbc_connect(annotation_server.uri)
    try:
        rows = (
            conn.adbc_get_objects(
                depth="tables", catalog_filter="genoflight", db_schema_filter="public"
            )
            .read_all()
            .to_pylist()
        )
    finally:
        conn.close()
    listed = {
        tbl["table_name"]
        for cat in rows
        for sch in cat["catalog_db_schemas"] or []
        for tbl in sch["db_schema_tables"] or []
    }
    expected = annotation_server.table_names
    missing = {p.name: name for p, name in expected.items() if name not in listed}
    assert not missing, f"files not served under their names: {missing}; listed {sorted(listed)}"
    extra = listed - set(expected.values())
    assert not extra, f"unexpected tables (index files?): {sorted(extra)}"


@pytest.mark.parametrize("name", NAMES)
def test_table_schema(annotation_server: AnnotationServer, name: str) -> None:
    path = annotation_server.path(name)
    ann = load(path)
    conn = adbc_connect(annotation_server.uri)
    try:
        schema = conn.adbc_get_table_schema(
            annotation_server.table_names[path], db_schema_filter="public"
        )
    finally:
        conn.close()
    assert tuple(schema.names) == ann.columns, (
        f"{name}: columns {schema.names}, expected {list(ann.columns)}"
    )
    types = BED_TYPES if ann.kind == "bed" else GFF_TYPES
    got_types = {f.name: _type_name(f.type) for f in schema}
    assert got_types == {c: types[c] for c in ann.columns}
    meta = {k.decode(): v.decode() for k, v in (schema.metadata or {}).items()}
    assert meta.get("bio.coordinate_system_zero_based") == "false", f"schema metadata: {meta}"

    table = annotation_server.table(name)
    result = flight_sql_query(annotation_server.uri, f"SELECT * FROM {table} LIMIT 3")
    result_meta = result.schema.metadata or {}
    assert result_meta.get(b"bio.coordinate_system_zero_based") == b"false", result_meta


# --------------------------------------------------------------------------------------------
# Contents


@pytest.mark.parametrize("name", NAMES)
def test_record_count_matches_file_and_manifest(
    annotation_server: AnnotationServer, name: str
) -> None:
    path = annotation_server.path(name)
    counted = len(data_lines(path))
    if path in MANIFEST_RECORDS:
        assert counted == MANIFEST_RECORDS[path], (
            f"{name}: {counted} record lines here, MANIFEST.tsv says {MANIFEST_RECORDS[path]}"
        )
    got = _scalar(annotation_server, f"SELECT count(*) FROM {annotation_server.table(name)}")
    assert got == counted


def test_generated_files_parse_as_the_contract_says(tmp_path: Path) -> None:
    """The parser above, on the generated corner cases, against values spelled out here."""
    rows = {}
    for name, lines in GENERATED.items():
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        rows[name] = load(path).rows
    bed = rows["generated_bed12.bed"]
    assert len(bed) == 4 and len(bed[0]) == len(BED_COLUMNS)
    assert bed[0][:4] == ("chr7", 127471197, 127472363, "Pos1")
    assert bed[1][4] is None and bed[2][5] is None and bed[3][4] == 3.5
    assert bed[2][6:10] == (127473601, 127474600, "0", 3)
    gff = rows["generated_gff3.gff3"]
    assert len(gff) == 5, "the ##FASTA section holds no records"
    assert gff[0][-1] == {"ID": "gene;1", "Name": "EDEN,protein", "Note": "first,second"}
    assert gff[1][5] == 12.5 and gff[3][7] == 2 and gff[4][6] is None
    assert gff[4][-1] == {"Note": "unstranded region"}
    gtf = rows["generated_gtf.gtf"]
    assert gtf[1][-1] == {"gene_id": "g1", "transcript_id": "t1", "tag": "basic,CCDS", "level": "2"}
    assert gtf[2][5:8] == (7.0, "-", 1)


@pytest.mark.parametrize("name", BED_NAMES)
def test_bed_fields_match_the_file(annotation_server: AnnotationServer, name: str) -> None:
    ann = load(annotation_server.path(name))
    order = [c for c in ("chrom", "start", "end", "name") if c in ann.columns]
    table = flight_sql_query(
        annotation_server.uri,
        f"SELECT {_select_list(ann.columns)} FROM {annotation_server.table(name)} "
        f"ORDER BY {_select_list(order)}",
    )
    assert tuple(table.column_names) == ann.columns
    got = server_rows(table)
    keys = [_row_key(row[: len(order)]) for row in got]
    assert keys == sorted(keys), f"{name}: rows not in ORDER BY {', '.join(order)} order"
    # Rows equal on the ORDER BY columns may come in any order: compare fully sorted rows.
    _compare_rows(got, ann.rows, name)


@pytest.mark.parametrize("name", GFF_NAMES)
def test_gff_fields_match_the_file(annotation_server: AnnotationServer, name: str) -> None:
    ann = load(annotation_server.path(name))
    key = KEY_ATTRIBUTE[ann.kind]
    fixed = GFF_COLUMNS[:-1]
    table = flight_sql_query(
        annotation_server.uri,
        f"SELECT {_select_list(fixed)}, {quote_ident('attributes')}[{_sql_string(key)}] AS k "
        f"FROM {annotation_server.table(name)}",
    )
    got = [(*row[:-1], _map_value(row[-1])) for row in server_rows(table)]
    expected = [(*row[:-1], row[-1].get(key)) for row in ann.rows]
    if ann.kind == "gtf":
        assert all(e[-1] is not None for e in expected), f"{name}: a record has no {key}"
    else:
        assert any(e[-1] is not None for e in expected), f"{name}: no record has {key}"
    _compare_rows(got, expected, f"{name} (with attributes[{key!r}])")


@pytest.mark.parametrize("name", GFF_NAMES)
def test_gff_attribute_maps_match_the_file(annotation_server: AnnotationServer, name: str) -> None:
    ann = load(annotation_server.path(name))
    table = flight_sql_query(
        annotation_server.uri,
        f"SELECT {_select_list(GFF_COLUMNS)} FROM {annotation_server.table(name)}",
    )
    _compare_rows(server_rows(table), ann.rows, name)


# --------------------------------------------------------------------------------------------
# Region queries


def _region_sql(server: AnnotationServer, name: str, columns: Iterable[str], where: str) -> str:
    return f"SELECT {_select_list(columns)} FROM {server.table(name)} WHERE {where}"


@pytest.mark.parametrize("name", INDEXED_NAMES)
def test_region_query_on_indexed_file_matches_tabix(
    annotation_server: AnnotationServer, name: str
) -> None:
    path = annotation_server.path(name)
    ann = load(path)
    chrom, a, b = _window(ann)
    # tabix returns every record overlapping [a, b]: keep those starting in it.
    out = run_tabix(path, f"{chrom}:{a}-{b}")
    from_tabix = [ann.parse(line) for line in data_lines(path, out.splitlines())]
    expected = [r for r in from_tabix if a <= r[1] <= b]
    assert expected, "the chosen region should not be empty"
    from_file = [r for r in ann.rows if r[0] == chrom and a <= r[1] <= b]
    assert sorted(expected, key=_row_key) == sorted(from_file, key=_row_key), (
        f"tabix {name} {chrom}:{a}-{b} disagrees with the file itself"
    )

    where = f"chrom = {_sql_string(chrom)} AND start BETWEEN {a} AND {b}"
    table = flight_sql_query(
        annotation_server.uri, _region_sql(annotation_server, name, ann.columns, where)
    )
    _compare_rows(server_rows(table), expected, f"{name} {where}")

    n = _scalar(
        annotation_server,
        f"SELECT count(*) FROM {annotation_server.table(name)} "
        f"WHERE chrom = {_sql_string(chrom)} AND start >= {a} AND start <= {b}",
    )
    assert n == len(expected)


@pytest.mark.parametrize("name", INDEXED_NAMES)
def test_overlap_query_on_indexed_file_matches_tabix(
    annotation_server: AnnotationServer, name: str
) -> None:
    """``start <= b AND end >= a`` is tabix's own overlap rule (1-based closed): no filtering."""
    path = annotation_server.path(name)
    ann = load(path)
    chrom, a, b = _window(ann)
    out = run_tabix(path, f"{chrom}:{a}-{b}")
    expected = [ann.parse(line) for line in data_lines(path, out.splitlines())]
    from_file = [r for r in ann.rows if r[0] == chrom and r[1] <= b and r[2] >= a]
    assert sorted(expected, key=_row_key) == sorted(from_file, key=_row_key), (
        f"tabix {name} {chrom}:{a}-{b} disagrees with the overlap rule on the file"
    )
    where = f'chrom = {_sql_string(chrom)} AND start <= {b} AND "end" >= {a}'
    table = flight_sql_query(
        annotation_server.uri, _region_sql(annotation_server, name, ann.columns, where)
    )
    _compare_rows(server_rows(table), expected, f"{name} {where}")


@pytest.mark.parametrize("name", INDEXED_NAMES)
def test_region_query_on_indexed_file_uses_the_index(
    annotation_server: AnnotationServer, name: str
) -> None:
    ann = load(annotation_server.path(name))
    chrom, a, b = _window(ann)
    where = f"chrom = {_sql_string(chrom)} AND start BETWEEN {a} AND {b}"
    plan = _explain(annotation_server, _region_sql(annotation_server, name, ann.columns, where))
    lines = [line for line in plan.splitlines() if "via index" in line]
    assert lines, f"{name}: the plan does not read through the index:\n{plan}"
    assert any(f"{chrom}:" in line for line in lines), f"{name}: no {chrom} region:\n{plan}"


@pytest.mark.parametrize("name", UNINDEXED_NAMES)
def test_region_query_on_unindexed_file_matches_the_file(
    annotation_server: AnnotationServer, name: str
) -> None:
    ann = load(annotation_server.path(name))
    chrom, a, b = _window(ann)
    expected = [r for r in ann.rows if r[0] == chrom and a <= r[1] <= b]
    assert expected, "the chosen region should not be empty"
    where = f"chrom = {_sql_string(chrom)} AND start BETWEEN {a} AND {b}"
    query = _region_sql(annotation_server, name, ann.columns, where)
    table = flight_sql_query(annotation_server.uri, query)
    _compare_rows(server_rows(table), expected, f"{name} {where}")
    plan = _explain(annotation_server, query)
    assert "via index" not in plan, f"{name} has no index, yet:\n{plan}"
