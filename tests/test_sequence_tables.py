"""FASTA and FASTQ files, read through a real server, against the files themselves and samtools.

A second server (module scope) serves ``<shared>/htslib/sequence`` and a temporary directory of
generated files (GENERATED below, plus a malformed FASTQ) in schema ``public``, and the FASTA
files of ``<shared>/htslib/alignment``, one by one, in schema ``alignment`` (a ``--config`` file):
that directory's SAM/BAM/CRAM files are not served here, and ``alignment/ce.fa`` would collide
with ``sequence/ce.fa.gz`` on the name ``ce`` in one schema. Shared files come from
``<shared>/htslib/MANIFEST.tsv`` (cross-checked with the directories); every expectation is
computed here from the files (plain Python, gzip for BGZF) or from ``samtools faidx``.

The contract under test:
- Suffixes: FASTA ``.fa .fasta .fna``, FASTQ ``.fq .fastq``, each optionally + ``.gz``/``.bgz``
  (plain gzip or BGZF). Table name = file name without them, sanitised as usual; ``.fai`` and
  ``.gzi`` files are never tables.
- FASTA: ``name`` (header up to the first whitespace, without ``>``), ``description`` (the rest
  of the header, NULL when none), ``sequence`` (all sequence lines concatenated, case kept).
- FASTQ: the same three, then ``quality_scores`` (the quality text as in the file). A record
  whose quality length differs from its sequence length, or without a ``+`` line, is an error
  naming the file and line.
- One row per record, in file order; all columns strings; no positional columns.

FASTQ records are NOT always four lines: ``fastqs.fq`` holds the Cock et al. (2009) wrapped
records (``longreads``/``wrapping`` examples), where sequence and quality span several lines and
quality lines may start with ``@`` or ``+``. The parser below reads the header, sequence lines up
to the ``+`` line, then quality lines until the quality is as long as the sequence (the way
htslib and Biopython read FASTQ); four lines per record would give 125 records, not the 105 of
MANIFEST.tsv.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
import struct
import subprocess
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from _support import (
    CALL_TIMEOUT_S,
    HTSLIB_MANIFEST,
    INDEX_SUFFIXES,
    SHARED_DATA,
    adbc_connect,
    expected_table_names,
    flight_sql_error,
    flight_sql_query,
    physical_plan,
    quote_ident,
    require_native,
    require_tool,
    table_ref,
    unavailable,
)
from conftest import free_port, start_server, stop_server

SEQUENCE_DIR = SHARED_DATA / "htslib" / "sequence"
ALIGNMENT_DIR = SHARED_DATA / "htslib" / "alignment"
ALIGNMENT_SCHEMA = "alignment"

# Format + compression suffix -> kind, longest first (as _support.FORMAT_SUFFIXES for VCF).
SEQUENCE_SUFFIXES = dict(
    sorted(
        {
            base + compression: kind
            for kind, bases in (("fasta", (".fasta", ".fna", ".fa")), ("fastq", (".fastq", ".fq")))
            for base in bases
            for compression in (".gz", ".bgz", "")
        }.items(),
        key=lambda item: -len(item[0]),
    )
)

COLUMNS = {
    "fasta": ("name", "description", "sequence"),
    "fastq": ("name", "description", "sequence", "quality_scores"),
}


# --------------------------------------------------------------------------------------------
# The naming contract, extended to the sequence suffixes


def sequence_kind(filename: str) -> str:
    lower = filename.lower()
    for suffix, kind in SEQUENCE_SUFFIXES.items():
        if lower.endswith(suffix):
            return kind
    raise ValueError(f"not a FASTA/FASTQ file: {filename}")


def strip_sequence_suffix(filename: str) -> tuple[str, str]:
    """``("ce", ".fa.gz")`` for ``ce.fa.gz``."""
    lower = filename.lower()
    for suffix in SEQUENCE_SUFFIXES:
        if lower.endswith(suffix) and len(filename) > len(suffix):
            return filename[: -len(suffix)], filename[-len(suffix) :]
    raise ValueError(f"not a FASTA/FASTQ file: {filename}")


def expected_sequence_table_names(files: Iterable[Path]) -> dict[Path, str]:
    """``_support.expected_table_names`` with this module's suffixes."""
    return expected_table_names(files, strip_sequence_suffix)


def sequence_files(directory: Path, kind: str | None = None) -> list[Path]:
    """The FASTA/FASTQ files of ``directory`` (of one ``kind`` if given), index files left out."""
    return sorted(
        p
        for p in directory.iterdir()
        if p.is_file()
        and not p.name.lower().endswith(INDEX_SUFFIXES)
        and p.name.lower().endswith(tuple(SEQUENCE_SUFFIXES))
        and (kind is None or sequence_kind(p.name) == kind)
    )


