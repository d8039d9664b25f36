"""``genoflight export`` (``_native.export``): query results written as VCF, BAM, BED, FASTQ and
Parquet, read back by the reference tools.

Round trips of the shared htslib files: ``bcftools view`` counts and ``bcftools query`` fields
(fixed columns, INFO as key sets, every sample's FORMAT values), ``samtools quickcheck`` and
``samtools view`` fields (flag, position, MAPQ, CIGAR, mate, sequence, qualities, tags),
``tabix -l`` and region queries through the written indexes, FASTQ records, filtered exports,
unsorted results (sorted on the way out), and bad inputs.
"""

from __future__ import annotations

import gzip
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from _support import SHARED_DATA, genoflight_cli, require_native, require_tool
from genoflight.config import Config

VCF_DIR = SHARED_DATA / "htslib" / "vcf"
ALIGNMENT_DIR = SHARED_DATA / "htslib" / "alignment"
ANNOTATION_DIR = SHARED_DATA / "htslib" / "annotation"
SEQUENCE_DIR = SHARED_DATA / "htslib" / "sequence"

VCFS = ["vcf_file.vcf.gz", "ex1.vcf.gz", "22.vcf.gz", "example_vcf43.vcf", "gnomad.vcf"]
# (file, table); SAM files with typed A/H tags are left out of tag equality (see README).
ALIGNMENTS = ["ex1.bam", "mpileup.1.bam", "range.bam", "ex_spliced.bam", "toy.sam", "ce#5.sam"]


def run(tool: str, *args: str | Path) -> str:
    exe = require_tool(tool)
    proc = subprocess.run(
        [exe, *map(str, args)], capture_output=True, timeout=120, check=False, text=True
    )
    assert proc.returncode == 0, f"{tool} {' '.join(map(str, args))}: {proc.stderr}"
    return proc.stdout


def export(paths: list[Path], sql: str, out: Path) -> dict[str, Any]:
    native = require_native()
    config = Config().with_overrides(paths=paths).to_native_json()
    return json.loads(native.export(config, sql, str(out)))


def export_error(paths: list[Path], sql: str, out: Path) -> str:
    native = require_native()
    config = Config().with_overrides(paths=paths).to_native_json()
    with pytest.raises(ValueError) as e:
        native.export(config, sql, str(out))
    return str(e.value)


