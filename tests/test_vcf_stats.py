"""vcf_stats() and the allele functions (issue 9) against ``bcftools stats``.

Every VCF of the shared data (``htslib/vcf``, ``vep/input``, ``vep/custom``) and a file of edge
cases written here (allele shapes bcftools classifies in unusual ways, every genotype class,
DP/AD depths, QUAL bins) is served as a table ``s_<n>``. For each, ``vcf_stats('s_<n>')`` must
give the numbers ``bcftools stats`` (``-s -`` when the file has samples, for PSC) prints in its
SN, TSTV, QUAL, IDD and PSC lines: every count exactly, ratios and average depths to the
precision bcftools prints them. Files bcftools cannot read are skipped with its message. The
scalar functions, applied to the tables' ``ref``/``alt`` columns, must reproduce bcftools'
per-type record counts and first-ALT ts/tv.
"""

from __future__ import annotations

import random
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from _servers import Served, serve, write_config
from _support import SHARED_DATA, flight_sql_error, flight_sql_query, require_tool, unavailable

SHARED_DIRS = [SHARED_DATA / "htslib" / "vcf", SHARED_DATA / "vep" / "input"]
SHARED_DIRS.append(SHARED_DATA / "vep" / "custom")

EDGE_HEADER = """##fileformat=VCFv4.2
##contig=<ID=1,length=1000000>
##INFO=<ID=DP,Number=1,Type=Integer,Description="depth">
##FORMAT=<ID=GT,Number=1,Type=String,Description="genotype">
##FORMAT=<ID=DP,Number=1,Type=Integer,Description="depth">
##FORMAT=<ID=AD,Number=R,Type=Integer,Description="allelic depths">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\tS3\tS4
"""
# (REF, ALT, QUAL, FORMAT, four samples): shapes whose bcftools type is not obvious.
EDGE_RECORDS = [
    ("A", "G", "29.57", "GT:DP", "0/1:10", "0/0:20", "1/1:.", "./."),
    ("A", "C", "0.05", "GT", "0|1", "1|1", "0", "1"),
    ("c", "T", ".", "GT:AD", "0/1:3,4", "0/0:.,2", "1/1:.", "0/."),
    ("A", "a", "10", "GT", "0/1", "1/1", "0/0", "0/0"),
    ("N", "C", "10", "GT", "0/1", "0/0", "0/0", "0/0"),
    ("A", "N", "10", "GT", "0/1", "0/0", "0/0", "0/0"),
    ("AC", "GT", "15", "GT", "0/1", "0/0", "1/1", "0/0"),
    ("ACG", "AT", "15", "GT", "0/1", "0/0", "0/0", "0/0"),
    ("ACG", "TCG", "15.1", "GT", "0/1", "0/0", "0/0", "0/0"),
    ("ACGTA", "ACTTA", "15.2", "GT", "0/1", "0/0", "0/0", "0/0"),
    ("ACG", "A", "20", "GT:DP", "0/1:5", "1/1:6", "0/0:7", "0/0:8"),
    ("A", "ACGT", "-1", "GT", "0/1", "0/0", "0/0", "0/0"),
    ("G", ".G", "20", "GT", "0/1", "0/0", "0/0", "0/0"),
    ("A", "A" + "C" * 80, "20", "GT", "0/1", "0/0", "0/0", "0/0"),
    ("A" + "T" * 70, "A", "20", "GT", "0/1", "0/0", "0/0", "0/0"),
    ("A", "<DEL>", "30", "GT", "0/1", "0/0", "0/0", "0/0"),
    ("A", "<NON_REF>", "30", "GT", "0/0", "0/0", "0/0", "0/0"),
    ("A", "<*>", "30", "GT", "0/0", "0/0", "0/0", "0/0"),
    ("A", "*", "30", "GT", "0/1", "0/0", "1", "0/0"),
    ("A", ".", "30", "GT", "0/0", "0/0", "0", "./."),
    ("A", "A", "30", "GT", "0/0", "0/0", "0/0", "0/0"),
    ("G", "G]17:198982]", "40", "GT", "0/1", "0/0", "0/0", "0/0"),
    ("T", "]13:123456]T", "40", "GT", "0/1", "0/0", "0/0", "0/0"),
    ("AC", "G]1:5]", "40", "GT", "0/1", "0/0", "0/0", "0/0"),
    ("A", "C,G", "50", "GT", "1/2", "2/2", "0/1", "0/0"),
    ("A", "C,AT", "50", "GT", "1/2", "2/2", "0/2", "2|1"),
    ("A", "C,C", "50", "GT", "1/2", "0/0", "0/0", "0/0"),
    ("A", "*,C", "50", "GT", "0/2", "0/1", "0/0", "0/0"),
    ("C", "T,*", "50", "GT", "0/1", "0/2", "2/2", "0/0"),
    ("AG", "A,*", "50", "GT", "0/1", "0/2", "0/0", "0/0"),
    ("A", "X,C", "50", "GT", "0/2", "0/0", "0/0", "0/0"),
    ("A", "C", "12345.6", "GT:DP", "0/0/1:3", "0/0:4", "0/0:5", "0/0:6"),
    ("A", "AT,ATT", "20", "GT:AD", "0/1:5,5,0", "1/2:0,3,1", "0/2:2,.,8", "1/1:0,9,0"),
    ("AGT", "A", "20", "GT:AD", "0/1:10,2", "0/1:0,0", "0/1:.", "0/0:5,0"),
    ("AG", "A,C", "20", "GT:DP:AD", "1/2:9:1,3,5", "0/1:9:3,0,0", "0/2:9:4,4,1", "0/0:9:.,.,."),
    ("A", "G", "999.99", "GT", "0/1", "0/0", "0/0", "0/0"),
]


