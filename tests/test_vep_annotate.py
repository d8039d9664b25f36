"""annotate_vep() (issue 8) through a real server, against Ensembl VEP 115's own output.

The server serves every input VCF of ``<shared>/vep/input`` as a table ``v_<stem>`` and the
shared caches as ``[[vep_caches]]`` (``vep``: homo_sapiens/84_GRCh38; ``vep_refseq``,
``vep_merged``, ``vep_sereal``). For each input, ``annotate_vep('v_<stem>', 'vep' [, options])``
is compared with ``<shared>/vep/expected/<stem>.<kind>.txt`` (VEP's ``--tab`` output; see that
directory's README for the exact command lines):

- ``default``: ``--tab``; ``everything``: ``--tab --everything`` (``everything=true``);
  ``pick``: ``--tab --everything --pick`` (``everything=true, pick=true``).

Rows are matched on (Uploaded_variation, Allele, Feature): the set of rows must be VEP's, and
every field is compared as VEP writes it (``-`` for empty; our NULL). Each comparison prints the
per-field agreement; every field of VEP's output must agree on every row (HGVSc/HGVSp are not
in these files: VEP disabled them, having no FASTA).
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _servers import Served, serve, write_config
from _support import SHARED_DATA, flight_sql_error, flight_sql_query, unavailable

VEP_DIR = SHARED_DATA / "vep"
INPUT_DIR = VEP_DIR / "input"
EXPECTED_DIR = VEP_DIR / "expected"
CACHES = {
    "vep": VEP_DIR / "cache" / "homo_sapiens" / "84_GRCh38",
    "vep_refseq": VEP_DIR / "cache" / "homo_sapiens_refseq" / "84_GRCh38",
    "vep_merged": VEP_DIR / "cache" / "homo_sapiens_merged" / "84_GRCh38",
    "vep_sereal": VEP_DIR / "cache" / "sereal" / "homo_sapiens" / "84_GRCh38",
}

# Inputs compared on the Ensembl cache (every stem with expected outputs).
STEMS = [
    "test",
    "test2",
    "test3",
    "test4",
    "test5",
    "test6",
    "idt_test",
    "test_no_trans",
    "test_not_ordered",
    "testMT",
]
# Not served: windows.vcf has no header line (VEP reads it as a headerless VCF, on chr1, which
# the cache lacks: no rows); records on contigs absent from the cache are covered by
# test_not_ordered (chr1 records, no rows) and testMT (MT, only in the RefSeq cache).
KINDS = {
    "default": [],
    "everything": ["everything=true"],
    "pick": ["everything=true", "pick=true"],
}

KEY = ("Uploaded_variation", "Allele", "Feature")


def vcf_path(stem: str) -> Path | None:
    for suffix in (".vcf", ".vcf.gz"):
        p = INPUT_DIR / f"{stem}{suffix}"
        if p.exists():
            return p
    return None


def read_vep_tab(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """VEP's --tab output: ``## `` header lines, ``#Uploaded_variation ...``, rows."""
    opener = gzip.open if path.suffix == ".gz" else open
    columns: list[str] = []
    rows: list[dict[str, str]] = []
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("##"):
                continue
            if line.startswith("#"):
                columns = line[1:].split("\t")
                continue
            if line:
                rows.append(dict(zip(columns, line.split("\t"), strict=True)))
    return columns, rows


def as_vep(value: Any) -> str:
    return "-" if value is None else str(value)


