"""``genoflight annotate`` (issue 8): output files as Ensembl VEP 115 writes them.

Every shared input is annotated against the shared Ensembl cache the way
``<shared>/vep/expected/README.md`` ran VEP (``--everything`` for ``<stem>.everything.vcf``;
none, ``--everything``, ``--everything --pick`` for ``<stem>.{default,everything,pick}.txt``) and
compared with VEP's file:

- VCF: the ``CSQ`` header line, the input's header lines, every record (all columns but INFO
  byte for byte), every CSQ entry and every field of it, in VEP's order.
- Tab: the ``##`` header lines (but the run-specific ones: program line, time, paths, command
  line), the column line, every row and field in VEP's order; also ``--everything`` on the
  RefSeq, merged and Sereal caches (``<stem>.<cache>.everything.txt``).

Entries and rows are compared in VEP's order (MotifFeature entries too: VEP lists them by the
funcgen ``dbID`` as text). Each comparison prints its numbers.

Also: ``.vcf.gz`` is BGZF with a tabix index that bcftools and tabix read (``+split-vep`` lists
the CSQ fields); Parquet holds the annotate_vep table; ``annotate_vep_csq()`` through Flight SQL
gives the same CSQ strings; bad input is one ``genoflight: error:`` line and exit status 2.
"""

from __future__ import annotations

import gzip
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from _servers import Served, serve, write_config
from _support import (
    SHARED_DATA,
    flight_sql_error,
    flight_sql_query,
    genoflight_cli,
    require_native,
    require_tool,
    run_bcftools,
    unavailable,
)

VEP_DIR = SHARED_DATA / "vep"
INPUT_DIR = VEP_DIR / "input"
EXPECTED_DIR = VEP_DIR / "expected"
CACHE = VEP_DIR / "cache" / "homo_sapiens" / "84_GRCh38"

# Every input with expected outputs but windows.vcf, which has no header line (VEP reads it as
# a headerless VCF on chr1, absent from the cache: no records; genoflight wants a VCF header).
STEMS = [
    "idt_test",
    "test",
    "test2",
    "test3",
    "test4",
    "test5",
    "test6",
    "testMT",
    "test_no_trans",
    "test_not_ordered",
]
TAB_KINDS = {"default": [], "everything": ["--everything"], "pick": ["--everything", "--pick"]}
# `--tab --everything` on the other caches: expected/<stem>.<name>.everything.txt.
OTHER_CACHES = {
    "refseq": VEP_DIR / "cache" / "homo_sapiens_refseq" / "84_GRCh38",
    "merged": VEP_DIR / "cache" / "homo_sapiens_merged" / "84_GRCh38",
    "sereal": VEP_DIR / "cache" / "sereal" / "homo_sapiens" / "84_GRCh38",
}
OTHER_CASES = [
    (stem, name)
    for name in OTHER_CACHES
    for stem in ("test", "testMT")
    if (EXPECTED_DIR / f"{stem}.{name}.everything.txt").exists()
]

# Header lines naming the program, time, paths or command line: VEP's and ours differ there.
RUN_SPECIFIC_TAB = (
    "## ENSEMBL VARIANT EFFECT PREDICTOR",
    "## genoflight annotate ",
    "## Output produced at",
    "## Using ",
    "## VEP command-line:",
    "## genoflight command-line:",
)


def vcf_path(stem: str) -> Path:
    for suffix in (".vcf", ".vcf.gz"):
        p = INPUT_DIR / f"{stem}{suffix}"
        if p.exists():
            return p
    raise AssertionError(f"no input for {stem}")


def read_lines(path: Path) -> tuple[list[str], list[str]]:
    """(header lines, data lines) of a VCF or VEP tab file."""
    opener = gzip.open if path.suffix == ".gz" else open
    header: list[str] = []
    data: list[str] = []
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            (header if line.startswith("#") else data).append(line)
    return header, data