def _random_vcf(path: Path, records: int = 25_000, seed: int = 9) -> Path:
    """A plain VCF over 1 MiB (so scans split it into parallel byte ranges) of random SNPs,
    MNPs, indels, multi-allelic sites and genotypes (haploid, missing, multi-allelic)."""
    rng = random.Random(seed)
    bases = "ACGT"
    gts = ["0/0", "0/1", "1/1", "0|1", "./.", "0", "1", ".", "1/2", "0/2", "2/2", "0/."]
    lines = [EDGE_HEADER.replace("\tS1\tS2\tS3\tS4", "".join(f"\tS{i}" for i in range(8)))]
    for i in range(records):
        ref = rng.choice(bases)
        shape = rng.random()
        if shape < 0.6:
            alt = rng.choice([b for b in bases if b != ref])
        elif shape < 0.7:
            ref += "".join(rng.choice(bases) for _ in range(rng.randint(1, 8)))
            alt = ref[0]
        elif shape < 0.8:
            alt = ref + "".join(rng.choice(bases) for _ in range(rng.randint(1, 70)))
        elif shape < 0.85:
            ref += rng.choice(bases)
            alt = "".join(rng.choice(bases) for _ in range(2))
        else:
            alt = ",".join(rng.sample([b for b in bases if b != ref], 2))
        n_alts = alt.count(",") + 1
        qual = "." if rng.random() < 0.05 else f"{rng.uniform(0, 300):.2f}"
        samples = []
        for _ in range(8):
            gt = rng.choice([g for g in gts if "2" not in g or n_alts > 1])
            dp = "." if rng.random() < 0.1 else str(rng.randint(0, 60))
            ad = ",".join(
                "." if rng.random() < 0.05 else str(rng.randint(0, 30)) for _ in range(n_alts + 1)
            )
            samples.append(f"{gt}:{dp}:{ad}")
        row = ["1", str(1000 + 7 * i), ".", ref, alt, qual, "PASS", ".", "GT:DP:AD", *samples]
        lines.append("\t".join(row) + "\n")
    path.write_text("".join(lines), encoding="utf-8")
    assert path.stat().st_size > 1 << 20
    return path


@dataclass(frozen=True)
class Case:
    table: str
    path: Path


