"""annotate_vep on VCF records as Ensembl VEP 115's parser reads them, beyond the shared inputs.

Each expectation follows a rule of VEP's source, not a recorded output:

- Parser/VCF.pm compares first bases as written (before validate_vf uppercases), trims
  a multi-allelic indel only when every allele but ``*``-types shares its first base, and
  drops trailing empty ALTs (Perl's split); validate_vf accepts any allele string with an
  A, C, G, T or ``-`` in it (so IUPAC codes and ``-`` are annotated);
- VariationFeatureOverlap makes one allele object per distinct ALT, none for ``*`` or
  ``<DEL:*>``; an allele is annotated as it would be alone, so each allele's rows equal
  the rows of a record holding that allele only;
- OutputFactory lists rows feature by feature (transcripts, regulatory features, motifs,
  then the intergenic overlap, which exists only without any transcript), each feature's
  alleles in ALT order;
- the first of ``rs1;rs2`` is the variant's name (ensembl-io's get_IDs);
- chromosome names: the name, the cache's ``chr_synonyms.txt``, ``chr`` removed or added,
  and ``M`` as ``MT`` (Parser::_have_chr), else the record is skipped;
- VEP's ``--vcf`` output writes only the lines its parser made a variant of.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _servers import Served, serve, serve_with_vep_cache, write_config, write_vcf
from _support import SHARED_DATA, flight_sql_query, genoflight_cli, unavailable

VEP = SHARED_DATA / "vep"
CACHE = VEP / "cache" / "homo_sapiens" / "84_GRCh38"
REFSEQ = VEP / "cache" / "homo_sapiens_refseq" / "84_GRCh38"
HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
FIELDS = (
    'id, "Uploaded_variation", "Location", "Allele", "Feature", "Feature_type", '
    '"Consequence", "Codons", "Amino_acids", "cDNA_position", "VARIANT_CLASS"'
)


def query(uri: str, sql: str) -> list[dict[str, Any]]:
    return flight_sql_query(uri, sql).to_pylist()


def coding_site() -> tuple[int, str]:
    """A SNV of the shared test input that VEP finds coding in the most transcripts."""
    counts: dict[str, int] = {}
    everything = VEP / "expected" / "test.everything.txt"
    for line in everything.read_text().splitlines():
        f = line.split("\t")
        if line.startswith("#") or f[5] != "Transcript":
            continue
        if any(t in f[6] for t in ("missense", "synonymous")):
            counts[f[1]] = counts.get(f[1], 0) + 1
    location = max(counts, key=lambda k: (counts[k], k))
    pos = int(location.split(":")[1])
    for line in (VEP / "input" / "test.vcf").read_text().splitlines():
        f = line.split("\t")
        if not line.startswith("#") and f[0] == "21" and int(f[1]) == pos and len(f[3]) == 1:
            return pos, f[3]
    raise AssertionError(f"{location} not in test.vcf")


def records(pos: int, ref: str, alts: list[str], lonely_reg: dict[str, Any] | None) -> list[str]:
    """Records at one coding site; ids name what each checks."""
    other = alts[0]
    lines = [f"21\t{pos}\tsingle_{a}\t{ref}\t{a}\t.\t.\t." for a in [*alts, "Y", "-"]] + [
        f"21\t{pos}\tmulti\t{ref}\t{','.join(alts)}\t.\t.\t.",
        f"21\t{pos}\tdup_alt\t{ref}\t{other},{other}\t.\t.\t.",
        f"21\t{pos}\ttrailing\t{ref}\t{other},\t.\t.\t.",
        f"21\t{pos}\tiupac_multi\t{ref}\t{other},Y\t.\t.\t.",
        f"21\t{pos}\tgvcf\t{ref}\t{other},<*>\t.\t.\t.",
        f"21\t{pos}\tstar\t{ref}\t{other},*\t.\t.\t.",
        f"21\t{pos}\tfirst_id;second_id\t{ref}\t{other}\t.\t.\t.",
        # `c` is not `C`: no trimming, a substitution of two bases.
        f"21\t{pos}\tcased\t{ref.lower()}T\t{ref}\t.\t.\t.",
        f"21\t{pos}\tlower\t{ref.lower()}t\t{ref.lower()}\t.\t.\t.",
        f"21\t{pos}\tnonvariant\t{ref}\t.\t.\t.\t.",
        f"21\t{pos}\tnn\tN\tN\t.\t.\t.",
    ]
    if lonely_reg is not None:
        mid = (lonely_reg["start"] + lonely_reg["end"]) // 2
        lines.append(f"21\t{mid}\tlonely\tA\tG,T\t.\t.\t.")
    return lines


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not CACHE.is_dir():
        unavailable(f"shared VEP cache not found at {CACHE} (set GENOFLIGHT_SHARED_DATA)")
    with serve_with_vep_cache(tmp_path_factory.mktemp("vep_inputs_cache"), CACHE) as served:
        # A regulatory feature more than 5 kb from every transcript: intergenic there.
        lonely = query(
            served.uri,
            "SELECT r.stable_id, r.start, r.\"end\" FROM vep.regulatory r WHERE r.chrom = '21' "
            "AND NOT EXISTS (SELECT 1 FROM vep.transcripts t WHERE t.chrom = '21' "
            'AND t.start <= r."end" + 5001 AND t."end" >= r.start - 5001) '
            "ORDER BY r.start LIMIT 1",
        )
    pos, ref = coding_site()
    alts = [b for b in "ACGT" if b != ref][:2]
    return {"pos": pos, "ref": ref, "alts": alts, "lonely": lonely[0] if lonely else None}


@pytest.fixture(scope="module")
def vcf(layout: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    lines = records(layout["pos"], layout["ref"], layout["alts"], layout["lonely"])
    return write_vcf(tmp_path_factory.mktemp("vep_inputs") / "inputs.vcf", HEADER, lines)


@pytest.fixture(scope="module")
def server(vcf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("vep_inputs_serve")
    with serve_with_vep_cache(tmp, CACHE, {"inputs": vcf}) as served:
        yield served


@pytest.fixture(scope="module")
def everything(server: Served) -> list[dict[str, Any]]:
    sql = f"SELECT {FIELDS} FROM annotate_vep('inputs', 'vep', 'everything=true')"
    return query(server.uri, sql)


def of(rows: list[dict[str, Any]], ident: str) -> list[dict[str, Any]]:
    return [r for r in rows if r["id"] == ident]


def per_allele(rows: list[dict[str, Any]], allele: str) -> list[tuple]:
    """What annotating one allele gives, without the fields that name the record."""
    keep = ("Feature", "Feature_type", "Consequence", "Codons", "Amino_acids", "cDNA_position")
    return [tuple(r[k] for k in keep) for r in rows if r["Allele"] == allele]


def test_each_allele_annotates_as_alone(everything: list[dict[str, Any]], layout: dict) -> None:
    multi = of(everything, "multi")
    for alt in layout["alts"]:
        alone = per_allele(of(everything, f"single_{alt}"), alt)
        assert alone, alt
        assert per_allele(multi, alt) == alone
    for ident in ("dup_alt", "trailing", "first_id;second_id"):
        other = layout["alts"][0]
        assert per_allele(of(everything, ident), other) == per_allele(
            of(everything, f"single_{other}"), other
        ), ident


def test_rows_go_feature_by_feature(everything: list[dict[str, Any]], layout: dict) -> None:
    multi = of(everything, "multi")
    features: list[str] = []
    for r in multi:
        if r["Feature"] not in features:
            features.append(r["Feature"])
    expected = [
        (f, a)
        for f in features
        for a in layout["alts"]
        if any(r["Feature"] == f and r["Allele"] == a for r in multi)
    ]
    assert [(r["Feature"], r["Allele"]) for r in multi] == expected
    # At least two transcripts, so the order is really tested.
    assert sum(1 for r in multi if r["Feature_type"] == "Transcript") >= 4


def test_intergenic_row_comes_last(everything: list[dict[str, Any]], layout: dict) -> None:
    if layout["lonely"] is None:
        unavailable("the cache has no regulatory feature 5 kb away from every transcript")
    rows = of(everything, "lonely")
    kinds = [(r["Feature_type"], r["Allele"]) for r in rows]
    assert kinds[-2:] == [(None, "G"), (None, "T")], kinds
    assert all(r["Consequence"] == "intergenic_variant" for r in rows[-2:])
    assert ("RegulatoryFeature", "G") in kinds[:-2]


def test_iupac_and_dash_alleles(everything: list[dict[str, Any]], layout: dict) -> None:
    y = of(everything, "single_Y")
    assert y and {r["Allele"] for r in y} == {"Y"}
    assert {r["VARIANT_CLASS"] for r in y} == {"SNV"}
    # No codons or amino acids for an ambiguous allele (peptides need unambiguous DNA).
    assert all(r["Codons"] is None and r["Amino_acids"] is None for r in y)
    other = layout["alts"][0]
    mixed = of(everything, "iupac_multi")
    assert per_allele(mixed, other) == per_allele(of(everything, f"single_{other}"), other)
    assert per_allele(mixed, "Y") == per_allele(y, "Y")
    dash = of(everything, "single_-")
    assert dash and {r["Allele"] for r in dash} == {"-"}
    assert {r["VARIANT_CLASS"] for r in dash} == {"deletion"}
    assert {r["Location"] for r in dash} == {f"21:{layout['pos']}"}


def test_spanning_and_gvcf_alleles(everything: list[dict[str, Any]], layout: dict) -> None:
    other = layout["alts"][0]
    star = of(everything, "star")
    assert {r["Allele"] for r in star} == {other}
    gvcf = of(everything, "gvcf")
    assert per_allele(gvcf, other) == per_allele(of(everything, f"single_{other}"), other)
    assert any(r["Allele"] == "<*>" for r in gvcf)


def test_names_and_case(everything: list[dict[str, Any]], layout: dict) -> None:
    pos = layout["pos"]
    named = of(everything, "first_id;second_id")
    assert named and {r["Uploaded_variation"] for r in named} == {"first_id"}
    cased = of(everything, "cased")
    assert {r["Location"] for r in cased} == {f"21:{pos}-{pos + 1}"}
    assert {r["VARIANT_CLASS"] for r in cased} == {"substitution"}
    lower = of(everything, "lower")
    assert {r["Location"] for r in lower} == {f"21:{pos + 1}"}
    assert {(r["Allele"], r["VARIANT_CLASS"]) for r in lower} == {("-", "deletion")}
    for ident in ("nonvariant", "nn"):
        assert of(everything, ident) == [], ident


def test_vcf_output_leaves_out_what_vep_does_not_read(vcf: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.vcf"
    proc = genoflight_cli("annotate", vcf, "--cache", CACHE, "-o", out)
    assert proc.returncode == 0, proc.stderr
    ids = [line.split("\t")[2] for line in out.read_text().splitlines() if line[:1] != "#"]
    assert "nonvariant" not in ids and "nn" not in ids
    assert "multi" in ids and "star" in ids


@pytest.fixture(scope="module")
def refseq_with_synonyms(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The RefSeq test cache (it has MT) with a chr_synonyms.txt naming chrM."""
    if not REFSEQ.is_dir():
        unavailable(f"shared RefSeq cache not found at {REFSEQ}")
    root = tmp_path_factory.mktemp("synonyms") / "homo_sapiens_refseq" / "84_GRCh38"
    shutil.copytree(REFSEQ, root)
    (root / "chr_synonyms.txt").write_text("MT\tchrM\nMT\tNC_012920.1\n")
    return root


