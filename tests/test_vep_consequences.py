"""annotate_vep's consequence rules where the shared VEP outputs have no example.

Records are placed from the cache's own coordinates (a plus-strand coding transcript, a
regulatory feature, motifs), and each expectation follows ensembl-variation's code:

- the polypyrimidine tract is acceptor -3 to -17 (``_intron_effects``: intron_end-16 ..
  intron_end-2), so acceptor -10 is ``splice_polypyrimidine_tract_variant`` without
  ``splice_region_variant`` (which reaches 8 bases into the intron);
- with both alleles longer than one base, splice predicates see only the differing bases
  (``_get_differing_regions``: the XOR of the two, past the shorter one included), so
  ``GTAAG>GTA`` at a donor touches +4..+5 only: the 5th base, not the donor site;
- a peptide gets ``X`` for a trailing partial codon unless its whole codons are ``*``
  alone (``TranscriptVariationAllele::peptide``): ``TAAC`` inserted at a codon boundary
  reads ``-/*``;
- regulatory_region_ablation is MODERATE (Constants.pm);
- motif fields: MOTIF_POS counts the variant's start on the motif's strand with no lower
  bound; HIGH_INF_POS is written always, ``Y`` only for single-base alleles
  (``MotifFeatureVariationAllele``, ``OutputFactory``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from _servers import Served, serve, write_config
from _support import SHARED_DATA, flight_sql_query, unavailable

CACHE = SHARED_DATA / "vep" / "cache" / "homo_sapiens" / "84_GRCh38"
HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


def query(uri: str, sql: str) -> list[dict[str, Any]]:
    return flight_sql_query(uri, sql).to_pylist()


def read_layout(uri: str) -> dict[str, Any]:
    tx = query(
        uri,
        "SELECT stable_id, coding_start FROM vep.transcripts WHERE chrom = '21' AND strand = 1 "
        "AND biotype = 'protein_coding' AND is_canonical AND exon_count >= 4 "
        "ORDER BY stable_id LIMIT 1",
    )[0]
    exons = query(
        uri,
        f"SELECT start, \"end\" FROM vep.exons WHERE transcript_id = '{tx['stable_id']}' "
        "ORDER BY start",
    )
    introns = [(a["end"] + 1, b["start"] - 1) for a, b in itertools.pairwise(exons)]
    cds_exon = next(e for e in exons if e["start"] <= tx["coding_start"] <= e["end"])
    reg = query(
        uri,
        "SELECT stable_id, start, \"end\" FROM vep.regulatory WHERE chrom = '21' "
        'AND "end" - start < 2000 ORDER BY start LIMIT 1',
    )[0]
    motif = "SELECT stable_id, start, \"end\" FROM vep.motifs WHERE chrom = '21' AND strand = {} "
    motif += "AND seq IS NOT NULL AND binding_matrix_id IS NOT NULL ORDER BY start LIMIT 1"
    return {
        "tx": tx["stable_id"],
        "intron": next(i for i in introns if i[1] - i[0] > 100),
        "coding_start": tx["coding_start"],
        "cds_exon_end": cds_exon["end"],
        "reg": reg,
        "minus_motif": query(uri, motif.format(-1))[0],
        "plus_motif": query(uri, motif.format(1))[0],
    }


def records(layout: dict[str, Any]) -> list[str]:
    i_start, i_end = layout["intron"]
    cs = layout["coding_start"]
    # The last base of codon 2, with the next base in the same exon.
    boundary = cs + 5
    assert boundary + 1 <= layout["cds_exon_end"]
    reg = layout["reg"]
    reg_len = reg["end"] - reg["start"] + 1
    mm, pm = layout["minus_motif"], layout["plus_motif"]
    return [
        f"21\t{i_end - 9}\tppt_minus10\tC\tT\t.\t.\t.",
        f"21\t{i_end - 4}\tppt_minus5\tC\tT\t.\t.\t.",
        f"21\t{i_start}\tdonor_xor\tGTAAG\tGTA\t.\t.\t.",
        f"21\t{boundary}\tstop_ins\tA\tATAAC\t.\t.\t.",
        f"21\t{reg['start'] - 2}\treg_del\t{'A' * (reg_len + 4)}\tA\t.\t.\t.",
        f"21\t{mm['start'] + 3}\tmotif_del\tTG\tT\t.\t.\t.",
        f"21\t{mm['start'] + 4}\tmotif_mnv\tTG\tCA\t.\t.\t.",
        f"21\t{mm['start'] + 4}\tmotif_snv\tT\tC\t.\t.\t.",
        f"21\t{pm['start'] - 3}\tmotif_into\tGCCA\tG\t.\t.\t.",
    ]


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not CACHE.is_dir():
        unavailable(f"shared VEP cache not found at {CACHE} (set GENOFLIGHT_SHARED_DATA)")
    tmp = tmp_path_factory.mktemp("vep_csq_cache")
    config = write_config(tmp / "c.toml", {"vep_caches": [{"name": "vep", "path": str(CACHE)}]})
    with serve(config, tmp) as served:
        return read_layout(served.uri)


@pytest.fixture(scope="module")
def server(layout: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("vep_csq")
    vcf = tmp / "csq.vcf"
    body = sorted(records(layout), key=lambda r: int(r.split("\t")[1]))
    vcf.write_text(HEADER + "\n".join(body) + "\n")
    config = write_config(
        tmp / "c.toml",
        {
            "tables": [{"name": "csq", "path": str(vcf)}],
            "vep_caches": [{"name": "vep", "path": str(CACHE)}],
        },
    )
    with serve(config, tmp) as served:
        yield served


@pytest.fixture(scope="module")
def rows(server: Served) -> list[dict[str, Any]]:
    return query(
        server.uri,
        'SELECT id, "Feature", "Feature_type", "Consequence", "IMPACT", "Amino_acids", '
        '"MOTIF_POS", "HIGH_INF_POS", "MOTIF_SCORE_CHANGE" '
        "FROM annotate_vep('csq', 'vep', 'everything=true')",
    )


def row(rows: list[dict[str, Any]], ident: str, feature: str) -> dict[str, Any]:
    found = [r for r in rows if r["id"] == ident and r["Feature"] == feature]
    assert len(found) == 1, (ident, feature, [r for r in rows if r["id"] == ident])
    return found[0]


def test_polypyrimidine_tract_reaches_acceptor_minus_17(rows: list, layout: dict) -> None:
    far = row(rows, "ppt_minus10", layout["tx"])
    assert far["Consequence"] == "splice_polypyrimidine_tract_variant,intron_variant"
    assert far["IMPACT"] == "LOW"
    near = row(rows, "ppt_minus5", layout["tx"])
    assert near["Consequence"] == (
        "splice_region_variant,splice_polypyrimidine_tract_variant,intron_variant"
    )


def test_splice_terms_see_only_the_differing_bases(rows: list, layout: dict) -> None:
    r = row(rows, "donor_xor", layout["tx"])
    assert r["Consequence"] == "splice_donor_5th_base_variant,intron_variant"
    assert r["IMPACT"] == "LOW"


def test_stop_then_partial_codon_has_no_x(rows: list, layout: dict) -> None:
    r = row(rows, "stop_ins", layout["tx"])
    assert r["Amino_acids"] == "-/*"
    assert r["Consequence"].split(",")[:2] == ["stop_gained", "frameshift_variant"]


def test_regulatory_ablation_is_moderate(rows: list, layout: dict) -> None:
    r = row(rows, "reg_del", layout["reg"]["stable_id"])
    assert r["Consequence"] == "regulatory_region_ablation,regulatory_region_variant"
    assert r["IMPACT"] == "MODERATE"


def motif_len(m: dict[str, Any]) -> int:
    return m["end"] - m["start"] + 1


def test_motif_positions_and_informative_flag(rows: list, layout: dict) -> None:
    mm, pm = layout["minus_motif"], layout["plus_motif"]
    n = motif_len(mm)
    # Minus strand: the variant's start (mm.start + 4) counted from the motif's end.
    snv = row(rows, "motif_snv", mm["stable_id"])
    assert snv["MOTIF_POS"] == str(n - 4)
    assert snv["HIGH_INF_POS"] in ("Y", "N")
    assert snv["MOTIF_SCORE_CHANGE"] is not None
    deletion = row(rows, "motif_del", mm["stable_id"])
    assert (deletion["MOTIF_POS"], deletion["HIGH_INF_POS"]) == (str(n - 4), "N")
    assert deletion["MOTIF_SCORE_CHANGE"] is None
    mnv = row(rows, "motif_mnv", mm["stable_id"])
    assert (mnv["MOTIF_POS"], mnv["HIGH_INF_POS"]) == (str(n - 4), "N")
    # Plus strand, a deletion starting two bases before the motif: position -1.
    into = row(rows, "motif_into", pm["stable_id"])
    assert (into["MOTIF_POS"], into["HIGH_INF_POS"]) == ("-1", "N")