def _manifest_sequences() -> dict[Path, int]:
    """FASTA/FASTQ files of MANIFEST.tsv under sequence/ and alignment/ -> their record counts."""
    if not HTSLIB_MANIFEST.is_file():
        return {}
    with HTSLIB_MANIFEST.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    out = {}
    for r in rows:
        path = r["path"]
        lower = path.lower()
        if lower.endswith(INDEX_SUFFIXES) or not lower.endswith(tuple(SEQUENCE_SUFFIXES)):
            continue
        if path.startswith("sequence/") or (
            path.startswith("alignment/") and sequence_kind(path) == "fasta"
        ):
            out[HTSLIB_MANIFEST.parent / path] = int(r["records"])
    return out


MANIFEST_RECORDS = _manifest_sequences()
SHARED_FILES = sorted(MANIFEST_RECORDS)


def _file_id(path: Path) -> str:
    """``sequence/ce.fa.gz``, ``alignment/ce.fa``: test ids and the fixture's keys."""
    return f"{path.parent.name}/{path.name}"


# --------------------------------------------------------------------------------------------
# Generated files: suffixes and corner cases the shared data lacks


def _bgzf_block(chunk: bytes) -> bytes:
    """One BGZF block: a gzip member with the ``BC`` extra field holding its size - 1."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    deflated = compressor.compress(chunk) + compressor.flush()
    block_size = 18 + len(deflated) + 8
    header = struct.pack(
        "<4BI2BH2BHH", 0x1F, 0x8B, 8, 4, 0, 0, 0xFF, 6, ord("B"), ord("C"), 2, block_size - 1
    )
    return header + deflated + struct.pack("<II", zlib.crc32(chunk), len(chunk))


BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


def bgzf_compress(data: bytes) -> bytes:
    """BGZF as bgzip writes it: blocks of at most 0xff00 input bytes, then the EOF block."""
    blocks = [_bgzf_block(data[i : i + 0xFF00]) for i in range(0, len(data), 0xFF00)]
    return b"".join(blocks) + _bgzf_block(b"")


def compress_for(filename: str, data: bytes) -> bytes:
    """``.gz``: plain gzip (not BGZF); ``.bgz``: BGZF; otherwise as is."""
    if filename.endswith(".gz"):
        return gzip.compress(data, mtime=0)
    if filename.endswith(".bgz"):
        return bgzf_compress(data)
    return data


GENERATED_FASTA = "\n".join(
    [
        ">gen_chr1 first contig, mixed case",
        "ACGTNacgtn",
        "ACGTAC",
        ">gen_empty a record without sequence lines",
        ">gen_chr2",
        "GGGGCCCCAAAATTTT",
        "GGCC",
        ">gen_chr3\tdescription after a tab\twith a tab inside",
        "acgtRYKMSWbdhvN",
        "",
    ]
)
GENERATED_FASTQ = "\n".join(
    [
        "@gen_r1 first read",
        "ACGTACGTAC",
        "+",
        "IIIIIHHHGG",
        # Wrapped sequence and quality; the '+' line repeats the title; quality lines start
        # with '@' and '+'.
        "@gen_r2",
        "ACGTAC",
        "GTACGT",
        "+gen_r2",
        "@@@+++",
        "+@+@+@",
        "@gen_r3\tBC:Z:ACGT\tRG:Z:x",
        "NNNNacgt",
        "+",
        "!\"#$%&'(",
        "",
    ]
)

# One file per suffix the shared data lacks (the shared data has .fa, .fa.gz (BGZF), .fq and
# .fq.gz (plain gzip)); stems differ, so no two share a table name.
GENERATED: dict[str, str] = {
    "gen_fasta.fasta": GENERATED_FASTA,
    "gen_fna.fna": GENERATED_FASTA,
    "gen_fna_gz.fna.gz": GENERATED_FASTA,
    "gen_fa_bgz.fa.bgz": GENERATED_FASTA,
    "gen_fasta_bgz.fasta.bgz": GENERATED_FASTA,
    "gen_fastq.fastq": GENERATED_FASTQ,
    "gen_fastq_gz.fastq.gz": GENERATED_FASTQ,
    "gen_fq_bgz.fq.bgz": GENERATED_FASTQ,
    "gen_fastq_bgz.fastq.bgz": GENERATED_FASTQ,
}

# The malformed FASTQ: the 2nd record's quality (line 8) is 12 characters for 20 bases. A
# parser that counts quality characters reads on into line 9 (the next header, 12 + 17 > 20)
# and fails there; one that stops at the line fails at line 8. Either line may be named.
MALFORMED_NAME = "malformed_reads.fq"
MALFORMED_FASTQ = "\n".join(
    [
        "@good1 first read",
        "ACGTACGTAC",
        "+",
        "IIIIIIIIII",
        "@short2",
        "ACGTACGTACGTACGTACGT",
        "+",
        "IIIIIIIIIIII",
        "@good3 third read",
        "ACGTACGT",
        "+",
        "IIIIIIII",
        "",
    ]
)
MALFORMED_LINES = (8, 9)


def _generated_id(filename: str) -> str:
    return f"generated/{filename}"


# Tests are parametrized by file id (directory/file name); the server fixture maps an id to its
# path and schema.
IDS = [_file_id(p) for p in SHARED_FILES] + [_generated_id(n) for n in GENERATED]
FASTA_IDS = [i for i in IDS if sequence_kind(i) == "fasta"]
FASTQ_IDS = [i for i in IDS if sequence_kind(i) == "fastq"]
FAI_IDS = [
    _file_id(p)
    for p in SHARED_FILES
    if sequence_kind(p.name) == "fasta" and Path(str(p) + ".fai").is_file()
]


# --------------------------------------------------------------------------------------------
# The files, parsed here into the rows the server should return


class SequenceFileError(ValueError):
    """The file breaks the FASTA/FASTQ rules (message names the line)."""


def _text_lines(path: Path) -> Iterator[str]:
    """The file's lines without line ends (gzip reads BGZF, a multi-member gzip)."""
    if path.name.lower().endswith((".gz", ".bgz")):
        with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
            for line in f:
                yield line.rstrip("\r\n")
    else:
        with path.open(encoding="utf-8", newline="") as f:
            for line in f:
                yield line.rstrip("\r\n")