def test_mitochondrial_names(refseq_with_synonyms: Path, tmp_path: Path) -> None:
    """`M` is MT to VEP; `chrM` and accessions only through the cache's synonyms."""
    pos = 4472
    vcf = tmp_path / "mt.vcf"
    names = ["M", "MT", "chrM", "NC_012920.1"]
    vcf.write_text(HEADER + "".join(f"{n}\t{pos}\tv_{n}\tT\tA\t.\t.\t.\n" for n in names))
    given = tmp_path / "synonyms.txt"
    given.write_text("MT chrM\n")
    config = write_config(
        tmp_path / "c.toml",
        {
            "tables": [{"name": "mt", "path": str(vcf)}],
            "vep_caches": [
                {"name": "plain", "path": str(REFSEQ)},
                {"name": "syn", "path": str(refseq_with_synonyms)},
                {"name": "given", "path": str(REFSEQ), "synonyms": str(given)},
            ],
        },
    )
    with serve(config, tmp_path) as served:
        sql = "SELECT id, \"Location\" FROM annotate_vep('mt', '{}')"
        plain = query(served.uri, sql.format("plain"))
        syn = query(served.uri, sql.format("syn"))
        from_config = query(served.uri, sql.format("given"))
    located = lambda rows: {r["id"]: r["Location"] for r in rows}  # noqa: E731
    assert located(plain) == {"v_M": f"MT:{pos}", "v_MT": f"MT:{pos}"}
    assert located(syn) == {
        "v_M": f"MT:{pos}",
        "v_MT": f"MT:{pos}",
        "v_chrM": f"chrM:{pos}",
        "v_NC_012920.1": f"NC_012920.1:{pos}",
    }
    # VEP's --synonyms: the config key and the annotate flag read the file given.
    assert located(from_config) == {
        "v_M": f"MT:{pos}",
        "v_MT": f"MT:{pos}",
        "v_chrM": f"chrM:{pos}",
    }
    out = tmp_path / "mt.txt"
    proc = genoflight_cli("annotate", vcf, "--cache", REFSEQ, "--synonyms", given, "-o", out)
    assert proc.returncode == 0, proc.stderr
    ids = {line.split("\t")[0] for line in out.read_text().splitlines() if line[:1] != "#"}
    assert ids == {"v_M", "v_MT", "v_chrM"}
    missing = genoflight_cli("annotate", vcf, "--cache", REFSEQ, "--synonyms", tmp_path / "no")
    assert missing.returncode == 2 and "--synonyms" in missing.stderr