def _shared_vcfs() -> list[Path]:
    files: list[Path] = []
    for d in SHARED_DIRS:
        if d.is_dir():
            files += sorted(
                p
                for p in d.iterdir()
                if p.is_file() and p.name.lower().endswith((".vcf", ".vcf.gz", ".vcf.bgz"))
            )
    return files


SHARED_VCFS = _shared_vcfs()


def _edge_vcf(path: Path) -> Path:
    lines = [EDGE_HEADER]
    for i, (ref, alt, qual, fmt, *samples) in enumerate(EDGE_RECORDS):
        row = ["1", str(100 + 10 * i), ".", ref, alt, qual, "PASS", f"DP={i}", fmt, *samples]
        lines.append("\t".join(row) + "\n")
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Case]:
    tmp = tmp_path_factory.mktemp("vcf_stats_data")
    paths = [*SHARED_VCFS, _edge_vcf(tmp / "edge_cases.vcf"), _random_vcf(tmp / "random.vcf")]
    return {p.name if p.parent == tmp else str(p): Case(f"s_{i}", p) for i, p in enumerate(paths)}


@pytest.fixture(scope="module")
def server(cases: dict[str, Case], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if not SHARED_VCFS:
        unavailable(f"no shared VCFs under {SHARED_DATA} (set GENOFLIGHT_SHARED_DATA)")
    tmp = tmp_path_factory.mktemp("vcf_stats")
    tables = [{"name": c.table, "path": str(c.path)} for c in cases.values()]
    # A table that is not a VCF, for the error test.
    bed = tmp / "regions.bed"
    bed.write_text("1\t10\t20\n", encoding="utf-8")
    tables.append({"name": "not_vcf", "path": str(bed)})
    config = write_config(tmp / "stats.toml", {"tables": tables})
    with serve(config, tmp) as served:
        yield served


# --------------------------------------------------------------------------------------------
# bcftools' side

Key = tuple[str, str | None, str | None, str]


def _has_samples(path: Path) -> bool:
    out = subprocess.run(["bcftools", "query", "-l", str(path)], capture_output=True, text=True)
    return out.returncode == 0 and bool(out.stdout.strip())


def bcftools_stats(path: Path) -> dict[Key, float]:
    """SN, TSTV, QUAL, IDD and PSC of ``bcftools stats`` as {(section, sample, bin, key): value}.

    ``bin`` is as bcftools prints it (QUAL ``%.1f`` or ``.``; IDD the length)."""
    require_tool("bcftools")
    args = ["bcftools", "stats", *(["-s", "-"] if _has_samples(path) else []), str(path)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        pytest.skip(f"bcftools stats cannot read {path.name}: {done.stderr.strip()[:300]}")
    out: dict[Key, float] = {}
    tstv = ["ts", "tv", "ts/tv", "ts (1st ALT)", "tv (1st ALT)", "ts/tv (1st ALT)"]
    qual = [
        "number of SNPs",
        "number of transitions (1st ALT)",
        "number of transversions (1st ALT)",
        "number of indels",
    ]
    psc = [
        "nRefHom",
        "nNonRefHom",
        "nHets",
        "nTransitions",
        "nTransversions",
        "nIndels",
        "average depth",
        "nSingletons",
        "nHapRef",
        "nHapAlt",
        "nMissing",
    ]
    for line in done.stdout.splitlines():
        f = line.split("\t")
        if f[0] == "SN":
            out[("SN", None, None, f[2].rstrip(":"))] = float(f[3])
        elif f[0] == "TSTV":
            out.update(
                {("TSTV", None, None, k): float(v) for k, v in zip(tstv, f[2:], strict=True)}
            )
        elif f[0] == "QUAL":
            out.update(
                {("QUAL", None, f[2], k): float(v) for k, v in zip(qual, f[3:], strict=True)}
            )
        elif f[0] == "IDD":
            out[("IDD", None, f[2], "number of sites")] = float(f[3])
            out[("IDD", None, f[2], "number of genotypes")] = float(f[4])
            out[("IDD", None, f[2], "mean VAF")] = 0.0 if f[5] == "." else float(f[5])
        elif f[0] == "PSC":
            out.update({("PSC", f[2], None, k): float(v) for k, v in zip(psc, f[3:], strict=True)})
    return out


# --------------------------------------------------------------------------------------------
# ours


def vcf_stats(server: Served, table: str) -> dict[Key, float | None]:
    t = flight_sql_query(
        server.uri, f"SELECT section, sample, bin, key, value FROM vcf_stats('{table}')"
    )
    out: dict[Key, float | None] = {}
    for section, sample, b, key, value in zip(*(c.to_pylist() for c in t.columns), strict=True):
        if section == "QUAL":
            label = "." if b is None else f"{b:.1f}"
        elif section == "IDD":
            label = str(int(b))
        else:
            assert b is None, f"{section} {key}: bin should be NULL, got {b}"
            label = None
        k = (section, sample, label, key)
        assert k not in out, f"duplicate row {k}"
        out[k] = value
    return out


# bcftools prints ratios and mean VAF with %.2f, average depth with %.1f (0 or "." for none).
PRINTED_PRECISION = {
    "ts/tv": 0.005,
    "ts/tv (1st ALT)": 0.005,
    "average depth": 0.05,
    "mean VAF": 0.005,
}


def _ids(cases_list: list[str]) -> list[str]:
    return [Path(c).name if "/" in c else c for c in cases_list]


CASE_KEYS = [*map(str, SHARED_VCFS), "edge_cases.vcf", "random.vcf"]


@pytest.mark.parametrize("case", CASE_KEYS, ids=_ids(CASE_KEYS))
def test_vcf_stats_matches_bcftools_stats(
    server: Served, cases: dict[str, Case], case: str
) -> None:
    c = cases[case]
    expected = bcftools_stats(c.path)
    got = vcf_stats(server, c.table)
    assert set(got) == set(expected), (
        f"rows differ: only ours {sorted(set(got) - set(expected), key=str)[:10]}, "
        f"only bcftools' {sorted(set(expected) - set(got), key=str)[:10]}"
    )
    for k, e in expected.items():
        g = got[k]
        tol = PRINTED_PRECISION.get(k[3])
        if tol is None:
            assert g == e, f"{k}: ours {g}, bcftools {e}"
        else:
            assert abs((g or 0.0) - e) <= tol + 1e-9, f"{k}: ours {g}, bcftools {e}"


@pytest.mark.parametrize("case", CASE_KEYS, ids=_ids(CASE_KEYS))
def test_allele_functions_reproduce_bcftools_counts(
    server: Served, cases: dict[str, Case], case: str
) -> None:
    """Per-record types from variant_type(), first-ALT ts/tv from is_transition/is_transversion:
    the SN and TSTV numbers bcftools prints."""
    c = cases[case]
    expected = bcftools_stats(c.path)
    sql = f"""
        WITH t AS (SELECT ref, alt, variant_type(ref, alt) AS vt FROM "public"."{c.table}")
        SELECT
          count(*) AS records,
          count(*) FILTER (WHERE regexp_like(vt, '^REF(,REF)*$')) AS no_alts,
          count(*) FILTER (WHERE vt LIKE '%SNP%') AS snps,
          count(*) FILTER (WHERE vt LIKE '%MNP%') AS mnps,
          count(*) FILTER (WHERE vt LIKE '%INS%' OR vt LIKE '%DEL%') AS indels,
          count(*) FILTER (WHERE vt LIKE '%OTHER%') AS others,
          count(*) FILTER (WHERE is_transition(ref, alt)) AS ts1,
          count(*) FILTER (WHERE is_transversion(ref, alt)) AS tv1
        FROM t
    """
    row = flight_sql_query(server.uri, sql).to_pylist()[0]
    sn = {k[3]: v for k, v in expected.items() if k[0] in ("SN", "TSTV")}
    assert row["records"] == sn["number of records"]
    assert row["no_alts"] == sn["number of no-ALTs"]
    assert row["snps"] == sn["number of SNPs"]
    assert row["mnps"] == sn["number of MNPs"]
    assert row["indels"] == sn["number of indels"]
    assert row["others"] == sn["number of others"]
    assert row["ts1"] == sn["ts (1st ALT)"]
    assert row["tv1"] == sn["tv (1st ALT)"]


def test_allele_functions_on_literals(server: Served) -> None:
    sql = """SELECT
        variant_type('A', 'C') AS snp, variant_type('A', 'C,AT') AS multi,
        variant_type('A', 'C,AT', 2) AS second, variant_type('A', 'C', 2) AS past_end,
        variant_type('ACG', 'AT') AS complex, variant_type('A', '<DEL>') AS symbolic,
        variant_type('G', 'G]17:198982]') AS bnd, variant_type('A', '*') AS overlap,
        variant_type('A', NULL) AS no_alt, variant_type('AC', 'GT') AS mnp,
        variant_type('ACG', 'A') AS del, variant_type(NULL, 'A') AS null_ref,
        is_transition('A', 'G') AS ts, is_transversion('A', 'G') AS not_tv,
        is_transversion('A', 'C,G') AS tv_first, is_transition('A', 'C,G', 2) AS ts_second,
        is_transition('A', 'AG') AS indel_ts, is_transition('A', NULL) AS no_alt_ts,
        is_transition('A', 'G', 3) AS past_end_ts, is_transition('ACG', 'GCG') AS first_base
    """
    row = flight_sql_query(server.uri, sql).to_pylist()[0]
    assert row == {
        "snp": "SNP",
        "multi": "SNP,INS",
        "second": "INS",
        "past_end": None,
        "complex": "OTHER",
        "symbolic": "OTHER",
        "bnd": "BND",
        "overlap": "OVERLAP",
        "no_alt": "REF",
        "mnp": "MNP",
        "del": "DEL",
        "null_ref": None,
        "ts": True,
        "not_tv": False,
        "tv_first": True,
        "ts_second": True,
        "indel_ts": False,
        "no_alt_ts": False,
        "past_end_ts": None,
        "first_base": True,
    }


def test_vcf_stats_errors_name_the_problem(server: Served, cases: dict[str, Case]) -> None:
    assert "not a VCF table" in flight_sql_error(server.uri, "SELECT * FROM vcf_stats('not_vcf')")
    assert "not found" in flight_sql_error(server.uri, "SELECT * FROM vcf_stats('no_such')")
    some = next(iter(cases.values())).table
    assert "too many arguments" in flight_sql_error(
        server.uri, f"SELECT * FROM vcf_stats('{some}', 'x')"
    )
    # The server keeps serving after errors.
    assert flight_sql_query(server.uri, f"SELECT count(*) FROM vcf_stats('{some}')").num_rows == 1


def test_bad_genotype_is_an_error_with_file_and_line(tmp_path: Path) -> None:
    vcf = tmp_path / "bad_gt.vcf"
    record = "1\t100\t.\tA\tC\t50\tPASS\t.\tGT\t0/1\t0/3\n"
    vcf.write_text(EDGE_HEADER.replace("\tS3\tS4", "") + record, encoding="utf-8")
    config = write_config(tmp_path / "bad.toml", {"tables": [{"name": "bad", "path": str(vcf)}]})
    with serve(config, tmp_path) as served:
        msg = flight_sql_error(served.uri, "SELECT * FROM vcf_stats('bad')")
        assert "bad_gt.vcf" in msg and "line 8" in msg and "allele 3" in msg, msg
        assert served.alive()


def test_genotypes_companion_names_the_same_file(server: Served, cases: dict[str, Case]) -> None:
    table = cases["edge_cases.vcf"].table
    sql = "SELECT section, sample, bin, key, value FROM vcf_stats('{}') ORDER BY 1, 2, 3, 4"
    main = flight_sql_query(server.uri, sql.format(table))
    assert main.num_rows > 0
    assert flight_sql_query(server.uri, sql.format(f"{table}_genotypes")).equals(main)