def split_header(line: str) -> tuple[str, str | None]:
    """``>name rest`` / ``@name rest`` -> ``("name", "rest")``; no rest -> description NULL."""
    name, *rest = re.split(r"\s", line[1:], maxsplit=1)
    return name, (rest[0] if rest and rest[0] else None)


def parse_fasta(lines: Iterable[str]) -> list[tuple[str, str | None, str]]:
    records: list[tuple[str, str | None, str]] = []
    current: tuple[str, str | None] | None = None
    parts: list[str] = []
    for lineno, line in enumerate(lines, 1):
        if line.startswith(">"):
            if current is not None:
                records.append((*current, "".join(parts)))
            current, parts = split_header(line), []
        elif current is None:
            if line.strip():
                raise SequenceFileError(f"line {lineno}: sequence before the first header")
        else:
            parts.append(line)
    if current is not None:
        records.append((*current, "".join(parts)))
    return records


def parse_fastq(lines: Iterable[str]) -> list[tuple[str, str | None, str, str]]:
    """Header, sequence lines up to the ``+`` line, then quality lines until the quality is as
    long as the sequence (so quality lines starting with ``@``/``+`` are read as quality)."""
    records: list[tuple[str, str | None, str, str]] = []
    numbered = enumerate(lines, 1)
    for lineno, line in numbered:
        if not line.strip():
            continue
        if not line.startswith("@"):
            raise SequenceFileError(f"line {lineno}: expected an '@' header, got {line[:40]!r}")
        name, description = split_header(line)
        sequence: list[str] = []
        for lineno, line in numbered:  # noqa: B007 (lineno is used after the loop)
            if line.startswith("+"):
                break
            sequence.append(line)
        else:
            raise SequenceFileError(f"record {name}: no '+' line before the end of the file")
        seq = "".join(sequence)
        quality = ""
        while len(quality) < len(seq):
            step = next(numbered, None)
            if step is None:
                raise SequenceFileError(f"record {name}: the file ends inside its quality")
            lineno, line = step
            quality += line
        if len(quality) != len(seq):
            raise SequenceFileError(
                f"line {lineno}: record {name} has {len(quality)} quality characters for "
                f"{len(seq)} bases"
            )
        records.append((name, description, seq, quality))
    return records


@dataclass(frozen=True)
class SequenceFile:
    path: Path
    kind: str  # "fasta" | "fastq"
    rows: tuple[tuple[Any, ...], ...]  # in file order, as COLUMNS[kind]

    @property
    def columns(self) -> tuple[str, ...]:
        return COLUMNS[self.kind]


@cache
def load(path: Path) -> SequenceFile:
    kind = sequence_kind(path.name)
    parse = parse_fasta if kind == "fasta" else parse_fastq
    rows = tuple(parse(_text_lines(path)))
    assert rows, f"{path.name} has no records"
    return SequenceFile(path=path, kind=kind, rows=rows)