def keyed(rows: list[dict[str, str]]) -> dict[tuple[str, ...], dict[str, str]]:
    out: dict[tuple[str, ...], dict[str, str]] = {}
    for r in rows:
        out[tuple(r[k] for k in KEY)] = r
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if not (CACHES["vep"].is_dir() and EXPECTED_DIR.is_dir()):
        unavailable(f"shared VEP data not found at {VEP_DIR} (set GENOFLIGHT_SHARED_DATA)")
    tmp = tmp_path_factory.mktemp("vep")
    tables = []
    for stem in STEMS:
        path = vcf_path(stem)
        if path is not None:
            tables.append({"name": f"v_{stem.lower()}", "path": str(path)})
    # The same records with 0-based starts: annotate_vep reads the table's coordinate system.
    tables.append({"name": "v_test_z", "path": str(vcf_path("test")), "zero_based": True})
    caches = [{"name": n, "path": str(p)} for n, p in CACHES.items() if p.is_dir()]
    config = write_config(tmp / "vep.toml", {"tables": tables, "vep_caches": caches})
    with serve(config, tmp) as served:
        yield served


_results: dict[str, tuple[dict, dict]] = {}


def expected_path(stem: str, kind: str, cache: str) -> Path:
    if cache == "vep":
        return EXPECTED_DIR / f"{stem}.{kind}.txt"
    return EXPECTED_DIR / f"{stem}.{cache.removeprefix('vep_')}.{kind}.txt"


def annotate(server: Served, stem: str, kind: str, cache: str = "vep") -> tuple[dict, dict]:
    """(VEP's rows, ours) keyed by (Uploaded_variation, Allele, Feature), computed once."""
    key = f"{stem}.{kind}.{cache}"
    if key not in _results:
        _, want = read_vep_tab(expected_path(stem, kind, cache))
        options = "".join(f", '{o}'" for o in KINDS[kind])
        table = flight_sql_query(
            server.uri,
            f"SELECT * FROM annotate_vep('v_{stem.lower()}', '{cache}'{options})",
        )
        got = [{k: as_vep(v) for k, v in row.items()} for row in table.to_pylist()]
        _results[key] = (keyed(want), keyed(got))
    return _results[key]


def agreement(want: dict, got: dict, field: str) -> tuple[int, int, list[str]]:
    same, total, diffs = 0, 0, []
    for k, w in want.items():
        g = got.get(k)
        if g is None:
            continue
        total += 1
        if w.get(field, "-") == g.get(field, "-"):
            same += 1
        elif len(diffs) < 5:
            diffs.append(f"{k}: VEP {w.get(field)!r} ours {g.get(field)!r}")
    return same, total, diffs


def report(stem: str, kind: str, want: dict, got: dict) -> None:
    fields = list(next(iter(want.values())).keys()) if want else []
    found = sum(1 for k in want if k in got)
    print(f"\n{stem}.{kind}: rows found {found}/{len(want)}, extra {len(set(got) - set(want))}")
    for field in fields:
        same, total, _ = agreement(want, got, field)
        pct = 100.0 * same / total if total else 100.0
        print(f"  {field:22s} {pct:6.2f}% ({same}/{total})")


# (input, output kind, cache): every expected file with its input.
CASES = [
    (stem, kind, cache)
    for stem in STEMS
    for kind in KINDS
    for cache in CACHES
    if vcf_path(stem) is not None and expected_path(stem, kind, cache).exists()
]
CASE_IDS = [f"{s}.{k}" + ("" if c == "vep" else f".{c}") for s, k, c in CASES]


@pytest.mark.parametrize(("stem", "kind", "cache"), CASES, ids=CASE_IDS)
def test_rows_and_exact_fields(server: Served, stem: str, kind: str, cache: str) -> None:
    want, got = annotate(server, stem, kind, cache)
    report(f"{stem}[{cache}]", kind, want, got)
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    assert not missing, f"{len(missing)} of VEP's rows missing, e.g. {missing[:5]}"
    assert not extra, f"{len(extra)} rows VEP does not give, e.g. {extra[:5]}"
    fields = list(next(iter(want.values())).keys()) if want else []
    for field in fields:
        same, total, diffs = agreement(want, got, field)
        assert same == total, f"{field}: {same}/{total} agree; " + "; ".join(diffs)


