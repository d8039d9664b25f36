"""The demo dataset generator (genoflight.demo), checked with bcftools/tabix and pyarrow.

BGZF + tabix are done here by the htslib command-line tools so that these tests need no native
module; ``genoflight tables --demo`` in test_cli.py covers the native ``bgzip_vcf`` path.
"""

from __future__ import annotations

import csv
import random
import subprocess
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from _support import require_tool, run_bcftools
from genoflight import demo


def htslib_bgzip(src: str, dest: str) -> None:
    bgzip, tabix = require_tool("bgzip"), require_tool("tabix")
    with open(dest, "wb") as out:
        subprocess.run([bgzip, "-c", src], stdout=out, check=True)
    subprocess.run([tabix, "-p", "vcf", dest], check=True)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo.ensure_demo(tmp_path_factory.mktemp("demo") / "d", bgzip=htslib_bgzip)


def test_files_and_marker(demo_dir: Path) -> None:
    names = {p.name for p in demo_dir.iterdir()}
    assert names == {*demo.FILES, demo.MARKER}, names
    assert demo.is_complete(demo_dir)


def test_second_call_reuses_the_dataset(demo_dir: Path) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in demo_dir.iterdir()}

    def must_not_run(src: str, dest: str) -> None:
        raise AssertionError("regenerated a complete demo dataset")

    assert demo.ensure_demo(demo_dir, bgzip=must_not_run) == demo_dir
    assert {p.name: p.stat().st_mtime_ns for p in demo_dir.iterdir()} == before


def test_incomplete_dataset_is_regenerated(tmp_path: Path) -> None:
    target = tmp_path / "d"
    target.mkdir()
    (target / "cohort.vcf.gz").write_bytes(b"partial")  # no marker: an interrupted run
    demo.ensure_demo(target, bgzip=htslib_bgzip)
    assert demo.is_complete(target)
    assert (target / "cohort.vcf.gz").stat().st_size > 1000
    assert not list(tmp_path.glob(".d.partial-*")), "staging directory left behind"


def test_generation_is_deterministic(tmp_path: Path) -> None:
    texts = []
    for i in range(2):
        rng = random.Random(demo.SEED)
        path = tmp_path / f"{i}.vcf"
        demo.write_vcf_text(path, rng, demo.generate_genes(rng))
        texts.append(path.read_bytes())
    assert texts[0] == texts[1]


def test_vcf_is_valid_and_has_the_promised_content(demo_dir: Path) -> None:
    vcf = demo_dir / "cohort.vcf.gz"
    proc = subprocess.run(
        [require_tool("bcftools"), "view", "-H", str(vcf)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr  # no htslib warnings
    records = proc.stdout.splitlines()
    assert len(records) == demo.N_VARIANTS

    assert run_bcftools("query", "-l", vcf).split() == [s[0] for s in demo.SAMPLES]
    rows = [
        line.split("\t")
        for line in run_bcftools(
            "query", "-f", "%CHROM\t%POS\t%REF\t%ALT\t%QUAL\t%FILTER\t%INFO/GENE\t[%GT,]\n", vcf
        ).splitlines()
    ]
    chroms = Counter(r[0] for r in rows)
    assert set(chroms) == {name for name, _ in demo.CONTIGS}
    alts = [r[3].split(",") for r in rows]
    assert any(len(a) > 1 for a in alts), "no multi-allelic site"
    assert any(len(r[2]) > 1 for r in rows), "no deletion"
    assert any(len(x) > 1 for a in alts for x in a), "no insertion"
    assert any(r[4] == "." for r in rows), "no missing QUAL"
    assert {r[5] for r in rows} == {"PASS", "LowQual"}
    assert any("./." in r[7] for r in rows), "no missing genotype"
    assert any(r[6] != "." for r in rows), "no variant inside a gene"

    # Sorted by contig (header order) then position: the index must answer region queries.
    order = [name for name, _ in demo.CONTIGS]
    keys = [(order.index(r[0]), int(r[1])) for r in rows]
    assert keys == sorted(keys)
    region = run_bcftools("view", "-H", "-r", "chr2", vcf).splitlines()
    assert len(region) == chroms["chr2"]


def test_genes_parquet_matches_the_vcf(demo_dir: Path) -> None:
    genes = pq.read_table(demo_dir / "genes.parquet")
    assert genes.schema.names == ["gene_id", "chrom", "start", "end", "strand", "biotype"]
    by_id = {g["gene_id"]: g for g in genes.to_pylist()}
    assert all(g["start"] <= g["end"] for g in by_id.values())
    rows = run_bcftools(
        "query",
        "-i",
        "INFO/GENE!='.'",
        "-f",
        "%CHROM\t%POS\t%INFO/GENE\n",
        demo_dir / "cohort.vcf.gz",
    ).splitlines()
    assert rows
    for chrom, pos, gene_id in (r.split("\t") for r in rows):
        gene = by_id[gene_id]
        assert gene["chrom"] == chrom and gene["start"] <= int(pos) <= gene["end"]


def test_samples_csv(demo_dir: Path) -> None:
    with (demo_dir / "samples.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["sample_id"] for r in rows] == [s[0] for s in demo.SAMPLES]
    assert set(rows[0]) == {"sample_id", "population", "sex"}


def test_default_dir_honours_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GENOFLIGHT_DEMO_DIR", str(tmp_path / "x"))
    assert demo.default_demo_dir() == tmp_path / "x"
    monkeypatch.delenv("GENOFLIGHT_DEMO_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert demo.default_demo_dir() == (
        tmp_path / "cache" / "genoflight" / "demo" / demo.GENERATOR_VERSION
    )