def fasta_header_count(path: Path) -> int:
    """``grep -c '^>'``."""
    return sum(1 for line in _text_lines(path) if line.startswith(">"))


def read_fai(path: Path) -> list[tuple[str, int]]:
    """(name, length) per line of a ``.fai``, in file order."""
    rows = []
    for line in Path(str(path) + ".fai").read_text(encoding="utf-8").splitlines():
        if line.strip():
            name, length, *_ = line.split("\t")
            rows.append((name, int(length)))
    return rows


def _select_list(columns: Iterable[str]) -> str:
    return ", ".join(quote_ident(c) for c in columns)


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _row_key(row: Iterable[Any]) -> tuple[Any, ...]:
    """Total order on rows of one table: NULLs last per column (as ORDER BY ... ASC)."""
    return tuple((v is None, "" if v is None else v) for v in row)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else f"{text[:100]}... ({len(value)} characters)"


def _difference(got: tuple[Any, ...], expected: tuple[Any, ...], columns: Iterable[str]) -> str:
    """Where two rows differ, without printing megabase sequences whole."""
    out = []
    for column, g, e in zip(columns, got, expected, strict=True):
        if g == e:
            continue
        if isinstance(g, str) and isinstance(e, str):
            i = next((k for k, (a, b) in enumerate(zip(g, e, strict=False)) if a != b), None)
            if i is None:
                i = min(len(g), len(e))
            out.append(
                f"  {column}: server {len(g)} characters, file {len(e)}; first difference at "
                f"offset {i}: server {g[i : i + 20]!r}, file {e[i : i + 20]!r}"
            )
        else:
            out.append(f"  {column}: server {_short(g)}, file {_short(e)}")
    return "\n".join(out)


def _compare_rows(
    got: list[tuple[Any, ...]],
    expected: Iterable[tuple[Any, ...]],
    columns: tuple[str, ...],
    what: str,
) -> None:
    expected = sorted(expected, key=_row_key)
    got = sorted(got, key=_row_key)
    assert len(got) == len(expected), f"{what}: {len(got)} rows, expected {len(expected)}"
    for i, (g, e) in enumerate(zip(got, expected, strict=True)):
        if g != e:
            pytest.fail(
                f"{what}: row {i} (sorted; name {e[0]!r}) differs:\n{_difference(g, e, columns)}",
                pytrace=False,
            )


def server_rows(table: pa.Table) -> list[tuple[Any, ...]]:
    return list(zip(*(column.to_pylist() for column in table.columns), strict=True))


def _type_name(t: pa.DataType) -> str:
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    return str(t)


# --------------------------------------------------------------------------------------------
# samtools


def run_samtools(*args: str | Path) -> str:
    """samtools' stdout; ``pytest.xfail`` with samtools' stderr if it fails."""
    exe = require_tool("samtools")
    proc = subprocess.run(
        [exe, *map(str, args)], capture_output=True, timeout=CALL_TIMEOUT_S, check=False
    )
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        pytest.xfail(f"samtools {' '.join(map(str, args))} failed: {err}")
    return proc.stdout.decode("utf-8", "surrogateescape")


def faidx_region(path: Path, region: str) -> str:
    """``samtools faidx FILE REGION``: the region's bases, line breaks removed."""
    out = run_samtools("faidx", path, region).splitlines()
    assert out and out[0] == f">{region}", f"samtools faidx {region}: unexpected output {out[:1]}"
    return "".join(out[1:])


# --------------------------------------------------------------------------------------------
# The second server


@dataclass
class SequenceServer:
    uri: str
    proc: subprocess.Popen[bytes]
    stderr_path: Path
    files: dict[str, Path]  # every served data file, by id ("sequence/ce.fa.gz", ...)
    schemas: dict[str, str]  # the schema each id is served in
    table_names: dict[Path, str]  # the contract's table name of each file
    malformed: Path

    def path(self, file_id: str) -> Path:
        return self.files[file_id]

    def table(self, file_id: str) -> str:
        return table_ref(self.table_names[self.files[file_id]], self.schemas[file_id])

    def expected_tables(self, schema: str) -> dict[str, str]:
        """File id -> table name, for the files served in ``schema``."""
        return {i: self.table_names[p] for i, p in self.files.items() if self.schemas[i] == schema}

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc.poll() is None


def _toml_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a TOML basic string