def test_bad_input_is_a_clear_error(server: Served) -> None:
    err = flight_sql_error(server.uri, "SELECT * FROM annotate_vep('v_test', 'no_such_cache')")
    assert "no VEP cache named 'no_such_cache'" in err
    err = flight_sql_error(server.uri, "SELECT * FROM annotate_vep('no_such_table', 'vep')")
    assert "no_such_table" in err and "not found" in err
    err = flight_sql_error(server.uri, "SELECT * FROM annotate_vep('v_test', 'vep', 'bogus=1')")
    assert "unknown option 'bogus'" in err
    err = flight_sql_error(server.uri, "SELECT * FROM annotate_vep('v_test', 'vep', 'distance=x')")
    assert "distance" in err
    err = flight_sql_error(server.uri, "SELECT * FROM annotate_vep('v_test')")
    assert "usage" in err


def test_options_and_scalar_form(server: Served) -> None:
    everything = annotate(server, "test", "everything")[1]
    canonical = flight_sql_query(
        server.uri,
        'SELECT "Feature", "CANONICAL"'
        " FROM annotate_vep('v_test', 'vep', 'canonical_only=true')"
        " WHERE \"Feature_type\" = 'Transcript'",
    ).to_pylist()
    assert canonical and all(r["CANONICAL"] == "YES" for r in canonical)
    per_gene = flight_sql_query(
        server.uri,
        'SELECT "Uploaded_variation" AS v, "Allele" AS a, "Gene" AS g, count(*) AS n'
        " FROM annotate_vep('v_test', 'vep', 'per_gene=true')"
        " WHERE \"Feature_type\" = 'Transcript' GROUP BY 1, 2, 3",
    ).to_pylist()
    assert per_gene and all(r["n"] == 1 for r in per_gene)
    # distance=0: no up/downstream rows
    near = flight_sql_query(
        server.uri,
        "SELECT count(*) AS n FROM annotate_vep('v_test', 'vep', 'distance=0')"
        " WHERE \"Consequence\" LIKE '%stream_gene_variant%'",
    ).to_pylist()
    assert near[0]["n"] == 0
    # The scalar form gives the most severe consequence of each variant.
    scalar = flight_sql_query(
        server.uri,
        "SELECT id, annotate_vep_consequence(chrom, start, ref, alt, 'vep') AS c FROM v_test",
    ).to_pylist()
    worst: dict[str, str] = {}
    order = [
        "missense_variant", "splice_region_variant", "synonymous_variant",
        "5_prime_UTR_variant", "3_prime_UTR_variant", "non_coding_transcript_exon_variant",
        "intron_variant", "NMD_transcript_variant", "non_coding_transcript_variant",
        "upstream_gene_variant", "downstream_gene_variant", "intergenic_variant",
    ]  # fmt: skip
    for (name, _, _), row in everything.items():
        if row["Feature_type"] not in ("Transcript", "-"):
            continue
        for term in row["Consequence"].split(","):
            if term in order and (
                name not in worst or order.index(term) < order.index(worst[name])
            ):
                worst[name] = term
    checked = 0
    for r in scalar:
        if r["id"] in worst and r["c"] in order:
            assert r["c"] == worst[r["id"]], r
            checked += 1
    assert checked > 50
    # A 0-based table of the same records gives the same rows.
    zero = flight_sql_query(
        server.uri, "SELECT * FROM annotate_vep('v_test_z', 'vep', 'everything=true')"
    ).to_pylist()
    zero_rows = keyed([{k: as_vep(v) for k, v in r.items() if k != "start"} for r in zero])
    assert zero_rows.keys() == everything.keys()
    for k, row in zero_rows.items():
        assert row["Consequence"] == everything[k]["Consequence"], k
        assert row["Location"] == everything[k]["Location"], k
    # The input's own columns come first.
    cols = flight_sql_query(
        server.uri, "SELECT * FROM annotate_vep('v_test', 'vep') LIMIT 1"
    ).column_names
    assert cols[:6] == ["chrom", "start", "end", "id", "ref", "alt"]
    assert "Consequence" in cols and "TRANSCRIPTION_FACTORS" in cols
