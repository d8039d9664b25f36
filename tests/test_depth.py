"""``depth()`` against ``samtools depth``, position by position, through a real Flight SQL server.

Every BAM/SAM in the shared alignment directory, the VEP test BAM and make_data.py's small BAM
are compared with ``samtools depth`` under matching flags (``-q``, ``-Q``, ``-J``, ``-g``/``-G``,
``-a``/``-aa``, ``-r``), as per-base rows and as run-length blocks (which must be the maximal runs
of samtools' positions). Region predicates on the output are pushed into the index and must give
what filtering the full result gives; bad input must fail clearly and leave the server serving.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _support import REPO, SHARED_DATA, adbc_connect, require_native, require_tool, sanitize
from conftest import free_port, start_server, stop_server

ALIGNMENT_DIR = SHARED_DATA / "htslib" / "alignment"
SHARED_FILES = sorted(p for p in ALIGNMENT_DIR.glob("*") if p.suffix in {".bam", ".sam"})
VEP_BAM = SHARED_DATA / "vep" / "custom" / "bam_edit.bam"
MAKE_DATA = SHARED_DATA.parent / "bench" / "make_data.py"
SMALL_DIR = REPO / "bench" / "out" / "small"

# CRAMs and the references they decode against (found by the server among the served FASTAs).
CRAMS = {"range.cram": "ce.fa", "7.quickcheck.cram30.ok.cram": "mpileup.ref.fa"}

# Genomes small enough to compare every position of -a / -aa output.
SMALL_GENOMES = {"ex1.bam", "toy.sam", "range.bam", "auxf#values.sam"}


def table_name(path: Path) -> str:
    return sanitize(path.name.rsplit(".", 1)[0])


def small_bam() -> Path:
    """make_data.py's small BAM (made once into bench/out/small, reused by the benchmark)."""
    bam = SMALL_DIR / "reads.bam"
    if not (bam.exists() and Path(f"{bam}.bai").exists()):
        require_tool("minimap2")
        require_tool("wgsim")
        proc = subprocess.run(
            [sys.executable, str(MAKE_DATA), str(SMALL_DIR), "--scale", "small", "--only", "bam"],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
    return bam


class Data:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.small = small_bam()
        self.files = [*SHARED_FILES, VEP_BAM, self.small]
        self.unindexed = root / "ex1_noindex.bam"
        shutil.copy(ALIGNMENT_DIR / "ex1.bam", self.unindexed)
        self.truncated = root / "truncated.bam"
        data = self.small.read_bytes()
        self.truncated.write_bytes(data[: len(data) // 3])
        self.unsorted = root / "byname.bam"
        subprocess.run(
            ["samtools", "sort", "-n", "-o", str(self.unsorted), str(ALIGNMENT_DIR / "ex1.bam")],
            check=True,
            capture_output=True,
        )
        self.csv = root / "notreads.csv"
        self.csv.write_text("a,b\n1,2\n", encoding="utf-8")
        # A copy (a file is served once), its index copied after it so it is current.
        zero = root / "ex1z.bam"
        shutil.copy(ALIGNMENT_DIR / "ex1.bam", zero)
        shutil.copy(ALIGNMENT_DIR / "ex1.bam.bai", root / "ex1z.bam.bai")
        self.config = root / "genoflight.toml"
        self.config.write_text(
            f'[[tables]]\nname = "ex1_zero"\npath = "{zero}"\nzero_based = true\n',
            encoding="utf-8",
        )


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Data:
    require_native()
    require_tool("samtools")
    return Data(tmp_path_factory.mktemp("depth-data"))


@pytest.fixture(scope="module")
def uri(data: Data, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    served = [*data.files, data.unindexed, data.truncated, data.unsorted, data.csv]
    served += [ALIGNMENT_DIR / f for pair in CRAMS.items() for f in pair]
    proc, _ = start_server(
        ["--config", str(data.config), *map(str, served)],
        host="127.0.0.1",
        port=port,
        log_dir=tmp_path_factory.mktemp("depth-server"),
    )
    try:
        yield f"grpc://127.0.0.1:{port}"
    finally:
        stop_server(proc)


def arrow(uri: str, sql: str) -> Any:
    with adbc_connect(uri) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetch_arrow_table()


def rows(uri: str, sql: str) -> list[tuple[Any, ...]]:
    table = arrow(uri, sql)
    return list(zip(*(c.to_pylist() for c in table.columns), strict=True))


def samtools_depth(path: Path, *flags: str) -> list[tuple[str, int, int]]:
    table = samtools_table(path, *flags)
    return list(zip(*(c.to_pylist() for c in table.columns), strict=True))


def samtools_table(path: Path, *flags: str) -> Any:
    """``samtools depth`` output as an Arrow table (chrom, pos, depth), in samtools' order."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    out = subprocess.run(
        ["samtools", "depth", *flags, str(path)], capture_output=True, check=True
    ).stdout
    schema = pa.schema([("chrom", pa.string()), ("pos", pa.int64()), ("depth", pa.int32())])
    if not out:
        return schema.empty_table()
    return pacsv.read_csv(
        pa.py_buffer(out),
        read_options=pacsv.ReadOptions(column_names=schema.names),
        parse_options=pacsv.ParseOptions(delimiter="\t", quote_char=False),
        convert_options=pacsv.ConvertOptions(column_types=schema),
    )


def runs_table(table: Any) -> Any:
    """Maximal runs of consecutive positions with one depth: (chrom, start, end, depth)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = table.num_rows
    c = pc.dictionary_encode(table["chrom"]).combine_chunks().indices.to_numpy()
    p = table["pos"].to_numpy()
    d = table["depth"].to_numpy()
    brk = np.ones(n, dtype=bool)
    if n > 1:
        brk[1:] = (c[1:] != c[:-1]) | (p[1:] != p[:-1] + 1) | (d[1:] != d[:-1])
    first = np.flatnonzero(brk)
    last = np.r_[first[1:], n] - 1 if n else first
    return pa.table(
        {
            "chrom": table["chrom"].take(pa.array(first)),
            "start": pa.array(p[first], pa.int64()),
            "end": pa.array(p[last], pa.int64()),
            "depth": pa.array(d[first], pa.int32()),
        }
    )


def runs(positions: list[tuple[str, int, int]]) -> list[tuple[str, int, int, int]]:
    out: list[list[Any]] = []
    for chrom, pos, depth in positions:
        if out and out[-1][0] == chrom and out[-1][2] + 1 == pos and out[-1][3] == depth:
            out[-1][2] = pos
        else:
            out.append([chrom, pos, pos, depth])
    return [tuple(r) for r in out]  # type: ignore[misc]


def assert_same(got: Any, want: Any, what: str) -> None:
    """Equal tables (column values only), sorted by their first two columns."""
    import pyarrow as pa

    keys = [(got.column_names[0], "ascending"), (got.column_names[1], "ascending")]
    got = got.sort_by(keys)
    want = want.sort_by([(want.column_names[i], o) for i, (_, o) in enumerate(keys)])
    assert got.num_rows == want.num_rows, f"{what}: {got.num_rows} rows, samtools {want.num_rows}"
    for g, w in zip(got.columns, want.columns, strict=True):
        g = g.combine_chunks().cast(w.type) if g.num_chunks else pa.array([], w.type)
        w = w.combine_chunks() if w.num_chunks else pa.array([], w.type)
        if not g.equals(w):
            import pyarrow.compute as pc

            diff = pc.indices_nonzero(pc.not_equal(g, w))[0].as_py()
            lo = max(0, diff - 2)
            raise AssertionError(
                f"{what}: first difference at row {diff}:\n"
                f"got  {got.slice(lo, 5).to_pylist()}\nwant {want.slice(lo, 5).to_pylist()}"
            )


def options(opts: str) -> str:
    return "".join(f", '{o}'" for o in opts.split(";") if o)


def check(uri: str, path: Path, sql_opts: str, flags: list[str], table: str | None = None) -> None:
    name = table or table_name(path)
    expected = samtools_table(path, *flags)
    what = f"{path.name} {' '.join(flags)} / {sql_opts}"
    per_base = arrow(
        uri,
        f"SELECT chrom, pos, depth FROM depth('{name}'{options(sql_opts + ';per_base=true')})",
    )
    assert_same(per_base, expected, what + " per base")
    blocks = arrow(
        uri, f"SELECT chrom, start, \"end\", depth FROM depth('{name}'{options(sql_opts)})"
    )
    assert_same(blocks, runs_table(expected), what + " blocks")


# (SQL options separated by ';', samtools depth flags)
CASES = [
    ("", []),
    ("min_base_quality=20", ["-q", "20"]),
    ("min_mapping_quality=30", ["-Q", "30"]),
    ("include_deletions=true", ["-J"]),
    ("include_deletions=true;min_base_quality=13", ["-J", "-q", "13"]),
    ("exclude_flags=+SUPPLEMENTARY|READ2", ["-G", "SUPPLEMENTARY,READ2"]),
    ("include_flags=DUP|QCFAIL", ["-g", "DUP,QCFAIL"]),
    ("include_flags=UNMAP", ["-g", "UNMAP"]),
    ("exclude_flags=0x4", ["-g", "SECONDARY,QCFAIL,DUP"]),
    ("min_mapping_quality=1, include_deletions=yes", ["-Q", "1", "-J"]),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c[0] or "default")
def test_every_file_equals_samtools_depth(
    uri: str, data: Data, case: tuple[str, list[str]]
) -> None:
    sql_opts, flags = case
    for path in data.files:
        check(uri, path, sql_opts, flags)


def cram_table(path: Path) -> str:
    """A CRAM beside a BAM of the same stem is served as ``<stem>_cram``."""
    stem = path.name.rsplit(".", 1)[0]
    return sanitize(f"{stem}_cram" if (path.parent / f"{stem}.bam").exists() else stem)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c[0] or "default")
def test_cram_equals_samtools_depth(uri: str, case: tuple[str, list[str]]) -> None:
    """CRAMs decode against their reference and give samtools depth's numbers."""
    sql_opts, flags = case
    for cram, reference in CRAMS.items():
        path = ALIGNMENT_DIR / cram
        flags_ref = [*flags, "--reference", str(ALIGNMENT_DIR / reference)]
        check(uri, path, sql_opts, flags_ref, table=cram_table(path))


def test_cram_region_option_points_to_where(uri: str) -> None:
    name = cram_table(ALIGNMENT_DIR / "range.cram")
    with pytest.raises(Exception, match="WHERE chrom"):
        arrow(uri, f"SELECT * FROM depth('{name}', 'region=CHROMOSOME_I:1-100')")


@pytest.mark.parametrize(
    "case",
    [
        ("all_positions=true", ["-a"]),
        ("all_positions=all", ["-a", "-a"]),
        ("all_positions=true;min_mapping_quality=255", ["-a", "-Q", "255"]),
        ("all_positions=all;min_base_quality=30;include_deletions=true", ["-aa", "-q", "30", "-J"]),
    ],
    ids=lambda c: c[0],
)
def test_all_positions_equal_samtools_a(uri: str, data: Data, case: tuple[str, list[str]]) -> None:
    sql_opts, flags = case
    for path in data.files:
        if path.name in SMALL_GENOMES or path == data.small:
            check(uri, path, sql_opts, flags)


def first_covered(path: Path) -> tuple[str, int]:
    out = subprocess.run(
        f"samtools depth '{path}' | head -1", shell=True, capture_output=True, text=True, check=True
    ).stdout.split("\t")
    return out[0], int(out[1])


@pytest.mark.parametrize("all_pos", ["", "-a"])
def test_region_option_equals_samtools_r(uri: str, data: Data, all_pos: str) -> None:
    for path in data.files:
        if path.suffix != ".bam":
            continue
        chrom, pos = first_covered(path)
        for a, b in [(pos + 10, pos + 700), (max(1, pos - 50), pos + 3), (pos + 100, None)]:
            region = f"{chrom}:{a}-{b}" if b else f"{chrom}:{a}-"
            flags = ["-r", region] + ([all_pos] if all_pos else [])
            opts = f"region={region}" + (";all_positions=true" if all_pos else "")
            if b is None and all_pos and path.name not in SMALL_GENOMES and path != data.small:
                continue  # a whole human chromosome of zeros
            check(uri, path, opts, flags)


@pytest.mark.parametrize("partitions", [2, 3, 7])
def test_partitions_split_contigs_without_changing_results(
    uri: str, data: Data, partitions: int
) -> None:
    for path in [data.small, ALIGNMENT_DIR / "ex1.bam", ALIGNMENT_DIR / "range.bam"]:
        check(uri, path, f"partitions={partitions}", [])
        check(
            uri,
            path,
            f"partitions={partitions};all_positions=true;min_base_quality=25",
            ["-a", "-q", "25"],
        )


def test_region_predicates_are_pushed_down_and_exact(uri: str, data: Data) -> None:
    name = table_name(data.small)
    for opts in ["", ", 'all_positions=true'", ", 'min_base_quality=30'"]:
        full = rows(uri, f"SELECT chrom, start, \"end\", depth FROM depth('{name}'{opts})")
        for chrom, a, b in [("ctg1", 1000, 5000), ("ctg2", 777_777, 778_000), ("ctg3", 1, 40)]:
            sql = (
                f"SELECT chrom, start, \"end\", depth FROM depth('{name}'{opts}) "
                f"WHERE chrom = '{chrom}' AND \"end\" >= {a} AND start <= {b}"
            )
            want = sorted(r for r in full if r[0] == chrom and r[2] >= a and r[1] <= b)
            assert sorted(rows(uri, sql)) == want, sql
            inside = sql.replace(f'"end" >= {a} AND start <= {b}', f'start >= {a} AND "end" <= {b}')
            want = sorted(r for r in full if r[0] == chrom and r[1] >= a and r[2] <= b)
            assert sorted(rows(uri, inside)) == want, inside
        per_base = sorted(
            rows(
                uri,
                f"SELECT chrom, pos, depth FROM depth('{name}', 'per_base=true'{opts}) "
                "WHERE chrom = 'ctg2' AND pos BETWEEN 1000 AND 1500",
            )
        )
        want = [
            (c, p, d)
            for c, s, e, d in sorted(full)
            if c == "ctg2"
            for p in range(max(s, 1000), min(e, 1500) + 1)
        ]
        assert per_base == want
    plan = "\n".join(
        str(r[1])
        for r in rows(
            uri, f"EXPLAIN SELECT * FROM depth('{name}') WHERE chrom = 'ctg1' AND start >= 1000"
        )
    )
    assert "regions=[ctg1:1000-" in plan and "via index" in plan, plan


def test_sql_aggregate_from_the_issue(uri: str, data: Data) -> None:
    name = table_name(data.small)
    expected: dict[str, int] = {}
    for chrom, _, depth in samtools_depth(data.small):
        expected[chrom] = expected.get(chrom, 0) + depth
    got = rows(
        uri,
        f"SELECT chrom, sum((\"end\" - start + 1) * depth) AS bases FROM depth('{name}') "
        "WHERE chrom = 'ctg2' GROUP BY chrom",
    )
    assert got == [("ctg2", expected["ctg2"])]
    total = rows(uri, f"SELECT sum((\"end\" - start + 1) * depth) FROM depth('{name}')")[0][0]
    assert total == sum(expected.values())


def test_zero_based_table_gives_half_open_blocks(uri: str) -> None:
    path = ALIGNMENT_DIR / "ex1.bam"
    expected = runs(sorted(samtools_depth(path)))
    got = sorted(rows(uri, "SELECT chrom, start, \"end\", depth FROM depth('ex1_zero')"))
    assert got == sorted((c, s - 1, e, d) for c, s, e, d in expected)
    per_base = sorted(rows(uri, "SELECT chrom, pos, depth FROM depth('ex1_zero', 'per_base=true')"))
    assert per_base == sorted((c, p - 1, d) for c, p, d in samtools_depth(path))
    pushed = sorted(
        rows(
            uri,
            "SELECT chrom, start, \"end\", depth FROM depth('ex1_zero') "
            "WHERE chrom = 'chr1' AND start >= 200 AND \"end\" <= 400",
        )
    )
    assert pushed == [r for r in got if r[0] == "chr1" and r[1] >= 200 and r[2] <= 400]
    meta = arrow(uri, "SELECT * FROM depth('ex1_zero') LIMIT 1").schema.metadata
    assert meta[b"bio.coordinate_system_zero_based"] == b"true"
    meta = arrow(uri, "SELECT * FROM depth('ex1') LIMIT 1").schema.metadata
    assert meta[b"bio.coordinate_system_zero_based"] == b"false"


def test_limit_stops_early(uri: str, data: Data) -> None:
    name = table_name(data.small)
    assert len(rows(uri, f"SELECT * FROM depth('{name}', 'per_base=true') LIMIT 7")) == 7
    assert len(rows(uri, f"SELECT * FROM depth('{name}') LIMIT 3")) == 3
    assert rows(uri, f"SELECT count(*) FROM depth('{name}', 'region=ctg1:1-100', 'per_base=true')")


def test_unsorted_input_is_a_clear_error(uri: str, data: Data) -> None:
    with pytest.raises(Exception, match="not sorted by coordinate"):
        rows(uri, f"SELECT count(*) FROM depth('{table_name(data.unsorted)}')")


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT * FROM depth('ex1_noindex', 'region=chr1:1-100')", "needs an index"),
        ("SELECT * FROM depth('toy', 'region=ref:1-10')", "needs an index"),
        ("SELECT * FROM depth('ex1', 'min_depth=3')", "unknown option 'min_depth'"),
        ("SELECT * FROM depth('ex1', 'exclude_flags=UNMAPPED')", "unknown flag 'UNMAPPED'"),
        ("SELECT * FROM depth('ex1', 'all_positions=maybe')", "all_positions"),
        ("SELECT * FROM depth('ex1', 'region=chr9:1-5')", "no contig 'chr9'"),
        ("SELECT * FROM depth('ex1', 'min_base_quality=-1')", "must not be negative"),
        ("SELECT * FROM depth('notreads')", "not a BAM/SAM/CRAM alignment table"),
        ("SELECT * FROM depth('no_such_table')", "not found"),
        ("SELECT * FROM depth(42)", "string literal"),
    ],
)
def test_bad_input_is_a_clear_error(uri: str, sql: str, message: str) -> None:
    with pytest.raises(Exception, match=message):
        rows(uri, sql)
    assert rows(uri, "SELECT count(*) FROM depth('ex1')")[0][0] > 0


def test_truncated_bam_is_an_error_and_the_server_keeps_serving(uri: str, data: Data) -> None:
    with pytest.raises(Exception, match=r"truncated\.bam"):
        rows(uri, f"SELECT count(*) FROM depth('{table_name(data.truncated)}')")
    expected = sum(d for _, _, d in samtools_depth(ALIGNMENT_DIR / "ex1.bam"))
    got = rows(uri, "SELECT sum((\"end\" - start + 1) * depth) FROM depth('ex1')")[0][0]
    assert got == expected
