"""The demo dataset behind ``genoflight serve --demo``: small, synthetic, and deterministic.

Generated once into a cache directory (``$GENOFLIGHT_DEMO_DIR``, or
``~/.cache/genoflight/demo/<GENERATOR_VERSION>``) and reused while its completion marker is
there. The marker is written last, so an interrupted run is simply redone.

Contents:

- ``cohort.vcf.gz`` (+ ``.tbi``): VCFv4.3, 4 samples, ~5000 variants on chr1..chr3 (SNVs,
  indels, a few multi-allelic sites), INFO DP/AF/DB/GENE, FORMAT GT:DP:GQ:AD, some missing
  genotypes and QUALs, FILTER PASS/LowQual. Served as tables ``cohort`` and ``cohort_genotypes``.
- ``genes.parquet``: the synthetic genes the variants' INFO/GENE refers to (table ``genes``).
- ``samples.csv``: sample_id, population, sex (table ``samples``).
"""

from __future__ import annotations

import bisect
import csv
import os
import random
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CONTIGS",
    "GENERATOR_VERSION",
    "MARKER",
    "SAMPLES",
    "Gene",
    "default_demo_dir",
    "ensure_demo",
    "generate_genes",
    "is_complete",
    "write_vcf_text",
]

#: Bump when the generated content changes: it names the default cache directory.
GENERATOR_VERSION = "1"
SEED = 20_240_611
MARKER = ".genoflight-demo-complete"
N_VARIANTS = 5000
VCF_NAME = "cohort.vcf.gz"
FILES = (VCF_NAME, VCF_NAME + ".tbi", "genes.parquet", "samples.csv")

CONTIGS: tuple[tuple[str, int], ...] = (("chr1", 1_200_000), ("chr2", 900_000), ("chr3", 700_000))
SAMPLES: tuple[tuple[str, str, str], ...] = (
    ("DEMO01", "GBR", "female"),
    ("DEMO02", "GBR", "male"),
    ("DEMO03", "YRI", "female"),
    ("DEMO04", "CHB", "male"),
)
GENES_PER_CONTIG = 24
BIOTYPES = (("protein_coding", 0.7), ("lncRNA", 0.15), ("pseudogene", 0.1), ("miRNA", 0.05))

Bgzip = Callable[[str, str], None]
Log = Callable[[str], None]


@dataclass(frozen=True)
class Gene:
    gene_id: str
    chrom: str
    start: int  # 1-based, closed
    end: int
    strand: str
    biotype: str


def default_demo_dir() -> Path:
    """``$GENOFLIGHT_DEMO_DIR``, else ``$XDG_CACHE_HOME`` (or ``~/.cache``)/genoflight/demo/<v>."""
    env = os.environ.get("GENOFLIGHT_DEMO_DIR")
    if env:
        return Path(env).expanduser().absolute()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser().absolute() / "genoflight" / "demo" / GENERATOR_VERSION


def is_complete(directory: Path) -> bool:
    marker = directory / MARKER
    try:
        version = marker.read_text(encoding="utf-8").splitlines()[0].strip()
    except (OSError, IndexError):
        return False
    return version == GENERATOR_VERSION and all((directory / f).is_file() for f in FILES)


