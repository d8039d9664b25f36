"""BAM, CRAM and SAM tables against ``samtools view``, through a real Flight SQL server.

Every record's fields are compared with what samtools prints (``*``/``0``/``=``
mapped to NULL / the record's own chromosome), tags included; region queries
on an indexed BAM are compared with ``samtools view FILE REGION``.
"""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _support import (
    REPO,
    SHARED_DATA,
    adbc_connect,
    make_bench_data,
    physical_plan,
    require_native,
    require_tool,
    sanitize,
)
from conftest import free_port, start_server, stop_server

ALIGNMENT_DIR = SHARED_DATA / "htslib" / "alignment"
FILES = sorted(p for p in ALIGNMENT_DIR.glob("*") if p.suffix in {".bam", ".cram", ".sam"})
# CRAM references, as MANIFEST.tsv gives them; the server finds them itself
# among the served FASTAs (by @SQ names, lengths and MD5).
REFERENCES = {"range.cram": "ce.fa", "7.quickcheck.cram30.ok.cram": "mpileup.ref.fa"}
FASTAS = sorted({ALIGNMENT_DIR / r for r in REFERENCES.values()})


def table_name(path: Path) -> str:
    stem = path.name.rsplit(".", 1)[0]
    # A CRAM beside a BAM of the same stem gets its suffix appended.
    twin = path.suffix == ".cram" and (path.parent / f"{stem}.bam").exists()
    return sanitize(f"{stem}_cram" if twin else stem)


def keeps(path: Path, tag: str) -> bool:
    """htslib regenerates MD and NM when it decodes a CRAM (they are not stored);
    genoflight serves the CRAM's stored tags only."""
    return not (path.suffix == ".cram" and tag in {"MD", "NM"})


def view_args(path: Path) -> list[str]:
    reference = REFERENCES.get(path.name)
    return ["view", *(["-T", str(ALIGNMENT_DIR / reference)] if reference else []), str(path)]


@pytest.fixture(scope="module")
def uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_native()
    require_tool("samtools")
    port = free_port()
    proc, _ = start_server(
        [str(p) for p in [*FILES, *FASTAS]],
        host="127.0.0.1",
        port=port,
        log_dir=tmp_path_factory.mktemp("alignment-server"),
    )
    try:
        yield f"grpc://127.0.0.1:{port}"
    finally:
        stop_server(proc)


def query(uri: str, sql: str) -> list[tuple[Any, ...]]:
    with adbc_connect(uri) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return [tuple(r) for r in cur.fetchall()]


