"""annotate_vep's consequence rules where the shared VEP outputs have no example.

Records are placed from the cache's own coordinates (a plus-strand coding transcript, a
regulatory feature, motifs), and each expectation follows ensembl-variation's code:

- the polypyrimidine tract is acceptor -3 to -17 (``_intron_effects``: intron_end-16 ..
  intron_end-2), so acceptor -10 is ``splice_polypyrimidine_tract_variant`` without
  ``splice_region_variant`` (which reaches 8 bases into the intron), and the term is not
  given to a variant that overlaps an exon (ensembl-variation's own TranscriptVariation
  tests: a deletion from intron_end-2 to intron_end+3 is acceptor, coding, intron);
- with both alleles longer than one base, splice predicates see only the differing bases
  (``_get_differing_regions``: the XOR of the two, past the shorter one included), so
  ``GTAAG>GTA`` at a donor touches +4..+5 only: the 5th base, not the donor site;
- a peptide gets ``X`` for a trailing partial codon unless its whole codons are ``*``
  alone (``TranscriptVariationAllele::peptide``): ``TAAC`` inserted at a codon boundary
  reads ``-/*``;
- regulatory_region_ablation is MODERATE (Constants.pm);
- stop_retained is 115's ``ref_eq_alt_sequence`` (gated by partial_codon and stop_lost):
  ``X/X*`` (the residue kept, then a stop), a protein longer by fewer than 3 residues at
  its end, or the stop at the same place in both peptides; frameshift and missense give
  way to it, so a 1-base insertion that keeps the stop codon is
  ``inframe_insertion,stop_retained_variant``;
- an indel over the start codon that leaves the 5' UTR and ATG in place keeps the start
  (``_ins_del_start_altered``'s early return): start_retained, not start_lost;
- a motif a region file holds twice is one row (BaseRegFeat::merge_features, by dbID);
- motif fields: MOTIF_POS counts the variant's start on the motif's strand with no lower
  bound; HIGH_INF_POS is written always, ``Y`` only for single-base alleles
  (``MotifFeatureVariationAllele``, ``OutputFactory``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from _servers import Served, serve_with_vep_cache, write_vcf
from _support import SHARED_DATA, flight_sql_query, unavailable

CACHE = SHARED_DATA / "vep" / "cache" / "homo_sapiens" / "84_GRCh38"
HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


def query(uri: str, sql: str) -> list[dict[str, Any]]:
    return flight_sql_query(uri, sql).to_pylist()


def read_layout(uri: str) -> dict[str, Any]:
    tx = query(
        uri,
        "SELECT stable_id, coding_start, coding_end, translateable_seq FROM vep.transcripts "
        "WHERE chrom = '21' AND strand = 1 AND biotype = 'protein_coding' AND is_canonical "
        "AND exon_count >= 4 AND length(five_prime_utr) > 0 ORDER BY stable_id LIMIT 1",
    )[0]
    exons = query(
        uri,
        f"SELECT start, \"end\" FROM vep.exons WHERE transcript_id = '{tx['stable_id']}' "
        "ORDER BY start",
    )
    introns = [(a["end"] + 1, b["start"] - 1) for a, b in itertools.pairwise(exons)]
    cds_exon = next(e for e in exons if e["start"] <= tx["coding_start"] <= e["end"])
    stop_exon = next(e for e in exons if e["start"] <= tx["coding_end"] <= e["end"])
    assert tx["coding_end"] - 3 >= stop_exon["start"], "stop codon split by an intron"
    twice = query(
        uri,
        "SELECT stable_id, min(start) AS start FROM vep.motifs WHERE chrom = '21' "
        'GROUP BY stable_id, start, "end" HAVING count(*) > 1 ORDER BY start LIMIT 1',
    )
    reg = query(
        uri,
        "SELECT stable_id, start, \"end\" FROM vep.regulatory WHERE chrom = '21' "
        'AND "end" - start < 2000 ORDER BY start LIMIT 1',
    )[0]
    motif = "SELECT stable_id, start, \"end\" FROM vep.motifs WHERE chrom = '21' AND strand = {} "
    motif += "AND seq IS NOT NULL AND binding_matrix_id IS NOT NULL ORDER BY start LIMIT 1"
    return {
        "tx": tx["stable_id"],
        # An intron between two coding exons.
        "intron": next(
            i
            for i in introns
            if i[1] - i[0] > 100 and tx["coding_start"] < i[0] and i[1] < tx["coding_end"]
        ),
        "coding_start": tx["coding_start"],
        "cds_exon_end": cds_exon["end"],
        "reg": reg,
        "minus_motif": query(uri, motif.format(-1))[0],
        "plus_motif": query(uri, motif.format(1))[0],
        "coding_end": tx["coding_end"],
        "cds": tx["translateable_seq"].upper(),
        "twice": twice[0] if twice else None,
    }


# Codons whose third base does not change the amino acid.
FOURFOLD = ("CT", "GC", "GG", "GT", "CC", "AC", "TC", "CG")


def records(layout: dict[str, Any]) -> list[str]:
    i_start, i_end = layout["intron"]
    cs = layout["coding_start"]
    # The last base of codon 2, with the next base in the same exon.
    boundary = cs + 5
    assert boundary + 1 <= layout["cds_exon_end"]
    reg = layout["reg"]
    reg_len = reg["end"] - reg["start"] + 1
    mm, pm = layout["minus_motif"], layout["plus_motif"]
    cds, ce = layout["cds"], layout["coding_end"]
    # A codon in the first coding exon, fourfold in its third base, which is A or G: GTA
    # inserted after its second base makes it (same residue) + TA[AG] (stop).
    k = next(
        k
        for k in range(2, 60)
        if cds[3 * k : 3 * k + 2] in FOURFOLD
        and cds[3 * k + 2] in "AG"
        and cs + 3 * k + 2 <= layout["cds_exon_end"]
    )
    b2 = cds[3 * k + 1]
    stop = cds[-3:]
    twice = layout["twice"]
    extra = [f"21\t{twice['start'] + 1}\tmotif_twice\tA\tG\t.\t.\t."] if twice else []
    return [
        *extra,
        f"21\t{cs + 3 * k + 1}\tkeeps_residue_then_stop\t{b2}\t{b2}GTA\t.\t.\t.",
        f"21\t{ce - 3}\tbefore_stop\t{cds[-4]}\t{cds[-4]}CAA\t.\t.\t.",
        f"21\t{ce - 1}\tinside_stop\t{stop[1]}\t{stop[1]}{stop[2]}\t.\t.\t.",
        f"21\t{cs + 1}\tatg_kept\tT\tTG\t.\t.\t.",
        f"21\t{i_end - 9}\tppt_minus10\tC\tT\t.\t.\t.",
        f"21\t{i_end - 4}\tppt_minus5\tC\tT\t.\t.\t.",
        # Inserted between acceptor -3 and -2 (ensembl-variation's test: in the tract).
        f"21\t{i_end - 2}\tppt_ins_minus3\tC\tCT\t.\t.\t.",
        # Inserted between donor +2 and +3: splice region only, no donor region.
        f"21\t{i_start + 1}\tdonor_ins_plus2\tC\tCA\t.\t.\t.",
        f"21\t{i_start}\tdonor_xor\tGTAAG\tGTA\t.\t.\t.",
        # Deletes acceptor -3 .. exon +3 (ensembl-variation's own test: acceptor, coding, intron).
        f"21\t{i_end - 3}\tacceptor_into_exon\tAAAAAAA\tA\t.\t.\t.",
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
    with serve_with_vep_cache(tmp_path_factory.mktemp("vep_csq_cache"), CACHE) as served:
        return read_layout(served.uri)


@pytest.fixture(scope="module")
def server(layout: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("vep_csq")
    vcf = write_vcf(tmp / "csq.vcf", HEADER, records(layout))
    with serve_with_vep_cache(tmp, CACHE, {"csq": vcf}) as served:
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


def test_no_polypyrimidine_term_over_an_exon(rows: list, layout: dict) -> None:
    r = row(rows, "acceptor_into_exon", layout["tx"])
    assert r["Consequence"] == "splice_acceptor_variant,coding_sequence_variant,intron_variant"


def test_insertions_at_the_tract_and_donor_edges(rows: list, layout: dict) -> None:
    tract = row(rows, "ppt_ins_minus3", layout["tx"])
    assert tract["Consequence"] == (
        "splice_region_variant,splice_polypyrimidine_tract_variant,intron_variant"
    )
    donor = row(rows, "donor_ins_plus2", layout["tx"])
    assert donor["Consequence"] == "splice_region_variant,intron_variant"


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


def test_stop_retained_as_vep_115(rows: list, layout: dict) -> None:
    tx = layout["tx"]
    kept = row(rows, "keeps_residue_then_stop", tx)
    residue = kept["Amino_acids"].split("/")[0]
    assert kept["Amino_acids"] == f"{residue}/{residue}*"
    assert kept["Consequence"] == "inframe_insertion,stop_retained_variant"
    assert kept["IMPACT"] == "MODERATE"
    before = row(rows, "before_stop", tx)
    assert before["Consequence"] == "inframe_insertion,stop_retained_variant"
    inside = row(rows, "inside_stop", tx)
    assert inside["Consequence"] == "inframe_insertion,stop_retained_variant"
    assert inside["Amino_acids"] == "*"


def test_start_codon_kept_by_an_insertion(rows: list, layout: dict) -> None:
    r = row(rows, "atg_kept", layout["tx"])
    terms = r["Consequence"].split(",")
    assert "start_retained_variant" in terms and "start_lost" not in terms


def test_a_motif_held_twice_is_one_row(rows: list, layout: dict) -> None:
    if layout["twice"] is None:
        unavailable("the cache holds no motif twice")
    found = [
        r for r in rows if r["id"] == "motif_twice" and r["Feature"] == layout["twice"]["stable_id"]
    ]
    assert len(found) == 1, found
