"""annotate_vep() on structural variants and special alleles (issue 8), as Ensembl VEP 115 reads
VCF input (Parser/VCF.pm create_StructuralVariationFeatures, Parser.pm get_SO_term/validate_vf,
Utils::VariationEffect's SV predicates, OutputFactory's StructuralVariationOverlapAllele hash).

The VCF is written here over the shared chr21 cache region; its records are placed on features
read from the cache (``vep.transcripts``, ``vep.regulatory``), and every expectation below is
derived from VEP's rules and those coordinates:

- a symbolic record starts at POS + 1 and ends at INFO END, else POS + |SVLEN|;
- Allele and VARIANT_CLASS are the SO class (``<DEL>`` -> deletion, ``<DUP>`` -> duplication,
  ``<INV>`` -> inversion, breakends -> chromosome_breakpoint); an unnamed SV is
  ``chrom_start_ALT``;
- transcript_ablation: a deletion covering the transcript; transcript_amplification: a
  duplication covering it; either is tier 1, so VEP asks nothing else of that transcript;
  feature_truncation: a deletion within or across it; an inversion gets none of these;
  regulatory_region_ablation: a deletion covering the regulatory feature (tier 2, with
  regulatory_region_variant; tier-3 feature_truncation is then not asked);
- an SV more than 5 kb from every transcript is intergenic_variant;
- unsupported types (``<FOO>``), single breakends without SVTYPE, ``--max_sv_size`` excess,
  ``.`` ALTs and unknown contigs give no rows; the ``*`` of ``C,*`` gets no row.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from _servers import Served, serve_with_vep_cache, write_vcf
from _support import SHARED_DATA, flight_sql_query, unavailable

CACHE = SHARED_DATA / "vep" / "cache" / "homo_sapiens" / "84_GRCh38"

HEADER = """##fileformat=VCFv4.2
##INFO=<ID=END,Number=1,Type=Integer,Description="End position">
##INFO=<ID=SVTYPE,Number=1,Type=String,Description="SV type">
##INFO=<ID=SVLEN,Number=.,Type=Integer,Description="SV length">
##ALT=<ID=DEL,Description="Deletion">
##ALT=<ID=DUP,Description="Duplication">
##ALT=<ID=INV,Description="Inversion">
##contig=<ID=21>
##contig=<ID=chrUn>
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO
"""


def query(uri: str, sql: str) -> list[dict[str, Any]]:
    return flight_sql_query(uri, sql).to_pylist()


def read_layout(uri: str) -> dict[str, Any]:
    """A protein-coding transcript, a regulatory feature and the end of all chr21 transcripts."""
    tx = query(
        uri,
        'SELECT stable_id, start, "end", strand FROM vep.transcripts '
        "WHERE chrom = '21' AND biotype = 'protein_coding' ORDER BY \"end\" - start DESC LIMIT 1",
    )[0]
    hi = query(uri, "SELECT max(\"end\") AS hi FROM vep.transcripts WHERE chrom = '21'")[0]["hi"]
    reg = query(
        uri,
        "SELECT stable_id, start, \"end\" FROM vep.regulatory WHERE chrom = '21' "
        "ORDER BY start LIMIT 1",
    )
    return {"tx": tx, "hi": hi, "reg": reg[0] if reg else None}


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not CACHE.is_dir():
        unavailable(f"shared VEP cache not found at {CACHE} (set GENOFLIGHT_SHARED_DATA)")
    with serve_with_vep_cache(tmp_path_factory.mktemp("vep_sv_cache"), CACHE) as served:
        return read_layout(served.uri)


def records(layout: dict[str, Any]) -> list[str]:
    tx = layout["tx"]
    s, e = tx["start"], tx["end"]
    far = layout["hi"] + 100_000
    lines = [
        # Over the whole transcript, 10 bases each side (POS is the padding base).
        f"21\t{s - 11}\tdel_all\tA\t<DEL>\t.\tPASS\tSVTYPE=DEL;END={e + 10}",
        f"21\t{s - 11}\tdup_all\tA\t<DUP>\t.\tPASS\tSVTYPE=DUP;END={e + 10}",
        f"21\t{s - 11}\tinv_all\tA\t<INV>\t.\tPASS\tSVTYPE=INV;END={e + 10}",
        # Inside the transcript (SVLEN only: end = POS + 40).
        f"21\t{s + 99}\tdel_in\tA\t<DEL>\t.\tPASS\tSVTYPE=DEL;SVLEN=-40",
        # Far from every transcript, unnamed.
        f"21\t{far}\t.\tA\t<DEL>\t.\tPASS\tEND={far + 500}",
        # A breakend inside the transcript.
        f"21\t{s + 200}\tbnd\tA\tA[21:{s + 5000}[\t.\tPASS\t.",
        # Skipped by VEP: unsupported type, single breakend without SVTYPE, no ALT.
        f"21\t{s + 300}\tfoo\tA\t<FOO>\t.\tPASS\tEND={s + 400}",
        f"21\t{s + 300}\tsingle\tA\t.A\t.\tPASS\t.",
        f"21\t{s + 300}\tnoalt\tA\t.\t.\tPASS\t.",
        # A deleted-allele `*` beside a sequence allele.
        f"21\t{s + 301}\tstar\tC\tA,*\t.\tPASS\t.",
        # A contig the cache lacks.
        "chrUn\t500\tunknown\tA\t<DEL>\t.\tPASS\tEND=900",
    ]
    reg = layout["reg"]
    if reg is not None:
        lines.append(f"21\t{reg['start'] - 6}\tdel_reg\tA\t<DEL>\t.\tPASS\tEND={reg['end'] + 5}")
    return lines


@pytest.fixture(scope="module")
def server(layout: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The cache and the SV VCF (table ``sv_input``), written into a temporary directory."""
    tmp = tmp_path_factory.mktemp("vep_sv")
    vcf = write_vcf(tmp / "sv.vcf", HEADER, records(layout))
    with serve_with_vep_cache(tmp, CACHE, {"sv_input": vcf}) as served:
        yield served