def ensure_demo(
    directory: Path | None = None, *, bgzip: Bgzip | None = None, log: Log | None = None
) -> Path:
    """Return the demo directory, generating the dataset first unless it is already complete.

    ``bgzip(src_text_vcf, dest_vcf_gz)`` must write BGZF plus a tabix index; it defaults to
    ``genoflight._native.bgzip_vcf``.
    """
    target = (directory or default_demo_dir()).absolute()
    if is_complete(target):
        return target
    if bgzip is None:
        from genoflight.native import load_native

        bgzip = load_native().bgzip_vcf
    if log is not None:
        log(f"generating the demo dataset in {target} (once)")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        _generate(staging, bgzip)
        target.mkdir(exist_ok=True)
        (target / MARKER).unlink(missing_ok=True)
        for name in FILES:
            os.replace(staging / name, target / name)
        (target / MARKER).write_text(
            f"{GENERATOR_VERSION}\n" + "".join(f"{n}\n" for n in FILES), encoding="utf-8"
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _generate(directory: Path, bgzip: Bgzip) -> None:
    rng = random.Random(SEED)
    genes = generate_genes(rng)
    text = directory / "cohort.vcf"
    write_vcf_text(text, rng, genes)
    bgzip(str(text), str(directory / VCF_NAME))
    text.unlink()
    for name in (VCF_NAME, VCF_NAME + ".tbi"):
        if not (directory / name).is_file():
            raise RuntimeError(f"bgzip_vcf did not write {name} in {directory}")
    write_genes_parquet(directory / "genes.parquet", genes)
    write_samples_csv(directory / "samples.csv")


# --------------------------------------------------------------------------------------------
# Genes


def generate_genes(rng: random.Random) -> list[Gene]:
    """Non-overlapping genes, sorted by contig then start."""
    genes: list[Gene] = []
    labels = [b for b, _ in BIOTYPES]
    weights = [w for _, w in BIOTYPES]
    for chrom, length in CONTIGS:
        slot = length // GENES_PER_CONTIG
        for i in range(GENES_PER_CONTIG):
            start = i * slot + 1 + rng.randint(0, slot // 4)
            end = start + rng.randint(2_000, slot // 2)
            genes.append(
                Gene(
                    gene_id=f"DEMOG{len(genes) + 1:04d}",
                    chrom=chrom,
                    start=start,
                    end=min(end, length),
                    strand=rng.choice("+-"),
                    biotype=rng.choices(labels, weights)[0],
                )
            )
    return genes


def write_genes_parquet(path: Path, genes: Sequence[Gene]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [
            pa.field("gene_id", pa.string(), nullable=False),
            pa.field("chrom", pa.string(), nullable=False),
            pa.field("start", pa.int64(), nullable=False),
            pa.field("end", pa.int64(), nullable=False),
            pa.field("strand", pa.string(), nullable=False),
            pa.field("biotype", pa.string(), nullable=False),
        ],
        metadata={"bio.coordinate_system_zero_based": "false"},
    )
    columns = {name: [getattr(g, name) for g in genes] for name in schema.names}
    pq.write_table(pa.table(columns, schema=schema), path)


def write_samples_csv(path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(("sample_id", "population", "sex"))
        writer.writerows(SAMPLES)


# --------------------------------------------------------------------------------------------
# VCF


def _header() -> list[str]:
    lines = [
        "##fileformat=VCFv4.3",
        "##fileDate=20250101",
        f"##source=genoflight-demo-{GENERATOR_VERSION}",
        "##reference=synthetic",
    ]
    lines += [f"##contig=<ID={name},length={length}>" for name, length in CONTIGS]
    lines += [
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Total read depth over all samples">',
        '##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency among called genotypes">',
        '##INFO=<ID=DB,Number=0,Type=Flag,Description="Known variant (has an rs identifier)">',
        '##INFO=<ID=GENE,Number=1,Type=String,Description="Gene overlapping the variant">',
        '##FILTER=<ID=PASS,Description="All filters passed">',
        '##FILTER=<ID=LowQual,Description="QUAL below 30 or missing">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">',
        '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">',
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Read depth per allele">',
        "\t".join(
            ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"]
            + [s[0] for s in SAMPLES]
        ),
    ]
    return lines


class _Reference:
    """A random reference sequence, drawn lazily but consistently (one base per position)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.bases: dict[tuple[str, int], str] = {}

    def seq(self, chrom: str, pos: int, length: int) -> str:
        out = []
        for p in range(pos, pos + length):
            base = self.bases.get((chrom, p))
            if base is None:
                base = self.bases[(chrom, p)] = self.rng.choice("ACGT")
            out.append(base)
        return "".join(out)


def _alleles(
    rng: random.Random, ref_seq: _Reference, chrom: str, pos: int
) -> tuple[str, list[str]]:
    kind = rng.random()
    ref = ref_seq.seq(chrom, pos, 1)
    others = [b for b in "ACGT" if b != ref]
    if kind < 0.78:  # SNV
        return ref, [rng.choice(others)]
    if kind < 0.86:  # deletion
        ref = ref_seq.seq(chrom, pos, 1 + rng.randint(1, 6))
        return ref, [ref[0]]
    if kind < 0.95:  # insertion
        return ref, [ref + "".join(rng.choices("ACGT", k=rng.randint(1, 6)))]
    if rng.random() < 0.7:  # multi-allelic SNV
        return ref, sorted(rng.sample(others, 2))
    return ref, [rng.choice(others), ref + "".join(rng.choices("ACGT", k=rng.randint(1, 4)))]


def _sample_field(
    rng: random.Random, n_alleles: int, alt_freq: float, *, carrier: bool = False
) -> tuple[str, list[int]]:
    """One sample's GT:DP:GQ:AD and its called allele indexes (empty when missing).

    ``carrier`` forces a called genotype holding at least one ALT allele.
    """
    if not carrier and rng.random() < 0.04:
        return ("./." if rng.random() < 0.5 else "./.:.:.:."), []
    called = [0 if rng.random() >= alt_freq else rng.randint(1, n_alleles - 1) for _ in range(2)]
    if carrier and not any(called):
        called[1] = rng.randint(1, n_alleles - 1)
    called.sort()
    dp = rng.randint(4, 60)
    weights = [0.03 + called.count(i) for i in range(n_alleles)]
    reads = rng.choices(range(n_alleles), weights, k=dp)
    ad = ",".join(str(reads.count(i)) for i in range(n_alleles))
    gq = rng.randint(5, 99)
    return f"{called[0]}/{called[1]}:{dp}:{gq}:{ad}", called


def write_vcf_text(path: Path, rng: random.Random, genes: Sequence[Gene]) -> int:
    """Write the plain-text VCF (sorted by contig then position); return the record count."""
    reference = _Reference(rng)
    genes_by_chrom: dict[str, list[Gene]] = {}
    for g in genes:
        genes_by_chrom.setdefault(g.chrom, []).append(g)
    total_length = sum(length for _, length in CONTIGS)
    used_ids: set[int] = set()
    n_written = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write("\n".join(_header()) + "\n")
        for ci, (chrom, length) in enumerate(CONTIGS):
            if ci == len(CONTIGS) - 1:
                n = N_VARIANTS - n_written
            else:
                n = round(N_VARIANTS * length / total_length)
            chrom_genes = genes_by_chrom.get(chrom, [])
            starts = [g.start for g in chrom_genes]
            for pos in sorted(rng.sample(range(100, length - 100), n)):
                out.write(_record(rng, reference, chrom, pos, chrom_genes, starts, used_ids) + "\n")
                n_written += 1
    return n_written


def _record(
    rng: random.Random,
    reference: _Reference,
    chrom: str,
    pos: int,
    genes: Sequence[Gene],
    gene_starts: Sequence[int],
    used_ids: set[int],
) -> str:
    ref, alts = _alleles(rng, reference, chrom, pos)
    n_alleles = 1 + len(alts)
    alt_freq = min(0.95, rng.betavariate(0.6, 1.8) + 0.02)

    samples: list[str] = []
    calls: list[list[int]] = []
    for _ in SAMPLES:
        text, called = _sample_field(rng, n_alleles, alt_freq)
        samples.append(text)
        calls.append(called)
    if not any(a for c in calls for a in c):  # a listed site has at least one carrier
        i = rng.randrange(len(SAMPLES))
        samples[i], calls[i] = _sample_field(rng, n_alleles, alt_freq, carrier=True)

    identifier = "."
    if rng.random() < 0.35:
        rs = rng.randint(1_000, 99_999_999)
        while rs in used_ids:
            rs += 1
        used_ids.add(rs)
        identifier = f"rs{rs}"

    qual: float | None = None if rng.random() < 0.04 else rng.uniform(3.0, 1500.0)
    qual_text = "." if qual is None else f"{qual:.1f}"
    filt = "PASS" if qual is not None and qual >= 30.0 else "LowQual"

    called_alleles = [a for c in calls for a in c]
    af = ",".join(
        f"{called_alleles.count(i) / len(called_alleles):.4g}" for i in range(1, n_alleles)
    )
    depth = sum(int(s.split(":")[1]) for s, c in zip(samples, calls, strict=True) if c)
    info = [f"DP={depth}", f"AF={af}"]
    if identifier != ".":
        info.append("DB")
    k = bisect.bisect_right(gene_starts, pos) - 1
    if k >= 0 and genes[k].start <= pos <= genes[k].end:
        info.append(f"GENE={genes[k].gene_id}")

    fields = [chrom, str(pos), identifier, ref, ",".join(alts), qual_text, filt, ";".join(info)]
    return "\t".join([*fields, "GT:DP:GQ:AD", *samples])