@pytest.fixture(scope="module")
def sequence_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SequenceServer]:
    """``genoflight serve --config CONF <shared>/htslib/sequence <tmp>`` on a free port (as
    conftest's server): ``<tmp>`` holds the GENERATED files and the malformed FASTQ, CONF puts
    each FASTA of ``<shared>/htslib/alignment`` in schema ``alignment``."""
    require_native()
    for d in (SEQUENCE_DIR, ALIGNMENT_DIR):
        if not d.is_dir():
            unavailable(f"shared test data not found at {d} (set GENOFLIGHT_SHARED_DATA)")
    generated_dir = tmp_path_factory.mktemp("sequence-generated")
    for name, text in GENERATED.items():
        (generated_dir / name).write_bytes(compress_for(name, text.encode("utf-8")))
    malformed = generated_dir / MALFORMED_NAME
    malformed.write_text(MALFORMED_FASTQ, encoding="utf-8")

    public = sequence_files(SEQUENCE_DIR) + sequence_files(generated_dir)
    alignment = sequence_files(ALIGNMENT_DIR, "fasta")
    conf_dir = tmp_path_factory.mktemp("sequence-config")
    conf = conf_dir / "genoflight.toml"
    conf.write_text(
        "".join(
            f"[[paths]]\npath = {_toml_string(str(p))}\n"
            f"schema = {_toml_string(ALIGNMENT_SCHEMA)}\n\n"
            for p in alignment
        ),
        encoding="utf-8",
    )

    files: dict[str, Path] = {}
    schemas: dict[str, str] = {}
    for p in public:
        file_id = _generated_id(p.name) if p.parent == generated_dir else _file_id(p)
        files[file_id], schemas[file_id] = p, "public"
    for p in alignment:
        files[_file_id(p)], schemas[_file_id(p)] = p, ALIGNMENT_SCHEMA
    assert len(files) == len(public) + len(alignment), "two served files share an id"

    host = "127.0.0.1"
    port = free_port(host)
    log_dir = tmp_path_factory.mktemp("sequence-server-logs")
    proc, stderr_path = start_server(
        ["--config", str(conf), str(SEQUENCE_DIR), str(generated_dir)],
        host=host,
        port=port,
        log_dir=log_dir,
    )
    handle = SequenceServer(
        uri=f"grpc://{host}:{port}",
        proc=proc,
        stderr_path=stderr_path,
        files=files,
        schemas=schemas,
        table_names={
            **expected_sequence_table_names(public),
            **expected_sequence_table_names(alignment),
        },
        malformed=malformed,
    )
    try:
        yield handle
    finally:
        died = proc.poll()
        stop_server(proc)
    if died is not None:
        pytest.fail(
            f"the sequence server died during the tests (exit status {died}); stderr:\n"
            f"{handle.stderr()}",
            pytrace=False,
        )


def _scalar(server: SequenceServer, sql: str) -> Any:
    table = flight_sql_query(server.uri, sql)
    assert table.num_rows == 1, f"{sql}: expected one row, got {table.num_rows}"
    return table.column(0)[0].as_py()


def _query_all(server: SequenceServer, file_id: str) -> pa.Table:
    columns = load(server.path(file_id)).columns
    return flight_sql_query(
        server.uri, f"SELECT {_select_list(columns)} FROM {server.table(file_id)}"
    )


# --------------------------------------------------------------------------------------------
# The parsers and generated files themselves (no server)


def test_manifest_matches_directories() -> None:
    for d in (SEQUENCE_DIR, ALIGNMENT_DIR):
        if not d.is_dir():
            pytest.skip(f"no shared data at {d}")
    on_disk = sequence_files(SEQUENCE_DIR) + sequence_files(ALIGNMENT_DIR, "fasta")
    assert sorted(on_disk) == SHARED_FILES, "MANIFEST.tsv and the directories disagree"


def test_table_names_follow_the_naming_contract() -> None:
    if not SEQUENCE_DIR.is_dir() or not ALIGNMENT_DIR.is_dir():
        pytest.skip(f"no shared data at {SEQUENCE_DIR.parent}")
    public = {
        p.name: n for p, n in expected_sequence_table_names(sequence_files(SEQUENCE_DIR)).items()
    }
    assert public == {
        "ce.fa.gz": "ce",
        "faidx_ex1.fq.gz": "faidx_ex1",
        "fastqs.fq": "fastqs",
        "r1.fq": "r1",
        "r2.fq": "r2",
    }, "index files (.fai, .gzi) and the README are no tables"
    alignment = {
        p.name: n
        for p, n in expected_sequence_table_names(sequence_files(ALIGNMENT_DIR, "fasta")).items()
    }
    assert alignment["ce.fa"] == "ce"
    assert alignment["mpileup.ref.fa"] == "mpileup_ref"
    assert alignment["toy.fa"] == "toy"
    generated = {p.name: n for p, n in expected_sequence_table_names(map(Path, GENERATED)).items()}
    assert generated["gen_fasta_bgz.fasta.bgz"] == "gen_fasta_bgz"
    assert generated["gen_fastq_gz.fastq.gz"] == "gen_fastq_gz"
    assert strip_sequence_suffix(MALFORMED_NAME) == ("malformed_reads", ".fq")


