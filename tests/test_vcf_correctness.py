"""Every shared VCF, read through the server, against bcftools on the same file.

Files come from ``<shared>/htslib/MANIFEST.tsv`` (cross-checked with the directory). When bcftools
itself fails on a file, the test is an xfail carrying bcftools' message.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from pathlib import Path

import pytest
from _support import (
    HTSLIB_MANIFEST,
    VCF_DIR,
    ServerHandle,
    expected_table_names,
    flight_sql_query,
    parse_alt,
    parse_qual,
    read_vcf_header,
    run_bcftools,
    table_ref,
    vcf_files,
)

QUAL_REL_TOL = 1e-5  # bcftools prints QUAL from a float32


def _manifest_vcfs() -> list[Path]:
    if not HTSLIB_MANIFEST.is_file():
        return []
    with HTSLIB_MANIFEST.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    paths = [
        HTSLIB_MANIFEST.parent / r["path"]
        for r in rows
        if r["path"].startswith("vcf/") and r["format"].upper().startswith("VCF")
    ]
    return sorted(paths)


MANIFEST_VCFS = _manifest_vcfs()
TABLE_NAMES = expected_table_names(vcf_files(VCF_DIR)) if VCF_DIR.is_dir() else {}
VCF_22 = VCF_DIR / "22.vcf.gz"


def test_manifest_matches_directory() -> None:
    if not VCF_DIR.is_dir():
        pytest.skip(f"no shared data at {VCF_DIR}")
    assert vcf_files(VCF_DIR) == MANIFEST_VCFS, "MANIFEST.tsv and the vcf/ directory disagree"


def test_table_names_follow_the_naming_contract() -> None:
    """The collision rule, spelled out for the one pair in the shared data."""
    if not VCF_DIR.is_dir():
        pytest.skip(f"no shared data at {VCF_DIR}")
    assert TABLE_NAMES[VCF_DIR / "vcf_file.vcf.gz"] == "vcf_file"  # indexed: keeps the name
    assert TABLE_NAMES[VCF_DIR / "vcf_file.vcf"] == "vcf_file_vcf"
    assert TABLE_NAMES[VCF_22] == "22"


def _id(path: Path) -> str:
    return path.name


def _scalar(server: ServerHandle, sql: str) -> object:
    table = flight_sql_query(server.uri, sql)
    assert table.num_rows == 1, f"{sql}: expected one row, got {table.num_rows}"
    return table.column(0)[0].as_py()


@pytest.mark.parametrize("vcf", MANIFEST_VCFS, ids=_id)
def test_record_count_matches_bcftools(server: ServerHandle, vcf: Path) -> None:
    expected = len(run_bcftools("view", "-H", vcf).splitlines())
    got = _scalar(server, f"SELECT count(*) FROM {table_ref(TABLE_NAMES[vcf])}")
    assert got == expected


def _sort_key(row: tuple) -> tuple:
    chrom, start, end, ref, alt, qual = row
    return (chrom, start, end, ref, alt or "", qual is None, round(qual, 1) if qual else 0.0)


@pytest.mark.parametrize("vcf", MANIFEST_VCFS, ids=_id)
def test_fields_match_bcftools_query(server: ServerHandle, vcf: Path) -> None:
    out = run_bcftools("query", "-f", "%CHROM\t%POS\t%END\t%REF\t%ALT\t%QUAL\n", vcf)
    expected = []
    for line in out.splitlines():
        chrom, pos, end, ref, alt, qual = line.split("\t")
        expected.append((chrom, int(pos), int(end), ref, parse_alt(alt), parse_qual(qual)))

    table = flight_sql_query(
        server.uri, f'SELECT chrom, start, "end", ref, alt, qual FROM {table_ref(TABLE_NAMES[vcf])}'
    )
    got = list(zip(*(table.column(i).to_pylist() for i in range(6)), strict=True))
    assert len(got) == len(expected)

    expected.sort(key=_sort_key)
    got.sort(key=_sort_key)
    for i, (g, e) in enumerate(zip(got, expected, strict=True)):
        assert g[:5] == e[:5], f"record {i} (sorted) differs: server {g} vs bcftools {e}"
        gq, eq = g[5], e[5]
        if eq is None:
            assert gq is None, f"{e[:2]}: QUAL '.' should be NULL, got {gq}"
        else:
            assert gq is not None and math.isclose(gq, eq, rel_tol=QUAL_REL_TOL, abs_tol=1e-6), (
                f"{e[:2]}: qual {gq} vs bcftools {eq}"
            )


@pytest.mark.parametrize("vcf", MANIFEST_VCFS, ids=_id)
def test_genotypes_table_has_one_row_per_variant_and_sample(
    server: ServerHandle, vcf: Path
) -> None:
    samples = read_vcf_header(vcf).samples
    if not samples:
        pytest.skip(f"{vcf.name} has no samples, hence no genotypes table")
    records = len(run_bcftools("view", "-H", vcf).splitlines())
    assert samples == run_bcftools("query", "-l", vcf).splitlines()
    name = TABLE_NAMES[vcf] + "_genotypes"
    got = _scalar(server, f"SELECT count(*) FROM {table_ref(name)}")
    assert got == records * len(samples)
    distinct = flight_sql_query(server.uri, f"SELECT DISTINCT sample_id FROM {table_ref(name)}")
    assert sorted(distinct.column(0).to_pylist()) == sorted(samples)


def test_genotype_calls_of_22_match_bcftools(server: ServerHandle) -> None:
    out = run_bcftools("query", "-f", "[%CHROM\t%POS\t%REF\t%SAMPLE\t%GT\n]", VCF_22)
    expected = Counter(
        tuple(line.split("\t")) for line in out.splitlines() if "." not in line.split("\t")[4]
    )
    table = flight_sql_query(
        server.uri, f"SELECT chrom, start, ref, sample_id, gt FROM {table_ref('22_genotypes')}"
    )
    got = Counter(
        (c, str(p), r, s, g)
        for c, p, r, s, g in zip(*(table.column(i).to_pylist() for i in range(5)), strict=True)
        if g is not None and "." not in g
    )
    assert got == expected


def test_region_query_on_indexed_vcf_matches_bcftools(server: ServerHandle) -> None:
    rows = [
        line.split("\t")
        for line in run_bcftools("query", "-f", "%CHROM\t%POS\n", VCF_22).split("\n")
        if line
    ]
    chrom = rows[0][0]
    positions = sorted(int(p) for c, p in rows if c == chrom)
    a, b = positions[len(positions) // 4], positions[len(positions) // 2]
    # bcftools -r also returns records that start before a and overlap it: keep POS in [a, b].
    out = run_bcftools("view", "-H", "-r", f"{chrom}:{a}-{b}", VCF_22)
    expected = sorted(int(line.split("\t")[1]) for line in out.splitlines())
    expected = [p for p in expected if a <= p <= b]
    assert expected, "the chosen region should not be empty"

    table = flight_sql_query(
        server.uri,
        f"SELECT start FROM {table_ref('22')} "
        f"WHERE chrom = '{chrom}' AND start BETWEEN {a} AND {b}",
    )
    assert sorted(table.column(0).to_pylist()) == expected

    n = _scalar(
        server,
        f"SELECT count(*) FROM {table_ref('22')} WHERE chrom = '{chrom}' AND start >= {a} "
        f"AND start <= {b}",
    )
    assert n == len(expected)
