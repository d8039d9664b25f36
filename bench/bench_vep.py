#!/usr/bin/env python3
"""annotate_vep() throughput through Flight SQL on a synthetic VCF over the test cache.

    uv run python bench/bench_vep.py --variants 50000

Writes a deterministic VCF of SNVs, deletions and insertions spread over chr21:25-26 Mb (the
region the shared Ensembl 84 test cache covers) to ``bench/out/vep/``, serves it with the
cache through ``genoflight serve``, and times, from an ADBC client:

* ``count(*)`` over ``annotate_vep`` (VEP's default output), and with ``everything=true``;
* the whole ``everything=true`` result fetched to the client.

Prints variants/s, rows and the server's peak RSS, and the ratio to Ensembl VEP's throughput on
this machine as the issue states it (``--offline --everything``: about 275 variants/s after its
start-up; VEP itself is not installed here). vepyr needs the cache's reference FASTA, which the
shared data does not include, so it is not run.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from harness import REPO, Server, flight

OUT = REPO / "bench" / "out" / "vep"
CACHE = REPO.parent / "shared" / "data" / "vep" / "cache" / "homo_sapiens" / "84_GRCh38"
VEP_VARIANTS_PER_S = 275.0  # Ensembl VEP 115 --offline --everything here (issue 8)


def write_vcf(path: Path, n: int, seed: int = 84) -> None:
    rng = random.Random(seed)
    positions = sorted(rng.sample(range(25_000_001, 26_000_000), n))
    lines = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=21>",
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
    ]
    for i, pos in enumerate(positions):
        ref = rng.choice("ACGT")
        kind = rng.random()
        if kind < 0.85:
            alt = rng.choice([b for b in "ACGT" if b != ref])
        elif kind < 0.93:
            ref += "".join(rng.choice("ACGT") for _ in range(rng.randint(1, 6)))
            alt = ref[0]
        else:
            alt = ref + "".join(rng.choice("ACGT") for _ in range(rng.randint(1, 6)))
        lines.append(f"21\t{pos}\tv{i}\t{ref}\t{alt}\t.\tPASS\t.")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variants", type=int, default=50_000)
    args = ap.parse_args()
    if not (CACHE / "info.txt").is_file():
        print(f"the VEP test cache is not at {CACHE}", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    vcf = OUT / f"synthetic_{args.variants}.vcf"
    write_vcf(vcf, args.variants)
    config = OUT / "genoflight.toml"
    config.write_text(
        f'[[tables]]\nname = "synthetic"\npath = "{vcf}"\n'
        f'[[vep_caches]]\nname = "vep"\npath = "{CACHE}"\n',
        encoding="utf-8",
    )
    server = Server(["--config", config], OUT / "server.log")
    rows_out = []
    try:
        # Warm-up: region files and known-variant blocks decoded once, as a running server has them.
        flight(server, "SELECT count(*) FROM annotate_vep('synthetic', 'vep', 'everything=true')")
        for label, sql in [
            ("default, count(*)", "SELECT count(*) FROM annotate_vep('synthetic', 'vep')"),
            (
                "everything, count(*)",
                "SELECT count(*) FROM annotate_vep('synthetic', 'vep', 'everything=true')",
            ),
            (
                "everything, all rows -> ADBC",
                "SELECT * FROM annotate_vep('synthetic', 'vep', 'everything=true')",
            ),
        ]:
            seconds, rss, table = flight(server, sql)
            rows = table.column(0)[0].as_py() if "count" in sql else table.num_rows
            rate = args.variants / seconds
            rows_out.append((label, seconds, rate, rows, rss))
            print(f"{label:32} {seconds:7.2f} s {rate:10.0f} variants/s  rows={rows}", flush=True)
    finally:
        server.stop()
    print()
    print(f"{args.variants} variants over chr21:25-26 Mb, Ensembl 84 test cache, one run")
    print("| query | seconds | variants/s | vs Ensembl VEP (275/s) | rows | peak RSS MiB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, seconds, rate, rows, rss in rows_out:
        ratio = rate / VEP_VARIANTS_PER_S
        print(f"| {label} | {seconds:.2f} | {rate:.0f} | {ratio:.0f}x | {rows} | {rss or 0:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