def run_annotate(*args: str | Path) -> subprocess.CompletedProcess:
    proc = genoflight_cli("annotate", *args)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every annotation the comparisons read, run once (in parallel) for the module."""
    require_native()
    if not (CACHE.is_dir() and EXPECTED_DIR.is_dir()):
        unavailable(f"shared VEP data not found at {VEP_DIR} (set GENOFLIGHT_SHARED_DATA)")
    tmp = tmp_path_factory.mktemp("annotate")
    jobs: dict[str, list[str | Path]] = {}
    for stem in STEMS:
        out = tmp / f"{stem}.everything.vcf"
        jobs[out.name] = [vcf_path(stem), "--cache", CACHE, "--everything", "-o", out]
        for kind, flags in TAB_KINDS.items():
            out = tmp / f"{stem}.{kind}.txt"
            jobs[out.name] = [vcf_path(stem), "--cache", CACHE, *flags, "-o", out]
    for stem, name in OTHER_CASES:
        out = tmp / f"{stem}.{name}.everything.txt"
        jobs[out.name] = [vcf_path(stem), "--cache", OTHER_CACHES[name], "--everything", "-o", out]
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda a: run_annotate(*a), jobs.values()))
    return {name: tmp / name for name in jobs}


def split_csq(record: str) -> tuple[list[str], list[list[str]]]:
    """(the record's columns without INFO's CSQ, its CSQ entries' fields)."""
    cols = record.split("\t")
    info = cols[7].split(";")
    csq = [kv[4:] for kv in info if kv.startswith("CSQ=")]
    rest = [kv for kv in info if not kv.startswith("CSQ=")]
    cols[7] = ";".join(rest) or "."
    entries = [e.split("|") for e in csq[0].split(",")] if csq else []
    return cols, entries


@pytest.mark.parametrize("stem", STEMS)
def test_vcf_is_veps(outputs: dict[str, Path], stem: str) -> None:
    want_header, want = read_lines(EXPECTED_DIR / f"{stem}.everything.vcf")
    got_header, got = read_lines(outputs[f"{stem}.everything.vcf"])
    csq_line = [h for h in want_header if h.startswith("##INFO=<ID=CSQ,")]
    assert [h for h in got_header if h.startswith("##INFO=<ID=CSQ,")] == csq_line
    fields = csq_line[0].split("Format: ")[1].removesuffix('">').split("|")
    # The input's header lines (but an earlier CSQ definition and VEP lines, which VEP drops),
    # then VEP's; ours say genoflight where VEP's say VEP.
    input_header, _ = read_lines(vcf_path(stem))
    kept = [h for h in input_header[:-1] if not h.startswith("##VEP") and "ID=CSQ," not in h]
    assert got_header[: len(kept)] == kept
    assert got_header[-1] == want_header[-1]
    assert any(h.startswith('##VEP="v115" genoflight=') for h in got_header)
    assert any(h.startswith("##genoflight-command-line='genoflight annotate") for h in got_header)

    assert len(got) == len(want), "records"
    records = entries = fields_same = fields_total = 0
    for w, g in zip(want, got, strict=True):
        w_cols, w_entries = split_csq(w)
        g_cols, g_entries = split_csq(g)
        assert g_cols == w_cols, f"record differs:\nVEP  {w[:300]}\nours {g[:300]}"
        records += 1
        assert len(g_entries) == len(w_entries), f"CSQ entries of {w_cols[:5]}"
        for we, ge in zip(w_entries, g_entries, strict=True):
            assert len(ge) == len(fields)
            same = sum(a == b for a, b in zip(we, ge, strict=False))
            fields_same += same
            fields_total += len(fields)
            entries += same == len(fields)
            assert ge == we, f"{w_cols[:5]} entry differs:\nVEP  {we}\nours {ge}"
    total = sum(len(split_csq(w)[1]) for w in want)
    print(
        f"\n{stem}.everything.vcf: records {records}/{len(want)}, CSQ entries {entries}/{total}, "
        f"fields {fields_same}/{fields_total}"
    )


TAB_CASES = [(stem, kind) for stem in STEMS for kind in TAB_KINDS]
TAB_CASES += [(stem, f"{name}.everything") for stem, name in OTHER_CASES]


@pytest.mark.parametrize(("stem", "kind"), TAB_CASES, ids=[f"{s}.{k}" for s, k in TAB_CASES])
def test_tab_is_veps(outputs: dict[str, Path], stem: str, kind: str) -> None:
    want_header, want = read_lines(EXPECTED_DIR / f"{stem}.{kind}.txt")
    got_header, got = read_lines(outputs[f"{stem}.{kind}.txt"])

    def comparable(header: list[str]) -> list[str]:
        return [h for h in header if not h.startswith(RUN_SPECIFIC_TAB)]

    assert comparable(got_header) == comparable(want_header)
    columns = want_header[-1][1:].split("\t")
    w_rows = [r.split("\t") for r in want]
    g_rows = [r.split("\t") for r in got]
    assert len(g_rows) == len(w_rows), "rows"
    same = sum(a == b for a, b in zip(w_rows, g_rows, strict=False))
    fields = sum(
        x == y for a, b in zip(w_rows, g_rows, strict=False) for x, y in zip(a, b, strict=False)
    )
    print(
        f"\n{stem}.{kind}.txt: rows {same}/{len(w_rows)}, "
        f"fields {fields}/{len(w_rows) * len(columns)}"
    )
    for w, g in zip(w_rows, g_rows, strict=True):
        assert g == w, f"row differs:\nVEP  {w}\nours {g}"


def test_vcf_gz_is_bgzf_with_tabix_index(tmp_path: Path) -> None:
    require_native()
    require_tool("tabix")
    out = tmp_path / "test.vcf.gz"
    run_annotate(vcf_path("test"), "--cache", CACHE, "--everything", "-o", out)
    assert (tmp_path / "test.vcf.gz.tbi").is_file()
    assert len(run_bcftools("view", "-H", out).splitlines()) == 132
    # The same records as the plain VCF.
    plain = tmp_path / "test.vcf"
    run_annotate(vcf_path("test"), "--cache", CACHE, "--everything", "-o", plain)
    assert read_lines(out)[1] == read_lines(plain)[1]
    region = subprocess.run(
        ["tabix", str(out), "21:25607440-25607460"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert region and all(r.split("\t")[0] == "21" for r in region)
    # bcftools +split-vep reads the CSQ header and entries.
    listed = run_bcftools("+split-vep", "-l", out).splitlines()
    header = next(h for h in read_lines(out)[0] if h.startswith("##INFO=<ID=CSQ,"))
    fields = header.split("Format: ")[1].removesuffix('">').split("|")
    assert [line.split("\t")[1] for line in listed] == fields
    consequences = run_bcftools(
        "+split-vep",
        "-d",
        "-f",
        "%ID\t%Consequence\t%Feature\n",
        "-i",
        'Feature="ENST00000307301"',
        out,
    ).splitlines()
    assert "rs138935322\tsynonymous_variant\tENST00000307301" in consequences


def test_unsorted_vcf_gz_is_written_and_the_missing_index_said(tmp_path: Path) -> None:
    require_native()
    out = tmp_path / "unsorted.vcf.gz"
    proc = run_annotate(vcf_path("test_not_ordered"), "--cache", CACHE, "-o", out)
    assert "not indexed" in proc.stderr and "bcftools sort" in proc.stderr
    assert "left out, as Ensembl VEP leaves them out: 1 (7)" in proc.stderr
    assert not (tmp_path / "unsorted.vcf.gz.tbi").exists()
    assert len(read_lines(out)[1]) == 70


def test_stdout_and_parquet(tmp_path: Path) -> None:
    require_native()
    import pyarrow.parquet as pq

    proc = run_annotate(vcf_path("test3"), "--cache", CACHE, "--everything")
    _, want = read_lines(EXPECTED_DIR / "test3.everything.vcf")
    assert [line for line in proc.stdout.splitlines() if not line.startswith("#")] == want
    proc = run_annotate(vcf_path("test3"), "--cache", CACHE, "--format", "tab")
    assert proc.stdout.splitlines()[-1] == read_lines(EXPECTED_DIR / "test3.default.txt")[1][-1]

    out = tmp_path / "test3.parquet"
    run_annotate(vcf_path("test3"), "--cache", CACHE, "--everything", "-o", out)
    table = pq.read_table(out)
    header, rows = read_lines(EXPECTED_DIR / "test3.everything.txt")
    columns = header[-1][1:].split("\t")
    assert {"chrom", "start", "ref", "alt", *columns} <= set(table.column_names)
    got = [[("-" if r[c] is None else str(r[c])) for c in columns] for r in table.to_pylist()]
    assert got == [r.split("\t") for r in rows]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    require_native()
    if not CACHE.is_dir():
        unavailable(f"shared VEP cache not found at {CACHE} (set GENOFLIGHT_SHARED_DATA)")
    tmp = tmp_path_factory.mktemp("vep_csq")
    tables = [{"name": f"v_{s.lower()}", "path": str(vcf_path(s))} for s in ("test", "test3")]
    config = write_config(
        tmp / "vep.toml", {"tables": tables, "vep_caches": [{"name": "vep", "path": str(CACHE)}]}
    )
    with serve(config, tmp) as served:
        yield served


def test_sql_form_gives_the_same_csq(server: Served, outputs: dict[str, Path]) -> None:
    table = flight_sql_query(
        server.uri, "SELECT id, csq FROM annotate_vep_csq('v_test', 'vep', 'everything=true')"
    )
    _, ours = read_lines(outputs["test.everything.vcf"])
    want = []
    for record in ours:
        info = record.split("\t")[7].split(";")
        want.append(next((kv[4:] for kv in info if kv.startswith("CSQ=")), None))
    assert table.column("csq").to_pylist() == want
    description = (table.schema.field("csq").metadata or {}).get(b"description", b"").decode()
    header = next(h for h in read_lines(outputs["test.everything.vcf"])[0] if "ID=CSQ," in h)
    assert description and description in header
    # One row per record, NULL when VEP writes none (a non-variant record).
    rows = flight_sql_query(
        server.uri, "SELECT count(*) AS n, count(csq) AS c FROM annotate_vep_csq('v_test3', 'vep')"
    ).to_pylist()
    assert rows == [{"n": 4, "c": 4}]


def test_sql_bad_input_is_a_clear_error(server: Served) -> None:
    err = flight_sql_error(server.uri, "SELECT * FROM annotate_vep_csq('v_test', 'vep', 'bogus=1')")
    assert "unknown option 'bogus'" in err
    err = flight_sql_error(server.uri, "SELECT * FROM annotate_vep_csq('v_test', 'no_cache')")
    assert "no VEP cache named 'no_cache'" in err
    err = flight_sql_error(server.uri, "SELECT * FROM annotate_vep_csq('v_test')")
    assert "usage" in err


def assert_one_error_line(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("genoflight: error:"), proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def test_bad_input_is_one_error_line(tmp_path: Path) -> None:
    require_native()
    vcf = vcf_path("test3")
    assert_one_error_line(
        genoflight_cli("annotate", vcf, "--cache", tmp_path / "none"),
        "--cache",
        "no such directory",
    )
    assert_one_error_line(
        genoflight_cli("annotate", vcf, "--cache", tmp_path), str(tmp_path), "not a VEP cache"
    )
    assert_one_error_line(
        genoflight_cli("annotate", tmp_path / "missing.vcf", "--cache", CACHE), "no such file"
    )
    text = tmp_path / "notes.vcf"
    text.write_text("hello\n")
    assert_one_error_line(genoflight_cli("annotate", text, "--cache", CACHE), "not a VCF file")
    broken = tmp_path / "broken.vcf"
    broken.write_text(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n21\tx\n"
    )
    assert_one_error_line(genoflight_cli("annotate", broken, "--cache", CACHE), "line 3")
    assert_one_error_line(
        genoflight_cli("annotate", vcf, "--cache", CACHE, "--bogus"), "unrecognized", "--bogus"
    )
    assert_one_error_line(
        genoflight_cli("annotate", vcf, "--cache", CACHE, "--pick", "--per-gene"), "pick"
    )
    assert_one_error_line(
        genoflight_cli("annotate", vcf, "--cache", CACHE, "-o", tmp_path / "x.bam"),
        "unknown output type",
    )
    assert_one_error_line(
        genoflight_cli("annotate", vcf, "--cache", CACHE, "-o", tmp_path / "no" / "x.vcf"),
        "does not exist",
    )