def test_generated_files_parse_as_the_contract_says(tmp_path: Path) -> None:
    """The parsers above, on the generated corner cases, against values spelled out here."""
    for name, text in GENERATED.items():
        path = tmp_path / name
        path.write_bytes(compress_for(name, text.encode("utf-8")))
        rows = load(path).rows
        if sequence_kind(name) == "fasta":
            assert rows == (
                ("gen_chr1", "first contig, mixed case", "ACGTNacgtnACGTAC"),
                ("gen_empty", "a record without sequence lines", ""),
                ("gen_chr2", None, "GGGGCCCCAAAATTTTGGCC"),
                ("gen_chr3", "description after a tab\twith a tab inside", "acgtRYKMSWbdhvN"),
            ), name
        else:
            assert rows == (
                ("gen_r1", "first read", "ACGTACGTAC", "IIIIIHHHGG"),
                ("gen_r2", None, "ACGTACGTACGT", "@@@++++@+@+@"),
                ("gen_r3", "BC:Z:ACGT\tRG:Z:x", "NNNNacgt", "!\"#$%&'("),
            ), name


def test_bgzf_writer_writes_bgzf(tmp_path: Path) -> None:
    data = GENERATED_FASTA.encode() * 5000  # more than one 0xff00-byte block
    packed = bgzf_compress(data)
    assert packed.endswith(BGZF_EOF)
    assert gzip.decompress(packed) == data
    offset, blocks = 0, 0
    while offset < len(packed):
        assert packed[offset : offset + 4] == b"\x1f\x8b\x08\x04"
        assert packed[offset + 12 : offset + 16] == b"BC\x02\x00"
        offset += struct.unpack_from("<H", packed, offset + 16)[0] + 1
        blocks += 1
    assert offset == len(packed) and blocks > 2


def test_malformed_fastq_is_malformed_for_the_parser_too(tmp_path: Path) -> None:
    path = tmp_path / MALFORMED_NAME
    path.write_text(MALFORMED_FASTQ, encoding="utf-8")
    with pytest.raises(SequenceFileError, match=r"line (8|9)\b"):
        parse_fastq(_text_lines(path))


def test_wrapped_fastq_records_need_more_than_four_lines() -> None:
    """fastqs.fq: the wrapped records are there, and the parser reads MANIFEST's count."""
    path = SEQUENCE_DIR / "fastqs.fq"
    if path not in MANIFEST_RECORDS:
        pytest.skip(f"{path} not in MANIFEST.tsv")
    rows = load(path).rows
    assert len(rows) == MANIFEST_RECORDS[path]
    assert sum(1 for _ in _text_lines(path)) > 4 * len(rows)
    assert any(q[0] in "@+" for *_, q in rows), "no quality starting with '@'/'+'"
    qualities = "".join(q for *_, q in rows)
    assert chr(33) in qualities and chr(33 + 93) in qualities, "PHRED 0..93 not all there"


# --------------------------------------------------------------------------------------------
# Naming, listing, schema


def _listed_tables(server: SequenceServer, schema: str) -> set[str]:
    conn = adbc_connect(server.uri)
    try:
        rows = (
            conn.adbc_get_objects(
                depth="tables", catalog_filter="genoflight", db_schema_filter=schema
            )
            .read_all()
            .to_pylist()
        )
    finally:
        conn.close()
    return {
        tbl["table_name"]
        for cat in rows
        for sch in cat["catalog_db_schemas"] or []
        if sch["db_schema_name"] == schema
        for tbl in sch["db_schema_tables"] or []
    }


@pytest.mark.parametrize("schema", ["public", ALIGNMENT_SCHEMA])
def test_tables_are_listed_under_their_contract_names(
    sequence_server: SequenceServer, schema: str
) -> None:
    listed = _listed_tables(sequence_server, schema)
    expected = sequence_server.expected_tables(schema)
    missing = {i: name for i, name in expected.items() if name not in listed}
    assert not missing, f"files not served under their names: {missing}; listed {sorted(listed)}"
    extra = listed - set(expected.values())
    assert not extra, f"unexpected tables in {schema} (index files? the README?): {sorted(extra)}"