def table(path: Path) -> str:
    name = path.name
    for suffix in (".vcf.gz", ".vcf", ".bam", ".sam", ".bed.gz", ".bed", ".fq.gz", ".fq"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return '"' + "".join(c if c.isalnum() or c == "_" else "_" for c in name) + '"'


# --------------------------------------------------------------------------------------------
# VCF


def vcf_records(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in run("bcftools", "view", "-H", path).splitlines()]


def info_dict(info: str) -> dict[str, str]:
    if info == ".":
        return {}
    return dict([*kv.split("=", 1), "<flag>"][:2] for kv in info.split(";"))


def sample_dicts(record: list[str]) -> list[dict[str, str]]:
    if len(record) < 10:
        return []
    keys = record[8].split(":")
    out = []
    for sample in record[9:]:
        values = sample.split(":")
        out.append(
            {k: v for k, v in zip(keys, values, strict=False) if v not in (".", "./.", ".|.")}
        )
    return out


@pytest.mark.parametrize("name", VCFS)
def test_vcf_round_trip(tmp_path: Path, name: str) -> None:
    src = VCF_DIR / name
    out = tmp_path / "out.vcf.gz"
    summary = export([src], f"SELECT * FROM {table(src)}", out)
    original, written = vcf_records(src), vcf_records(out)
    assert summary["format"] == "vcf"
    assert summary["rows"] == len(original) == len(written)
    assert summary["index"] == f"{out}.tbi" and Path(summary["index"]).is_file()
    # bcftools sorts nothing: compare in coordinate order (the export sorts an unsorted input).
    key = lambda r: (r[0], int(r[1]), r[3], r[4])  # noqa: E731
    # Tables hold the INFO fields the header declares (22.vcf.gz has undeclared ones).
    declared = {
        line.split("ID=", 1)[1].split(",", 1)[0]
        for line in run("bcftools", "view", "-h", src).splitlines()
        if line.startswith("##INFO=<")
    }
    for a, b in zip(sorted(original, key=key), sorted(written, key=key), strict=True):
        assert a[:7] == b[:7], (a[:7], b[:7])
        # KEY=. is a missing value: the table holds NULL, written as an absent key.
        info = {k: v for k, v in info_dict(a[7]).items() if k in declared and v != "."}
        assert info == info_dict(b[7]), (a[:2], a[7], b[7])
        assert sample_dicts(a) == sample_dicts(b), (a[:2], a[8:], b[8:])
    assert run("bcftools", "query", "-l", src) == run("bcftools", "query", "-l", out)
    header = run("bcftools", "view", "-h", out)
    assert "##genoflight_exportCommand=SELECT * FROM" in header
    for line in run("bcftools", "view", "-h", src).splitlines():
        if line.startswith("##contig=") or line.startswith("##FILTER=<ID=q10"):
            assert line in header


def test_vcf_filtered_export_and_index_regions(tmp_path: Path) -> None:
    src = VCF_DIR / "22.vcf.gz"
    out = tmp_path / "chr2.vcf.gz"
    sql = "SELECT * FROM \"22\" WHERE chrom = 'chr2' AND start >= 20000000"
    summary = export([src], sql, out)
    expected = [r for r in vcf_records(src) if r[0] == "chr2" and int(r[1]) >= 20000000]
    assert summary["rows"] == len(expected) > 0
    assert [r[:5] for r in vcf_records(out)] == [r[:5] for r in expected]
    assert run("tabix", "-l", out).split() == ["chr2"]
    region = "chr2:30000000-60000000"
    assert run("tabix", out, region).count("\n") == run("tabix", src, region).count("\n") > 0


def test_vcf_unsorted_result_is_sorted_for_the_index(tmp_path: Path) -> None:
    src = VCF_DIR / "vcf_file.vcf.gz"
    out = tmp_path / "sorted.vcf.gz"
    summary = export([src], "SELECT * FROM vcf_file ORDER BY start DESC", out)
    records = vcf_records(out)
    assert summary["rows"] == len(records) == 15
    positions = [(r[0], int(r[1])) for r in records]
    assert positions == sorted(positions, key=lambda p: (int(p[0]), p[1]))
    assert run("tabix", "-l", out).split() == ["1", "2", "3", "4"]


def test_vcf_selected_columns_keep_only_their_header_lines(tmp_path: Path) -> None:
    src = VCF_DIR / "vcf_file.vcf.gz"
    out = tmp_path / "sites.vcf.gz"
    export([src], 'SELECT chrom, start, ref, alt, "AC", qual * 2 AS dq FROM vcf_file', out)
    header = run("bcftools", "view", "-h", out)
    assert "##INFO=<ID=AC," in header and "##INFO=<ID=AN," not in header
    assert "##INFO=<ID=dq,Number=1,Type=Float" in header
    assert "##FORMAT" not in header and header.splitlines()[-1].endswith("\tINFO")
    got = run("bcftools", "query", "-f", "%POS\t%AC\t%dq\n", out).splitlines()
    want = run("bcftools", "query", "-f", "%POS\t%AC\t%QUAL\n", src).splitlines()
    assert len(got) == len(want) == 15
    for g, w in zip(got, want, strict=True):
        gp, gac, gdq = g.split("\t")
        wp, wac, wq = w.split("\t")
        assert (gp, gac) == (wp, wac)
        if wq == ".":
            assert gdq == "."
        else:
            assert float(gdq) == pytest.approx(2 * float(wq), rel=1e-6)


def test_vcf_from_parquet_gets_a_made_header(tmp_path: Path) -> None:
    src = VCF_DIR / "vcf_file.vcf.gz"
    parquet = tmp_path / "sites.parquet"
    export([src], 'SELECT chrom, start, id, ref, alt, qual, filter, "AN" FROM vcf_file', parquet)
    out = tmp_path / "from_parquet.vcf.gz"
    summary = export([parquet], "SELECT * FROM sites", out)
    assert summary["rows"] == 15
    header = run("bcftools", "view", "-h", out)
    assert "##contig=<ID=1>" in header and "##INFO=<ID=AN,Number=1,Type=Integer" in header
    got = run("bcftools", "query", "-f", "%CHROM\t%POS\t%REF\t%ALT\t%AN\n", out)
    assert got == run("bcftools", "query", "-f", "%CHROM\t%POS\t%REF\t%ALT\t%AN\n", src)


# --------------------------------------------------------------------------------------------
# BAM


def sam_records(path: Path, *region: str) -> list[list[str]]:
    lines = run("samtools", "view", path, *region).splitlines()
    return [line.split("\t") for line in lines]


@pytest.mark.parametrize("name", ALIGNMENTS)
def test_bam_round_trip(tmp_path: Path, name: str) -> None:
    src = ALIGNMENT_DIR / name
    out = tmp_path / "out.bam"
    summary = export([src], f"SELECT * FROM {table(src)}", out)
    run("samtools", "quickcheck", "-v", out)
    original, written = sam_records(src), sam_records(out)
    assert summary["format"] == "bam"
    assert summary["rows"] == len(original) == len(written)
    assert summary["index"] == f"{out}.bai"
    assert int(run("samtools", "view", "-c", out)) == len(original)
    # Sorted input stays in its order; same fields, tags as sets (their order is the map's).
    if "SO:coordinate" not in run("samtools", "view", "-H", src):
        key = lambda r: (r[2], int(r[3]), r[0], r[1])  # noqa: E731
        original.sort(key=key)
        written.sort(key=key)
    for a, b in zip(original, written, strict=True):
        assert a[:11] == b[:11], (a[:11], b[:11])
        assert sorted(a[11:]) == sorted(b[11:]), (a[0], a[11:], b[11:])
    header = run("samtools", "view", "-H", out)
    assert header.startswith("@HD\t") and "SO:coordinate" in header.splitlines()[0]
    assert "@PG\tID:genoflight\tPN:genoflight" in header
    for line in run("samtools", "view", "-H", src).splitlines():
        if line.startswith(("@SQ", "@RG")):
            assert line in header


def tag_values(tags: list[str]) -> dict[str, object]:
    """Tag -> value, numbers as floats: the tags map keeps SAM text, not the type letter."""
    out: dict[str, object] = {}
    for t in tags:
        name, kind, value = t.split(":", 2)
        out[name] = float(value) if kind in "if" else value
    return out


def test_bam_from_sam_with_every_tag_type(tmp_path: Path) -> None:
    src = ALIGNMENT_DIR / "auxf#values.sam"
    out = tmp_path / "aux.bam"
    summary = export([src], "SELECT * FROM auxf_values", out)
    run("samtools", "quickcheck", out)
    original, written = sam_records(src), sam_records(out)
    assert summary["rows"] == len(original) == len(written) == 2
    for a, b in zip(original, written, strict=True):
        assert a[:11] == b[:11]
        assert tag_values(a[11:]) == tag_values(b[11:])
        # Types kept where the text tells them: A, i, Z, B arrays with their subtype.
        kept = [t for t in a[11:] if t.split(":")[1] in "AiZB" and t.split(":")[2]]
        assert set(kept) <= set(b[11:]), set(kept) - set(b[11:])


def test_bam_filtered_export_and_region_queries(tmp_path: Path) -> None:
    src = ALIGNMENT_DIR / "ex1.bam"
    out = tmp_path / "mapq.bam"
    summary = export([src], "SELECT * FROM ex1 WHERE mapping_quality >= 30", out)
    expected = int(run("samtools", "view", "-c", "-q", "30", src))
    assert summary["rows"] == expected == int(run("samtools", "view", "-c", out))
    for region in ("chr1:100-500", "chr2:1000-1200"):
        want = int(run("samtools", "view", "-c", "-q", "30", src, region))
        assert int(run("samtools", "view", "-c", out, region)) == want > 0
    idxstats = run("samtools", "idxstats", out)
    assert sum(int(line.split("\t")[2]) for line in idxstats.splitlines()) == expected


def test_bam_unsorted_result_is_sorted_for_the_index(tmp_path: Path) -> None:
    src = ALIGNMENT_DIR / "range.bam"
    out = tmp_path / "sorted.bam"
    summary = export([src], "SELECT * FROM range ORDER BY name", out)
    run("samtools", "quickcheck", out)
    records = sam_records(out)
    assert summary["rows"] == len(records) == 112
    contigs = [
        line.split("\t")[1][3:]
        for line in run("samtools", "view", "-H", src).splitlines()
        if line.startswith("@SQ")
    ]
    keys = [(contigs.index(r[2]) if r[2] != "*" else len(contigs), int(r[3])) for r in records]
    assert keys == sorted(keys)
    assert run("samtools", "view", "-c", out, "CHROMOSOME_I") == run(
        "samtools", "view", "-c", src, "CHROMOSOME_I"
    )


# --------------------------------------------------------------------------------------------
# BED, FASTQ, Parquet


def bed_lines(path: Path) -> list[list[str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        return [
            line.rstrip("\n").split("\t")
            for line in f
            if line.strip() and not line.startswith(("#", "track", "browser"))
        ]


@pytest.mark.parametrize("name", ["knownGene.hg18.chr21.short.bed", "example.bed"])
def test_bed_round_trip(tmp_path: Path, name: str) -> None:
    src = ANNOTATION_DIR / name
    out = tmp_path / "out.bed.gz"
    summary = export([src], f"SELECT * FROM {table(src)}", out)
    original = bed_lines(src)
    written = bed_lines(out)
    assert summary["rows"] == len(original) == len(written)
    key = lambda r: (r[0], int(r[1]), int(r[2]))  # noqa: E731
    for a, b in zip(sorted(original, key=key), written, strict=True):
        assert a[:3] == b[:3]
        assert len(a) == len(b)
        for x, y in zip(a[3:], b[3:], strict=True):
            assert x.rstrip(",") == y.rstrip(","), (a, b)
    chroms = sorted({r[0] for r in original})
    assert sorted(run("tabix", "-l", out).split()) == chroms
    first = sorted(original, key=key)[0]
    region = f"{first[0]}:{int(first[1]) + 1}-{int(first[2])}"
    want = sum(1 for r in original if r[0] == first[0] and int(r[1]) < int(first[2]))
    assert run("tabix", out, region).count("\n") == want


def fastq_records(path: Path) -> list[tuple[str, str, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        lines = [line.rstrip("\n") for line in f]
    records = []
    i = 0
    while i < len(lines):
        if not lines[i]:
            i += 1
            continue
        header = lines[i][1:]
        seq: list[str] = []
        i += 1
        while not lines[i].startswith("+"):
            seq.append(lines[i])
            i += 1
        i += 1
        qual: list[str] = []
        while sum(map(len, qual)) < sum(map(len, seq)):
            qual.append(lines[i])
            i += 1
        records.append((header, "".join(seq), "".join(qual)))
    return records


@pytest.mark.parametrize("name", ["fastqs.fq", "r1.fq", "faidx_ex1.fq.gz"])
def test_fastq_round_trip(tmp_path: Path, name: str) -> None:
    src = SEQUENCE_DIR / name
    out = tmp_path / "out.fastq.gz"
    summary = export([src], f"SELECT * FROM {table(src)}", out)
    original = fastq_records(src)
    assert summary["rows"] == len(original)
    assert summary["index"] is None
    normalise = lambda r: (" ".join(r[0].split()), r[1], r[2])  # noqa: E731
    assert [normalise(r) for r in fastq_records(out)] == [normalise(r) for r in original]


def test_fastq_from_bam_matches_samtools_fastq(tmp_path: Path) -> None:
    src = ALIGNMENT_DIR / "ex1.bam"
    out = tmp_path / "reads.fastq.gz"
    export(
        [src], "SELECT name, sequence, quality_scores, flags FROM ex1 WHERE flags & 64 = 64", out
    )
    reference = tmp_path / "samtools.fq"
    reference.write_text(run("samtools", "fastq", "-f", "64", "-n", src))
    assert sorted(fastq_records(out)) == sorted(fastq_records(reference))


def test_parquet_keeps_order_and_schema_metadata(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    src = VCF_DIR / "22.vcf.gz"
    out = tmp_path / "chrom=chr1" / "part.parquet"
    out.parent.mkdir()
    sql = "SELECT chrom, start, ref, alt, genotypes FROM \"22\" WHERE chrom = 'chr1' ORDER BY start"
    summary = export([src], sql, out)
    t = pq.read_table(out)
    want = [int(r[1]) for r in vcf_records(src) if r[0] == "chr1"]
    assert summary["rows"] == t.num_rows == len(want)
    assert t.column("start").to_pylist() == sorted(want)
    assert t.schema.metadata[b"bio.coordinate_system_zero_based"] == b"false"
    assert t.schema.field("genotypes").type.value_type.num_fields > 1


@pytest.mark.parametrize(
    ("src", "suffix"),
    [
        (VCF_DIR / "vcf_file.vcf.gz", ".vcf.gz"),
        (ANNOTATION_DIR / "knownGene.hg18.chr21.short.bed", ".bed.gz"),
        (ALIGNMENT_DIR / "ex1.bam", ".bam"),
    ],
)
def test_zero_based_tables_export_the_same_file(tmp_path: Path, src: Path, suffix: str) -> None:
    config = tmp_path / "zero.toml"
    config.write_text(f'[[tables]]\nname = "z"\npath = "{src}"\nzero_based = true\n')
    zero, one = tmp_path / f"zero{suffix}", tmp_path / f"one{suffix}"
    proc = genoflight_cli("export", "SELECT * FROM z", "--config", config, "-o", zero)
    assert proc.returncode == 0, proc.stderr
    export([src], f"SELECT * FROM {table(src)}", one)
    if suffix == ".bam":
        assert sam_records(zero) == sam_records(one)
    elif suffix == ".vcf.gz":
        assert vcf_records(zero) == vcf_records(one)
    else:
        assert bed_lines(zero) == bed_lines(one)


# --------------------------------------------------------------------------------------------
# Bad inputs


def test_bad_inputs_are_clear_errors(tmp_path: Path) -> None:
    src = VCF_DIR / "vcf_file.vcf.gz"
    e = export_error([src], "SELECT * FROM vcf_file", tmp_path / "out.vcf")
    assert ".vcf.gz" in e and "out.vcf" in e
    e = export_error([src], "SELECT chrom, qual FROM vcf_file", tmp_path / "x.vcf.gz")
    assert "'start'" in e and "'ref'" in e and "needs" in e
    e = export_error([src], "SELECT chrom, start FROM vcf_file", tmp_path / "x.bam")
    assert "'flags'" in e
    e = export_error([src], "SELECT chrom FROM vcf_file", tmp_path / "x.fastq.gz")
    assert "'name'" in e and "'sequence'" in e
    e = export_error([src], "SELEC * FROM vcf_file", tmp_path / "x.parquet")
    assert "SELEC" in e or "syntax" in e.lower()
    e = export_error([src], "SELECT * FROM nowhere", tmp_path / "x.parquet")
    assert "nowhere" in e
    e = export_error([src], "SELECT * FROM vcf_file", tmp_path / "missing" / "x.vcf.gz")
    assert "does not exist" in e
    assert not list(tmp_path.glob(".genoflight-*")), "a failed export left a temporary file"


def test_cli_export_and_its_errors(tmp_path: Path) -> None:
    src = VCF_DIR / "vcf_file.vcf.gz"
    out = tmp_path / "cli.vcf.gz"
    proc = genoflight_cli("export", "SELECT * FROM vcf_file", src, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert "wrote 15 VCF records" in proc.stderr and out.is_file()
    for args, words in [
        (["SELECT * FROM vcf_file", src, "-o", tmp_path / "x.txt"], ".vcf.gz"),
        (["SELECT chrom FROM vcf_file", src, "-o", tmp_path / "x.vcf.gz"], "'start'"),
        (["SELECT * FROM vcf_file", src, "-o", tmp_path / "no" / "x.bam"], "does not exist"),
    ]:
        proc = genoflight_cli("export", *args)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("genoflight: error:"), proc.stderr
        assert words in lines[0], lines[0]
