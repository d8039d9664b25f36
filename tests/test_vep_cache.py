"""Ensembl VEP offline caches served as tables, through a real server.

One server (module scope) serves ``<shared>/vep`` as a path (its caches are found and named
``<species>_<version>_<assembly>``; ``custom/`` stays ordinary tables) plus configured caches:
``vep`` (the release-84 Storable cache, so the found copy of that directory is not registered
twice) and three broken copies made here (no info.txt, a truncated Storable region file, a
truncated Sereal region file).

Expectations come from the data itself: object counts from ``<shared>/vep/MANIFEST.tsv``, fields
from Perl's own Storable through the oracle script ``catalog/tests/perl/storable_oracle.pl``
(``model`` mode), known variants from the ``_var.gz`` lines.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
import shutil
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _servers import Served, serve, write_config
from _support import (
    SHARED_DATA,
    flight_sql_error,
    flight_sql_query,
    physical_plan,
    require_tool,
    unavailable,
)

VEP_DIR = SHARED_DATA / "vep"
CACHE_DIR = VEP_DIR / "cache"
MANIFEST = VEP_DIR / "MANIFEST.tsv"
ORACLE = Path(__file__).resolve().parents[1] / "catalog" / "tests" / "perl" / "storable_oracle.pl"
REGION = "25000001-26000000"

# Cache directory (relative to <shared>/vep/cache) -> schema it is served as.
SCHEMAS = {
    "homo_sapiens/84_GRCh38": "vep",
    "homo_sapiens_refseq/84_GRCh38": "homo_sapiens_refseq_84_grch38",
    "homo_sapiens_merged/84_GRCh38": "homo_sapiens_merged_84_grch38",
    # Its natural name is free: the Storable copy is configured as "vep".
    "sereal/homo_sapiens/84_GRCh38": "homo_sapiens_84_grch38",
}
TABLES = ("transcripts", "exons", "translations", "regulatory", "motifs", "variation")


@dataclass
class CacheServer:
    served: Served
    bad: Path

    @property
    def uri(self) -> str:
        return self.served.uri


def scalar(server: CacheServer, sql: str) -> Any:
    table = flight_sql_query(server.uri, sql)
    assert table.num_rows == 1, f"{sql}: {table.num_rows} rows"
    return table.column(0)[0].as_py()


def make_bad_caches(root: Path) -> dict[str, Path]:
    """Three broken copies of the release-84 caches."""
    storable = CACHE_DIR / "homo_sapiens" / "84_GRCh38"
    sereal = CACHE_DIR / "sereal" / "homo_sapiens" / "84_GRCh38"
    noinfo = root / "noinfo" / "homo_sapiens" / "84_GRCh38"
    (noinfo / "21").mkdir(parents=True)
    shutil.copy(storable / "21" / f"{REGION}.gz", noinfo / "21")

    corrupt = root / "corrupt" / "homo_sapiens" / "84_GRCh38"
    (corrupt / "21").mkdir(parents=True)
    (corrupt / "22").mkdir(parents=True)
    shutil.copy(storable / "info.txt", corrupt)
    shutil.copy(storable / "22" / f"{REGION}.gz", corrupt / "22")
    whole = (storable / "21" / f"{REGION}.gz").read_bytes()
    (corrupt / "21" / f"{REGION}.gz").write_bytes(whole[: len(whole) // 2])

    truncated = root / "truncated" / "homo_sapiens" / "84_GRCh38"
    (truncated / "21").mkdir(parents=True)
    shutil.copy(sereal / "info.txt", truncated)
    shutil.copy(sereal / "21" / f"{REGION}_reg.sereal", truncated / "21")
    whole = (sereal / "21" / f"{REGION}.sereal").read_bytes()
    (truncated / "21" / f"{REGION}.sereal").write_bytes(whole[: len(whole) - 1000])
    return {"noinfo": noinfo, "corrupt": corrupt, "truncated": truncated}


# Splits a transcript region file in two at a position, as VEP writes region files: a
# transcript goes into each file its gene overlaps (here: the first file takes those starting
# up to the split, the second those ending past it, so those spanning it are in both).
SPLIT_PERL = r"""
use strict; use warnings; use Storable qw(fd_retrieve nstore_fd);
my ($in, $at, $first, $second) = @ARGV;
open(my $fh, '-|', 'gzip', '-dc', $in) or die "gzip: $!";
my $d = fd_retrieve($fh);
for my $half ([sub { $_[0]{start} <= $at }, $first], [sub { $_[0]{end} > $at }, $second]) {
    my ($keep, $path) = @$half;
    my %part = map { my $c = $_; ($c => [grep { $keep->($_) } @{$d->{$c}}]) } keys %$d;
    open(my $out, '|-', "gzip -c > '$path'") or die "gzip: $!";
    nstore_fd(\%part, $out) or die "nstore_fd: $!";
    close($out) or die "gzip: $!";
}
"""


def split_cache(root: Path, at: int) -> Path | None:
    """The release-84 cache with chr21's transcript file split at ``at``; None without Perl."""
    perl = shutil.which("perl")
    if perl is None:
        return None
    storable = CACHE_DIR / "homo_sapiens" / "84_GRCh38"
    cache = root / "split" / "homo_sapiens" / "84_GRCh38"
    (cache / "21").mkdir(parents=True)
    shutil.copy(storable / "info.txt", cache)
    proc = subprocess.run(
        [
            perl,
            "-e",
            SPLIT_PERL,
            str(storable / "21" / f"{REGION}.gz"),
            str(at),
            str(cache / "21" / f"25000001-{at}.gz"),
            str(cache / "21" / f"{at + 1}-26000000.gz"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return cache if proc.returncode == 0 else None


# Inside MRPL39 (21:25585656-25607517), which spans the split then.
SPLIT_AT = 25_590_000


@pytest.fixture(scope="module")
def cache_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CacheServer]:
    if not CACHE_DIR.is_dir():
        unavailable(f"shared VEP data not found at {CACHE_DIR} (set GENOFLIGHT_SHARED_DATA)")
    work = tmp_path_factory.mktemp("vep-cache")
    bad = make_bad_caches(work / "bad")
    caches = [{"name": "vep", "path": CACHE_DIR / "homo_sapiens" / "84_GRCh38"}]
    caches += [{"name": name, "path": path} for name, path in bad.items()]
    split = split_cache(work, SPLIT_AT)
    if split is not None:
        caches.append({"name": "split", "path": split})
    config = write_config(
        work / "genoflight.toml",
        {"paths": [{"path": VEP_DIR}], "vep_caches": caches},
    )
    with serve(config, work) as served:
        yield CacheServer(served, work / "bad")
        assert served.alive(), f"the server died; stderr:\n{served.stderr()}"


# --------------------------------------------------------------------------------------------
# Expectations from the MANIFEST


def manifest_counts() -> dict[tuple[str, str], int]:
    """(cache directory, transcripts|regulatory|motifs|variation) -> objects, over its files."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    with MANIFEST.open(encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            path = row["path"]
            m = re.match(r"cache/(.+/\d+_[^/]+)/[^/]+/([^/]+)$", path)
            if not m:
                continue
            cache, name = m.groups()
            if not name.endswith((".gz", ".sereal")):
                continue
            records = row["records"]
            if name.endswith("_var.gz") or name == "all_vars.gz":
                counts[cache, "variation"] += int(records)
                continue
            for part in records.split(";"):
                n, what = re.match(r"\s*[^:]+: (\d+) (\w+)", part).groups()
                kind = {
                    "transcripts": "transcripts",
                    "RegulatoryFeature": "regulatory",
                    "MotifFeature": "motifs",
                }[what]
                counts[cache, kind] += int(n)
    return counts


def test_manifest_lists_every_cache() -> None:
    if not MANIFEST.is_file():
        pytest.skip(f"no {MANIFEST}")
    assert {cache for cache, _ in manifest_counts()} == set(SCHEMAS)


@pytest.mark.parametrize("kind", ["transcripts", "regulatory", "motifs", "variation"])
@pytest.mark.parametrize("cache", sorted(SCHEMAS))
def test_counts_match_the_manifest(cache_server: CacheServer, cache: str, kind: str) -> None:
    expected = manifest_counts().get((cache, kind), 0)
    got = scalar(cache_server, f"SELECT count(*) FROM {SCHEMAS[cache]}.{kind}")
    assert got == expected, f"{SCHEMAS[cache]}.{kind}: {got} rows, MANIFEST says {expected}"


def test_every_cache_has_its_six_tables(cache_server: CacheServer) -> None:
    rows = flight_sql_query(
        cache_server.uri,
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_catalog = 'genoflight'",
    ).to_pylist()
    tables = defaultdict(set)
    for r in rows:
        tables[r["table_schema"]].add(r["table_name"])
    for schema in [*SCHEMAS.values(), "noinfo", "corrupt", "truncated"]:
        assert tables[schema] == set(TABLES), f"{schema}: {sorted(tables[schema])}"
    # custom/ stays ordinary tables; nothing inside a cache (info.txt, region files) is one.
    assert "bam_edit" in tables["public"], sorted(tables["public"])
    assert not any(re.match(r"\d+_\d+|info|all_vars", t) for t in tables["public"])


def test_lrg_and_mt_chromosomes(cache_server: CacheServer) -> None:
    assert scalar(cache_server, "SELECT count(*) FROM vep.transcripts WHERE chrom = 'LRG_485'") == 1
    refseq = SCHEMAS["homo_sapiens_refseq/84_GRCh38"]
    mt = scalar(cache_server, f"SELECT count(*) FROM {refseq}.transcripts WHERE chrom = 'MT'")
    assert mt == 1263
    merged = SCHEMAS["homo_sapiens_merged/84_GRCh38"]
    sources = flight_sql_query(
        cache_server.uri,
        f"SELECT DISTINCT substr(stable_id, 1, 3) AS p FROM {merged}.transcripts ORDER BY p",
    ).column(0)
    # A merged cache holds Ensembl (ENST) and RefSeq (NM_/NR_/XM_...) transcripts.
    prefixes = set(sources.to_pylist())
    assert "ENS" in prefixes and prefixes & {"NM_", "NR_", "XM_", "XR_"}, prefixes


# --------------------------------------------------------------------------------------------
# Field by field against Perl's Storable


def oracle_model(path: Path) -> dict[str, Any]:
    perl = require_tool("perl")
    if not ORACLE.is_file():
        pytest.skip(f"the Perl oracle is not at {ORACLE}")
    proc = subprocess.run(
        [perl, str(ORACLE), "model", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if proc.returncode != 0:
        pytest.skip(f"the Perl oracle failed (Storable/JSON::PP missing?): {proc.stderr[-500:]}")
    return json.loads(proc.stdout)


def test_transcripts_equal_perl_storable(cache_server: CacheServer) -> None:
    model = oracle_model(CACHE_DIR / "homo_sapiens" / "84_GRCh38" / "21" / f"{REGION}.gz")
    expected = {t["stable_id"]: t for t in model["transcripts"]}
    assert len(expected) == 68
    rows = flight_sql_query(
        cache_server.uri,
        'SELECT chrom, start, "end", strand, stable_id, version, biotype, is_canonical, '
        "gene_stable_id, gene_symbol, gene_hgnc_id, ccds, cdna_coding_start, cdna_coding_end, "
        "exon_count, translateable_seq, peptide, codon_table FROM vep.transcripts "
        "WHERE chrom = '21'",
    ).to_pylist()
    assert {r["stable_id"] for r in rows} == set(expected)
    for r in rows:
        e = expected[r["stable_id"]]
        want = {
            "chrom": e["chrom"],
            "start": e["start"],
            "end": e["end"],
            "strand": e["strand"],
            "stable_id": e["stable_id"],
            "version": e["version"],
            "biotype": e["biotype"],
            "is_canonical": e["is_canonical"],
            "gene_stable_id": e["gene_stable_id"],
            "gene_symbol": e["gene_symbol"],
            "gene_hgnc_id": e["gene_hgnc_id"],
            "ccds": e["ccds"],
            "cdna_coding_start": e["cdna_coding_start"],
            "cdna_coding_end": e["cdna_coding_end"],
            "exon_count": len(e["exons"]),
            "translateable_seq": e["translateable_seq"],
            "peptide": e["peptide"],
            "codon_table": e["codon_table"],
        }
        assert r == want, f"{r['stable_id']}: server {r}\n perl {want}"


def test_exons_equal_perl_storable(cache_server: CacheServer) -> None:
    model = oracle_model(CACHE_DIR / "homo_sapiens" / "84_GRCh38" / "21" / f"{REGION}.gz")
    expected = sorted(
        (t["stable_id"], i + 1, x["stable_id"], x["start"], x["end"], x["phase"], x["end_phase"])
        for t in model["transcripts"]
        for i, x in enumerate(t["exons"])
    )
    rows = flight_sql_query(
        cache_server.uri,
        'SELECT transcript_id, exon_number, stable_id, start, "end", phase, end_phase '
        "FROM vep.exons WHERE chrom = '21'",
    ).to_pylist()
    got = sorted(tuple(r.values()) for r in rows)
    assert got == expected


def test_regulatory_and_motifs_equal_perl_storable(cache_server: CacheServer) -> None:
    model = oracle_model(CACHE_DIR / "homo_sapiens" / "84_GRCh38" / "21" / f"{REGION}_reg.gz")
    want_reg = sorted(
        (r["stable_id"], r["start"], r["end"], r["feature_type"], r["epigenome_count"])
        for r in model["regulatory"]
    )
    got_reg = flight_sql_query(
        cache_server.uri,
        'SELECT stable_id, start, "end", feature_type, epigenome_count FROM vep.regulatory',
    ).to_pylist()
    assert sorted(tuple(r.values()) for r in got_reg) == want_reg
    want_motifs = sorted(
        (m["start"], m["end"], m["strand"], m["stable_id"], m["score"]) for m in model["motifs"]
    )
    got_motifs = flight_sql_query(
        cache_server.uri, 'SELECT start, "end", strand, stable_id, score FROM vep.motifs'
    ).to_pylist()
    assert sorted(tuple(r.values()) for r in got_motifs) == want_motifs


# --------------------------------------------------------------------------------------------
# Known variants


def var_lines(path: Path) -> list[list[str]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [line.rstrip("\n").split(" ") for line in f if line.strip()]


def test_variation_rows_equal_the_var_file(cache_server: CacheServer) -> None:
    cols = next(
        line.rstrip("\n").split("\t")[1].split(",")
        for line in (CACHE_DIR / "homo_sapiens" / "84_GRCh38" / "info.txt").open()
        if line.startswith("variation_cols\t")
    )
    lines = var_lines(CACHE_DIR / "homo_sapiens" / "84_GRCh38" / "21" / "8000001-9000000_var.gz")
    rows = flight_sql_query(
        cache_server.uri,
        "SELECT * FROM vep.variation WHERE chrom = '21' AND start < 10000000",
    ).to_pylist()
    assert len(rows) == len(lines) == 19762

    def expected(fields: list[str]) -> dict[str, Any]:
        v = {
            c: (fields[i] if i < len(fields) and fields[i] not in ("", ".") else None)
            for i, c in enumerate(cols)
        }
        start = int(v["start"])
        out: dict[str, Any] = {"chrom": "21", "start": start, "end": int(v["end"] or start)}
        for c in cols:
            if c in ("start", "end"):
                continue
            if c in ("failed", "somatic", "phenotype_or_disease"):
                out[c] = int(v[c] or 0)
            elif c == "strand":
                out[c] = int(v[c] or 1)
            elif c == "minor_allele_freq":
                out[c] = float(v[c]) if v[c] is not None else None
            else:
                out[c] = v[c]
        return out

    key = lambda r: (r["start"], r["variation_name"] or "")  # noqa: E731
    want = sorted((expected(f) for f in lines), key=key)
    assert sorted(rows, key=key) == want


def test_tabix_variation_uses_its_index(cache_server: CacheServer) -> None:
    schema = SCHEMAS["sereal/homo_sapiens/84_GRCh38"]
    where = "chrom = '21' AND start >= 25500000 AND start <= 25600000"
    n = scalar(cache_server, f"SELECT count(*) FROM {schema}.variation WHERE {where}")
    lines = 0
    with gzip.open(CACHE_DIR / "sereal/homo_sapiens/84_GRCh38/21/all_vars.gz", "rt") as f:
        for line in f:
            start = int(line.split("\t")[4])
            lines += 25_500_000 <= start <= 25_600_000
    assert n == lines > 0
    plan = physical_plan(cache_server.uri, f"SELECT count(*) FROM {schema}.variation WHERE {where}")
    assert "VepCacheExec" in plan and "21/all_vars.gz" in plan and "regions=[21:" in plan, plan


# --------------------------------------------------------------------------------------------
# Region pruning


def test_region_predicates_prune_region_files(cache_server: CacheServer) -> None:
    plan = physical_plan(
        cache_server.uri,
        "SELECT stable_id FROM vep.transcripts WHERE chrom = '22' AND start > 25500000",
    )
    assert "cache=" in plan and "table=transcripts" in plan, plan
    assert f"22/{REGION}.gz" in plan and "21/" not in plan and "LRG_485" not in plan, plan
    full = physical_plan(cache_server.uri, "SELECT stable_id FROM vep.transcripts")
    assert f"21/{REGION}.gz" in full and f"22/{REGION}.gz" in full, full
    pruned = scalar(
        cache_server,
        "SELECT count(*) FROM vep.transcripts WHERE chrom = '22' AND start > 25500000",
    )
    filtered = scalar(
        cache_server,
        "SELECT count(*) FROM (SELECT chrom, start FROM vep.transcripts) t "
        "WHERE concat(chrom, '') = '22' AND start + 0 > 25500000",
    )
    assert pruned == filtered > 0


def test_features_spanning_region_files_come_out_once(cache_server: CacheServer) -> None:
    tables = flight_sql_query(
        cache_server.uri, "SELECT table_schema FROM information_schema.tables"
    ).column(0)
    if "split" not in tables.to_pylist():
        pytest.skip("perl with Storable is needed to split a region file")
    spanning = scalar(
        cache_server,
        f'SELECT count(*) FROM vep.transcripts WHERE start <= {SPLIT_AT} AND "end" > {SPLIT_AT}',
    )
    assert spanning > 0, "no transcript spans the split: the test would prove nothing"
    # Both files hold the spanning transcripts; each is one row.
    assert scalar(cache_server, "SELECT count(*) FROM split.transcripts") == 68
    assert scalar(cache_server, "SELECT count(DISTINCT stable_id) FROM split.transcripts") == 68
    assert scalar(cache_server, "SELECT count(*) FROM split.exons") == scalar(
        cache_server, "SELECT count(*) FROM vep.exons WHERE chrom = '21'"
    )
    # A window in the second file only still finds transcripts starting in the first.
    where = f"chrom = '21' AND start <= {SPLIT_AT + 5000} AND \"end\" >= {SPLIT_AT + 1}"
    sql = "SELECT stable_id FROM {} WHERE " + where + " ORDER BY stable_id"
    got = flight_sql_query(cache_server.uri, sql.format("split.transcripts")).column(0)
    want = flight_sql_query(cache_server.uri, sql.format("vep.transcripts")).column(0)
    assert got.to_pylist() == want.to_pylist() and len(want) > 0
    plan = physical_plan(cache_server.uri, sql.format("split.transcripts"))
    assert f"21/{SPLIT_AT + 1}-26000000.gz" in plan and f"25000001-{SPLIT_AT}.gz" not in plan, plan


# --------------------------------------------------------------------------------------------
# Bad input: clear errors naming the file, and the server keeps serving


def test_missing_info_txt(cache_server: CacheServer) -> None:
    message = flight_sql_error(cache_server.uri, "SELECT count(*) FROM noinfo.transcripts")
    assert "info.txt" in message and "noinfo" in message, message
    assert scalar(cache_server, "SELECT count(*) FROM vep.transcripts") > 0


def test_corrupt_storable_file_names_itself(cache_server: CacheServer) -> None:
    message = flight_sql_error(cache_server.uri, "SELECT * FROM corrupt.transcripts")
    assert f"corrupt/homo_sapiens/84_GRCh38/21/{REGION}.gz" in message, message
    # The other region file of the same cache still serves.
    assert scalar(cache_server, "SELECT count(*) FROM corrupt.transcripts WHERE chrom = '22'") == 97


def test_truncated_sereal_file_names_itself(cache_server: CacheServer) -> None:
    message = flight_sql_error(cache_server.uri, "SELECT count(*) FROM truncated.transcripts")
    assert f"truncated/homo_sapiens/84_GRCh38/21/{REGION}.sereal" in message, message
    assert "Sereal" in message, message
    assert scalar(cache_server, "SELECT count(*) FROM truncated.regulatory") == 200


def test_unknown_cache_is_a_clear_error(cache_server: CacheServer) -> None:
    message = flight_sql_error(cache_server.uri, "SELECT * FROM nosuchcache.transcripts")
    assert "nosuchcache" in message, message


def test_server_survives_bad_caches(cache_server: CacheServer) -> None:
    for sql in (
        "SELECT * FROM corrupt.exons",
        "SELECT * FROM truncated.translations",
        "SELECT * FROM noinfo.variation",
    ):
        flight_sql_error(cache_server.uri, sql)
    assert cache_server.served.alive()
    assert scalar(cache_server, "SELECT count(*) FROM vep.variation") == 116193 + 19762