def samtools(*args: str) -> list[list[str]]:
    out = subprocess.run(["samtools", *args], capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def none_if(value: str, missing: str) -> str | None:
    return None if value == missing else value


def expected_row(f: list[str]) -> tuple[Any, ...]:
    chrom = none_if(f[2], "*")
    mate = {"=": chrom, "*": None}.get(f[6], f[6])
    return (
        none_if(f[0], "*"),
        int(f[1]),
        chrom,
        None if f[3] == "0" else int(f[3]),
        int(f[4]),
        none_if(f[5], "*"),
        mate,
        None if f[7] == "0" else int(f[7]),
        int(f[8]),
        none_if(f[9], "*"),
        none_if(f[10], "*"),
    )


def comparable(value: str) -> Any:
    """A tag value as data: numbers (and B-array elements) by value, whatever their
    SAM type letter or float formatting; everything else as text."""
    try:
        return round(float(value), 4)
    except ValueError:
        pass
    subtype, _, items = value.partition(",")
    if items and subtype in {"c", "C", "s", "S", "i", "I", "f"}:
        return (subtype, *(round(float(x), 4) for x in items.split(",")))
    return value


COLUMNS = (
    "name, flags, chrom, start, mapping_quality, cigar, mate_chrom, mate_start, "
    "template_length, sequence, quality_scores"
)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_fields_equal_samtools_view(uri: str, path: Path) -> None:
    expected = sorted((expected_row(f) for f in samtools(*view_args(path))), key=repr)
    got = sorted(query(uri, f'SELECT {COLUMNS} FROM "{table_name(path)}"'), key=repr)
    assert len(got) == len(expected)
    assert got == expected


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_tags_equal_samtools_view(uri: str, path: Path) -> None:
    def tags(pairs: list[tuple[str, str]]) -> list[tuple[str, Any]]:
        return sorted(((k, comparable(v)) for k, v in pairs), key=repr)

    expected = sorted(
        (
            (
                none_if(f[0], "*"),
                int(f[1]),
                None if f[3] == "0" else int(f[3]),
                tags([(t[:2], t.split(":", 2)[2]) for t in f[11:] if keeps(path, t[:2])]),
            )
            for f in samtools(*view_args(path))
        ),
        key=repr,
    )
    rows = query(uri, f'SELECT name, flags, start, tags FROM "{table_name(path)}"')
    got = sorted(((n, fl, st, tags(list(t or []))) for n, fl, st, t in rows), key=repr)
    assert got == expected


def test_mapping_quality_filter_equals_samtools_q(uri: str) -> None:
    path = ALIGNMENT_DIR / "ex1.bam"
    expected = int(subprocess.check_output(["samtools", "view", "-c", "-q", "30", str(path)]))
    got = query(uri, 'SELECT count(*) FROM "ex1" WHERE mapping_quality >= 30')[0][0]
    assert got == expected


def test_region_query_uses_the_index_and_matches_samtools(uri: str) -> None:
    path = ALIGNMENT_DIR / "ex1.bam"
    chrom, a, b = "chr1", 100, 500
    expected = sorted(
        (f[0], int(f[3]))
        for f in samtools("view", str(path), f"{chrom}:{a}-{b}")
        if a <= int(f[3]) <= b
    )
    sql = f"SELECT name, start FROM \"ex1\" WHERE chrom = '{chrom}' AND start BETWEEN {a} AND {b}"
    assert sorted(query(uri, sql)) == expected
    plan = "\n".join(str(r) for r in query(uri, f"EXPLAIN {sql}"))
    assert "via index" in plan, plan


# make_data.py's small BAM (400k reads, ~18 MB): large enough to be cut into partitions.
SMALL_DIR = REPO / "bench" / "out" / "small"


@pytest.fixture(scope="module")
def reads(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    require_native()
    for tool in ("samtools", "minimap2", "wgsim"):
        require_tool(tool)
    bam = make_bench_data(SMALL_DIR, "bam") / "reads.bam"
    port = free_port()
    proc, _ = start_server(
        [str(bam)], host="127.0.0.1", port=port, log_dir=tmp_path_factory.mktemp("reads-server")
    )
    try:
        yield f"grpc://127.0.0.1:{port}", bam
    finally:
        stop_server(proc)


def test_partitioned_scan_reads_every_record_once(reads: tuple[str, Path]) -> None:
    """Partitions cut at index positions read each record exactly once, unmapped ones included."""
    uri, bam = reads
    sql = "SELECT name, flags FROM reads"
    if (os.cpu_count() or 1) >= 2:
        plan = physical_plan(uri, sql)
        assert "partitions=" in plan, f"a whole-file scan of an indexed BAM is not split:\n{plan}"
    expected = Counter((f[0], int(f[1])) for f in samtools("view", str(bam)))
    got = Counter(query(uri, sql))
    assert got == expected


# SQL predicate -> samtools view options selecting the same records.
RECORD_FILTERS = [
    ("mapping_quality >= 30 AND flags & 4 = 0", ["-q", "30", "-F", "4"]),
    ("(flags & 16) != 0", ["-f", "16"]),
    ("flags & 3 = 1", ["-f", "1", "-F", "2"]),
    ("mapping_quality BETWEEN 1 AND 20", ["-e", "mapq >= 1 && mapq <= 20"]),
    ("60 > mapping_quality AND (flags & 4) = 0", ["-F", "4", "-e", "mapq < 60"]),
]


@pytest.mark.parametrize(("where", "args"), RECORD_FILTERS, ids=[w for w, _ in RECORD_FILTERS])
def test_record_filters_are_checked_early_and_match_samtools(
    reads: tuple[str, Path], where: str, args: list[str]
) -> None:
    uri, bam = reads
    sql = f"SELECT count(*) FROM reads WHERE {where}"
    assert "record_filter=[" in physical_plan(uri, sql)
    expected = int(subprocess.check_output(["samtools", "view", "-c", *args, str(bam)]))
    assert query(uri, sql)[0][0] == expected


# Tags as typed columns: (file, tag specs, SQL type each is compared as).
TAGGED = {
    "range_tagged": (
        "range.bam",
        {"NM": "BIGINT", "MD": "VARCHAR", "X0:i": "BIGINT", "XA": "VARCHAR"},
    ),
    "mpileup_tagged": ("mpileup.1.bam", {"MQ": "BIGINT", "RG": "VARCHAR", "XT:A": "VARCHAR"}),
    "auxf_tagged": (
        "auxf#values.sam",
        {"F0:f": "FLOAT", "I0:i": "BIGINT", "I1": "VARCHAR", "BC": "VARCHAR"},
    ),
}


@pytest.fixture(scope="module")
def tagged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from _servers import serve, write_config

    work = tmp_path_factory.mktemp("tagged")
    tables = [
        {"name": name, "path": ALIGNMENT_DIR / file, "tags": list(specs)}
        for name, (file, specs) in TAGGED.items()
    ]
    tables.append({"name": "bad_tag", "path": ALIGNMENT_DIR / "range.bam", "tags": ["NMX"]})
    with serve(write_config(work / "genoflight.toml", {"tables": tables}), work) as served:
        yield served.uri


@pytest.mark.parametrize("name", sorted(TAGGED))
def test_tag_columns_are_typed_and_equal_the_tags_map(tagged: str, name: str) -> None:
    """Each promoted tag equals the `tags` map's value (itself checked against samtools view
    above), NULL where a record lacks the tag, with the type its spec gives."""
    file, specs = TAGGED[name]
    sam = samtools("view", str(ALIGNMENT_DIR / file))
    for spec, sql_type in specs.items():
        tag = spec.split(":")[0]
        expected_present = sum(any(f.startswith(f"{tag}:") for f in r[11:]) for r in sam)
        sql = (
            f'SELECT count("{tag}") AS present, sum(CASE WHEN CAST("{tag}" AS {sql_type}) '
            f"IS DISTINCT FROM CAST(tags['{tag}'] AS {sql_type}) THEN 1 ELSE 0 END) AS differ "
            f"FROM {name}"
        )
        got = query(tagged, sql)[0]
        assert got == (expected_present, 0), f"{name}.{tag}: {got}"
    with adbc_connect(tagged) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT * FROM {name} LIMIT 0")
        schema = cur.fetch_arrow_table().schema
    arrow_types = {"BIGINT": "int64", "VARCHAR": "string", "FLOAT": "double"}
    for spec, sql_type in specs.items():
        assert str(schema.field(spec.split(":")[0]).type) == arrow_types[sql_type], spec


def test_a_bad_tag_spec_is_a_clear_error(tagged: str) -> None:
    from _support import flight_sql_error

    err = flight_sql_error(tagged, "SELECT * FROM bad_tag")
    assert "NMX" in err and "two-character" in err, err
    assert query(tagged, "SELECT count(*) FROM range_tagged")[0][0] > 0