@pytest.fixture(scope="module")
def rows() -> str:
    return "sv_input"


def annotate(server: Served, table: str, *options: str) -> list[dict[str, Any]]:
    extra = "".join(f", '{o}'" for o in options)
    return query(
        server.uri,
        'SELECT id, "Uploaded_variation", "Location", "Allele", "Feature", "Feature_type", '
        f'"Consequence", "IMPACT", "VARIANT_CLASS" FROM annotate_vep(\'{table}\', \'vep\'{extra})',
    )


def by_id(out: list[dict[str, Any]], ident: str) -> list[dict[str, Any]]:
    return [r for r in out if r["id"] == ident]


def the_transcript_row(out: list[dict[str, Any]], ident: str, tx: str) -> dict[str, Any]:
    found = [r for r in by_id(out, ident) if r["Feature"] == tx]
    assert len(found) == 1, (ident, tx, by_id(out, ident))
    return found[0]


def test_deletion_duplication_inversion_over_a_transcript(
    server: Served, rows: str, layout: dict[str, Any]
) -> None:
    out = annotate(server, rows)
    tx = layout["tx"]
    s, e = tx["start"], tx["end"]
    d = the_transcript_row(out, "del_all", tx["stable_id"])
    assert d["Allele"] == "deletion" and d["VARIANT_CLASS"] == "deletion"
    assert d["Location"] == f"21:{s - 10}-{e + 10}"
    assert d["Uploaded_variation"] == "del_all"
    # Tier 1: once the transcript is ablated (amplified) VEP asks nothing else of it.
    assert d["Consequence"] == "transcript_ablation"
    assert d["IMPACT"] == "HIGH"
    u = the_transcript_row(out, "dup_all", tx["stable_id"])
    assert u["Allele"] == "duplication"
    assert u["Consequence"] == "transcript_amplification"
    i = the_transcript_row(out, "inv_all", tx["stable_id"])
    assert i["Allele"] == "inversion"
    for term in ("transcript_ablation", "transcript_amplification", "feature_truncation"):
        assert term not in i["Consequence"]


def test_deletion_inside_a_transcript(server: Served, rows: str, layout: dict[str, Any]) -> None:
    out = annotate(server, rows)
    tx = layout["tx"]
    r = the_transcript_row(out, "del_in", tx["stable_id"])
    # SVLEN=-40 at POS s+99: start s+100, end s+100+40-1.
    assert r["Location"] == f"21:{tx['start'] + 100}-{tx['start'] + 139}"
    terms = r["Consequence"].split(",")
    assert "feature_truncation" in terms and "transcript_ablation" not in terms


def test_intergenic_and_unnamed(server: Served, rows: str, layout: dict[str, Any]) -> None:
    out = annotate(server, rows)
    far = layout["hi"] + 100_000
    name = f"21_{far + 1}_<DEL>"
    found = [r for r in out if r["Uploaded_variation"] == name]
    assert len(found) == 1, found
    assert found[0]["Consequence"] == "intergenic_variant"
    assert found[0]["Feature"] is None and found[0]["Allele"] == "deletion"
    assert found[0]["Location"] == f"21:{far + 1}-{far + 500}"


def test_breakend_and_skipped_records(server: Served, rows: str, layout: dict[str, Any]) -> None:
    out = annotate(server, rows)
    bnd = by_id(out, "bnd")
    assert bnd and {r["Allele"] for r in bnd} == {"chromosome_breakpoint"}
    assert {r["Location"] for r in bnd} == {f"21:{layout['tx']['start'] + 201}"}
    for ident in ("foo", "single", "noalt", "unknown"):
        assert by_id(out, ident) == [], ident
    star = by_id(out, "star")
    assert star and {r["Allele"] for r in star} == {"A"}


def test_regulatory_ablation(server: Served, rows: str, layout: dict[str, Any]) -> None:
    reg = layout["reg"]
    if reg is None:
        pytest.skip("the cache has no regulatory feature on 21")
    out = annotate(server, rows, "regulatory=true")
    found = [r for r in by_id(out, "del_reg") if r["Feature"] == reg["stable_id"]]
    assert len(found) == 1, by_id(out, "del_reg")
    assert found[0]["Feature_type"] == "RegulatoryFeature"
    assert found[0]["Consequence"] == "regulatory_region_ablation,regulatory_region_variant"


def test_max_sv_size(server: Served, rows: str, layout: dict[str, Any]) -> None:
    out = annotate(server, rows, "max_sv_size=100")
    # del_in (39 bases) stays; the transcript-wide SVs are skipped.
    assert by_id(out, "del_in")
    assert by_id(out, "del_all") == [] and by_id(out, "dup_all") == []
    # The server keeps serving.
    assert query(server.uri, "SELECT 1 AS one") == [{"one": 1}]


def test_csq_on_structural_records(server: Served, rows: str) -> None:
    # The VCF-shaped form keeps every input record; SVs carry their class as the CSQ allele.
    out = {
        r["id"]: r["csq"]
        for r in query(server.uri, f"SELECT id, csq FROM annotate_vep_csq('{rows}', 'vep')")
    }
    assert out["del_all"].startswith("deletion|")
    assert out["foo"] is None and out["single"] is None and out["unknown"] is None
