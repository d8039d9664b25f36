"""vepyr as a speed peer for annotate_vep: a copy of the shared test cache in the shape vepyr reads.

vepyr (PyPI) only converts Ensembl VEP 115/116 caches: it takes the release from the cache
directory's name, reads known variants from a tabix ``all_vars.gz`` with release 115's columns,
and needs ``serialiser_type`` in info.txt and a reference FASTA. The shared test cache is release
84 with per-region ``_var.gz`` files and no FASTA, so this module derives, under ``bench/out``:

* ``vepyr-raw/homo_sapiens/115_GRCh38``: the same transcripts/regulatory files, info.txt with
  ``serialiser_type storable``, ``var_type tabix`` and 115's extra variation columns (empty), the
  known variants rewritten as a tab-separated ``all_vars.gz`` + ``.tbi`` per chromosome;
* ``vepyr-cache``: vepyr's own Parquet conversion of that copy (``vepyr.build_cache``);
* a FASTA whose bases agree with the benchmark VCF's REF alleles (random elsewhere).

The annotations are the same cache's; only the packaging differs, so the timing compares engines.
Runs inside the peers' venv (``bench/out/.venv-peers``, where vepyr is installed).
"""

from __future__ import annotations

import gzip
import random
import re
import shutil
import subprocess
from pathlib import Path

EXTRA_VARIATION_COLS = [
    "clin_sig_allele",
    "clinical_impact",
    "gnomADg",
    *(
        f"gnomADg_{p}"
        for p in ("AFR", "AMI", "AMR", "ASJ", "EAS", "FIN", "MID", "NFE", "REMAINING", "SAS")
    ),
    "clinvar_ids",
    "cosmic_ids",
    "dbsnp_ids",
]


FREQ = re.compile(r"^(?:([^:,]+):)?([0-9.eE-]+)$")


def _round_trippable(value: str) -> str:
    """Frequencies as release 115 writes them (``%.4g``): vepyr refuses 84's ``0.0010``."""
    out = []
    for part in value.split(","):
        m = FREQ.match(part)
        if not m:
            return value
        num = format(float(m.group(2)), ".4g")
        out.append(f"{m.group(1)}:{num}" if m.group(1) else num)
    return ",".join(out)


def _info_with_115_shape(src: Path, dest: Path) -> list[str]:
    lines = src.read_text(encoding="utf-8").splitlines()
    cols: list[str] = []
    out = []
    for line in lines:
        key, _, value = line.partition("\t")
        if key == "variation_cols":
            cols = value.split(",")
            missing = [c for c in EXTRA_VARIATION_COLS if c not in cols]
            line = "variation_cols\t" + ",".join(["chr", *cols, *missing])
        elif key in ("serialiser_type", "var_type"):
            continue
        out.append(line)
    out += ["serialiser_type\tstorable", "var_type\ttabix"]
    dest.write_text("\n".join(out) + "\n", encoding="utf-8")
    return cols


def derive_cache(cache: Path, out: Path) -> Path:
    """The 115-shaped copy of ``cache`` (``<species>/<version>_<assembly>``) under ``out``."""
    dest = out / "vepyr-raw" / "homo_sapiens" / "115_GRCh38"
    if (dest / "info.txt").is_file():
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    cols = _info_with_115_shape(cache / "info.txt", dest / "info.txt")
    width = len(cols) + len([c for c in EXTRA_VARIATION_COLS if c not in cols])
    start_col = cols.index("start")
    fixed = {
        "variation_name",
        "failed",
        "somatic",
        "start",
        "end",
        "allele_string",
        "strand",
        "minor_allele",
        "clin_sig",
        "phenotype_or_disease",
        "pubmed",
        "var_synonyms",
    }
    freq_cols = {c for c in cols if c not in fixed}
    for chrom_dir in sorted(p for p in cache.iterdir() if p.is_dir()):
        target = dest / chrom_dir.name
        target.mkdir()
        rows: list[list[str]] = []
        for f in sorted(chrom_dir.iterdir()):
            if f.name.endswith("_var.gz"):
                with gzip.open(f, "rt", encoding="utf-8") as fh:
                    for line in fh:
                        fields = line.rstrip("\n").split(" ")
                        fields = [
                            _round_trippable(v) if cols[i] in freq_cols and v else v
                            for i, v in enumerate(fields)
                        ]
                        rows.append([chrom_dir.name, *fields, *[""] * (width - len(fields))])
            else:
                shutil.copy2(f, target / f.name)
        if rows:
            rows.sort(key=lambda r: int(r[1 + start_col]))
            text = target / "all_vars"
            text.write_text("".join("\t".join(r) + "\n" for r in rows), encoding="utf-8")
            subprocess.run(["bgzip", "-f", str(text)], check=True)
            b = str(2 + start_col)
            subprocess.run(
                ["tabix", "-s1", "-b", b, "-e", b, str(target / "all_vars.gz")], check=True
            )
    return dest


def build_vepyr_cache(raw: Path, out: Path) -> Path:
    """vepyr's Parquet conversion of the derived cache (once)."""
    import vepyr  # type: ignore[import-not-found]

    root = out / "vepyr-cache"
    converted = root / "115_GRCh38_ensembl"
    if not converted.is_dir():
        vepyr.build_cache(
            115, str(root), cache_type="ensembl", local_cache=str(raw), show_progress=False
        )
    return converted


def write_reference(vcf: Path, fasta: Path, chrom: str, length: int, seed: int = 84) -> None:
    """A FASTA for ``chrom`` whose bases match every REF allele of ``vcf`` (random elsewhere)."""
    rng = random.Random(seed)
    acgt = bytes(b"ACGT"[i % 4] for i in range(256))
    seq = bytearray(rng.randbytes(length).translate(acgt))
    with vcf.open(encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            f = line.split("\t", 5)
            if f[0] == chrom:
                pos = int(f[1])
                seq[pos - 1 : pos - 1 + len(f[3])] = f[3].encode()
    with fasta.open("w", encoding="ascii") as fh:
        fh.write(f">{chrom}\n")
        for i in range(0, length, 60):
            fh.write(seq[i : i + 60].decode() + "\n")
    subprocess.run(["samtools", "faidx", str(fasta)], check=True)


def main() -> None:
    """``python vepyr_peer.py CACHE VCF OUT``: prints ``RESULT <seconds> <records> <version>``."""
    import sys
    import time

    import vepyr  # type: ignore[import-not-found]

    cache, vcf, out = (Path(a) for a in sys.argv[1:4])
    converted = build_vepyr_cache(derive_cache(cache, out), out)
    fasta = vcf.with_suffix(".fa")  # written by bench_vep.py
    if not fasta.is_file():
        write_reference(vcf, fasta, "21", 46_709_983)
    result = out / "vepyr.vcf"
    start = time.perf_counter()
    vepyr.annotate(
        str(vcf),
        str(converted),
        reference_fasta=str(fasta),
        output_vcf=str(result),
        show_progress=False,
    )
    seconds = time.perf_counter() - start
    with result.open(encoding="utf-8") as fh:
        records = sum(1 for line in fh if not line.startswith("#"))
    print(f"RESULT {seconds:.3f} {records} {vepyr.__version__}")


if __name__ == "__main__":
    main()