@pytest.mark.parametrize("file_id", IDS)
def test_table_schema(sequence_server: SequenceServer, file_id: str) -> None:
    path = sequence_server.path(file_id)
    kind = sequence_kind(path.name)
    conn = adbc_connect(sequence_server.uri)
    try:
        schema = conn.adbc_get_table_schema(
            sequence_server.table_names[path], db_schema_filter=sequence_server.schemas[file_id]
        )
    finally:
        conn.close()
    assert tuple(schema.names) == COLUMNS[kind], (
        f"{file_id}: columns {schema.names}, expected {list(COLUMNS[kind])} (no positional ones)"
    )
    assert {f.name: _type_name(f.type) for f in schema} == dict.fromkeys(COLUMNS[kind], "string")


# --------------------------------------------------------------------------------------------
# Contents


@pytest.mark.parametrize("file_id", FASTA_IDS)
def test_fasta_record_count_matches_grep(sequence_server: SequenceServer, file_id: str) -> None:
    path = sequence_server.path(file_id)
    counted = fasta_header_count(path)
    assert counted == len(load(path).rows)
    if path in MANIFEST_RECORDS:
        assert counted == MANIFEST_RECORDS[path], (
            f"{file_id}: grep -c '^>' gives {counted}, MANIFEST.tsv says {MANIFEST_RECORDS[path]}"
        )
    got = _scalar(sequence_server, f"SELECT count(*) FROM {sequence_server.table(file_id)}")
    assert got == counted


@pytest.mark.parametrize("file_id", FASTQ_IDS)
def test_fastq_record_count_matches_file_and_manifest(
    sequence_server: SequenceServer, file_id: str
) -> None:
    path = sequence_server.path(file_id)
    counted = len(load(path).rows)
    if path in MANIFEST_RECORDS:
        assert counted == MANIFEST_RECORDS[path], (
            f"{file_id}: {counted} records here, MANIFEST.tsv says {MANIFEST_RECORDS[path]}"
        )
    got = _scalar(sequence_server, f"SELECT count(*) FROM {sequence_server.table(file_id)}")
    assert got == counted


@pytest.mark.parametrize("file_id", FASTA_IDS)
def test_fasta_fields_match_the_file(sequence_server: SequenceServer, file_id: str) -> None:
    seqs = load(sequence_server.path(file_id))
    table = _query_all(sequence_server, file_id)
    assert tuple(table.column_names) == seqs.columns
    _compare_rows(server_rows(table), seqs.rows, seqs.columns, file_id)


@pytest.mark.parametrize("file_id", FASTQ_IDS)
def test_fastq_fields_match_the_file(sequence_server: SequenceServer, file_id: str) -> None:
    seqs = load(sequence_server.path(file_id))
    table = _query_all(sequence_server, file_id)
    assert tuple(table.column_names) == seqs.columns
    _compare_rows(server_rows(table), seqs.rows, seqs.columns, file_id)


@pytest.mark.parametrize("file_id", IDS)
def test_rows_come_in_file_order(sequence_server: SequenceServer, file_id: str) -> None:
    """A plain scan (no ORDER BY, no computed column) returns the records in file order."""
    seqs = load(sequence_server.path(file_id))
    table = flight_sql_query(
        sequence_server.uri, f"SELECT name, description FROM {sequence_server.table(file_id)}"
    )
    got = server_rows(table)
    expected = [row[:2] for row in seqs.rows]
    assert got == expected, f"{file_id}: records not in file order"


def test_sub_sequence_matches_samtools_faidx(sequence_server: SequenceServer) -> None:
    """``substr(sequence, a, b - a + 1)`` = ``samtools faidx ce.fa.gz name:a-b`` (BGZF + .gzi),
    for a window across line breaks in the longest record."""
    file_id = "sequence/ce.fa.gz"
    if file_id not in sequence_server.files:
        pytest.skip(f"{file_id} is not served")
    path = sequence_server.path(file_id)
    name, _, sequence = max(load(path).rows, key=lambda r: len(r[2]))
    a = len(sequence) // 3 + 7
    b = a + 1234
    region = f"{name}:{a}-{b}"
    expected = faidx_region(path, region)
    assert expected == sequence[a - 1 : b], f"samtools faidx {region} disagrees with the file"
    conn = adbc_connect(sequence_server.uri)
    try:
        with conn.cursor() as cur:
            cur.execute(
                f"SELECT substr(sequence, {a}, {b - a + 1}) AS part, length(sequence) AS n "
                f"FROM {sequence_server.table(file_id)} WHERE name = {_sql_string(name)}"
            )
            rows = cur.fetchall()
    finally:
        conn.close()
    assert len(rows) == 1, f"{name}: {len(rows)} rows"
    part, n = rows[0]
    assert n == len(sequence)
    assert part == expected, _difference((part,), (expected,), ["substr"])


@pytest.mark.parametrize("file_id", FAI_IDS)
def test_lengths_match_the_fai(sequence_server: SequenceServer, file_id: str) -> None:
    path = sequence_server.path(file_id)
    fai = read_fai(path)
    from_file = [(name, len(seq)) for name, _, seq in load(path).rows]
    assert from_file == fai, f"{path.name}.fai disagrees with the file"
    conn = adbc_connect(sequence_server.uri)
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT name, length(sequence) FROM {sequence_server.table(file_id)}")
            got = [tuple(row) for row in cur.fetchall()]
    finally:
        conn.close()
    # length() is a computed column: the plan may repartition, so compare ignoring order.
    assert sorted(got) == sorted(fai)


# --------------------------------------------------------------------------------------------
# A malformed FASTQ


def _assert_server_answers(server: SequenceServer) -> None:
    path = SEQUENCE_DIR / "r1.fq"
    n = _scalar(server, f"SELECT count(*) FROM {server.table(_file_id(path))}")
    assert n == len(load(path).rows)
    assert server.alive(), f"server died; stderr:\n{server.stderr()}"


def test_malformed_fastq_is_still_registered(sequence_server: SequenceServer) -> None:
    assert "malformed_reads" in _listed_tables(sequence_server, "public")


@pytest.mark.parametrize(
    "select",
    ["SELECT * FROM {t}", "SELECT name, quality_scores FROM {t}", "SELECT count(*) FROM {t}"],
)
def test_malformed_fastq_error_names_file_and_line(
    sequence_server: SequenceServer, select: str
) -> None:
    table = table_ref(sequence_server.table_names[sequence_server.malformed])
    message = flight_sql_error(sequence_server.uri, select.format(t=table))
    assert MALFORMED_NAME in message, message
    # Line numbers only after the word "line": the temporary path may hold digits too.
    named = {int(n) for n in re.findall(r"\bline\s*:?\s*(\d+)", message, re.IGNORECASE)}
    assert named, f"no line named in: {message}"
    assert named & set(MALFORMED_LINES), (
        f"lines {sorted(named)} named, expected one of {MALFORMED_LINES}: {message}"
    )
    _assert_server_answers(sequence_server)


def _regions(name: str, length: int) -> list[str]:
    """Regions as samtools writes them: inside, across the end (clamped), a start only, the
    whole sequence."""
    a = max(1, length // 2 - 5)
    return [
        f"{name}:{a}-{a + 60}",
        f"{name}:{max(1, length - 3)}-{length + 50}",
        f"{name}:{a}",
        name,
    ]


@pytest.mark.parametrize("file_id", FAI_IDS)
def test_sequence_function_matches_samtools_faidx(
    sequence_server: SequenceServer, file_id: str
) -> None:
    """``sequence('<fasta>', region)`` reads through the .fai (and .gzi) what ``samtools faidx``
    prints, for every indexed FASTA; the 4-argument form gives the same."""
    path = sequence_server.path(file_id)
    table = _sql_string(sequence_server.table(file_id))
    for name, length in read_fai(path)[:3]:
        for region in _regions(name, length):
            expected = faidx_region(path, region)
            got = _scalar(
                sequence_server, f"SELECT sequence FROM sequence({table}, {_sql_string(region)})"
            )
            assert got == expected, f"{file_id} {region}: {_short(got)} != {_short(expected)}"
        a = max(1, length // 3)
        b = min(length, a + 99)
        args = f"{table}, {_sql_string(name)}, {a}, {b}"
        sql = f'SELECT name, start, "end", sequence FROM sequence({args})'
        got_row = flight_sql_query(sequence_server.uri, sql).to_pylist()
        assert got_row == [
            {"name": name, "start": a, "end": b, "sequence": faidx_region(path, f"{name}:{a}-{b}")}
        ]
    plan = physical_plan(
        sequence_server.uri, f"SELECT * FROM sequence({table}, {_sql_string(name)})"
    )
    assert "via index" in plan, plan


def test_sequence_function_errors_name_the_problem(sequence_server: SequenceServer) -> None:
    file_id = FAI_IDS[0]
    table = _sql_string(sequence_server.table(file_id))
    cases = [
        (
            f"SELECT * FROM sequence({table}, 'no_such_sequence')",
            "no sequence named 'no_such_sequence'",
        ),
        (f"SELECT * FROM sequence({table}, 'x', 0, 5)", "start must be at least 1"),
        (f"SELECT * FROM sequence({table}, 'x', 9, 5)", "before start"),
        ("SELECT * FROM sequence('no_such_table', 'x')", "not found"),
    ]
    for sql, message in cases:
        err = flight_sql_error(sequence_server.uri, sql)
        assert "sequence()" in err and message in err, f"{sql}: {err}"
    # The server keeps serving.
    assert _scalar(sequence_server, "SELECT 1") == 1
