#!/usr/bin/env python3
"""annotate_vep() throughput through Flight SQL on a synthetic VCF over the test cache.

    uv run python bench/bench_vep.py --variants 50000

Writes a deterministic VCF of SNVs, deletions and insertions spread over chr21:25-26 Mb (the
region the shared Ensembl 84 test cache covers) to ``bench/out/vep/``, serves it with the
cache through ``genoflight serve``, and times, from an ADBC client:

* ``count(*)`` over ``annotate_vep`` (VEP's default output), and with ``everything=true``;
* the whole ``everything=true`` result fetched to the client.

With ``--converted DIR`` (a ``genoflight build-cache`` output of the same cache) the same
queries run over the converted cache too; with ``--peer-python PY`` (an interpreter with vepyr)
vepyr annotates the same VCF (``bench/vepyr_peer.py``: vepyr only reads release 115/116 caches, so
it gets a 115-shaped copy of the same cache, converted by vepyr beforehand, and a FASTA that
agrees with the VCF; its time is one fresh process's ``vepyr.annotate`` writing a VCF, the
cache conversion excluded).

Prints variants/s, rows and the server's peak RSS, and the ratio to Ensembl VEP's throughput on
this machine as the issue states it (``--offline --everything``: about 275 variants/s after its
start-up; VEP itself is not installed here).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path

from harness import REPO, Server, flight, run_tool
from vepyr_peer import write_reference

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


QUERIES = [
    ("default, count(*)", "SELECT count(*) FROM annotate_vep('synthetic', 'vep')"),
    (
        "everything, count(*)",
        "SELECT count(*) FROM annotate_vep('synthetic', 'vep', 'everything=true')",
    ),
    (
        "everything, all rows -> ADBC",
        "SELECT * FROM annotate_vep('synthetic', 'vep', 'everything=true')",
    ),
    (
        "everything + HGVS, count(*)",
        "SELECT count(*) FROM annotate_vep('synthetic', 'vep', 'everything=true', 'fasta=genome')",
    ),
    (
        "everything + HGVS, all rows -> ADBC",
        "SELECT * FROM annotate_vep('synthetic', 'vep', 'everything=true', 'fasta=genome')",
    ),
]


def bench_cache(label: str, vcf: Path, cache: Path, variants: int) -> list[tuple]:
    """The queries over ``cache`` in a fresh server: the first one cold, then all warm."""
    config = OUT / f"{label}.toml"
    config.write_text(
        f'[[tables]]\nname = "synthetic"\npath = "{vcf}"\n'
        f'[[tables]]\nname = "genome"\npath = "{vcf.with_suffix(".fa")}"\n'
        f'[[vep_caches]]\nname = "vep"\npath = "{cache}"\n',
        encoding="utf-8",
    )
    server = Server(["--config", config], OUT / f"{label}.log")
    out = []
    try:
        runs = [(f"{QUERIES[1][0]}, cold", QUERIES[1][1]), *QUERIES]
        for query, sql in runs:
            seconds, rss, table = flight(server, sql)
            rows = table.column(0)[0].as_py() if "count" in sql else table.num_rows
            out.append(
                (f"genoflight, {label} cache", query, seconds, variants / seconds, rows, rss)
            )
            print(
                f"{label:9} {query:32} {seconds:7.2f} s {variants / seconds:10.0f} variants/s  "
                f"rows={rows}",
                flush=True,
            )
    finally:
        server.stop()
    return out


def bench_vepyr(python: str, vcf: Path, variants: int) -> tuple:
    script = REPO / "bench" / "vepyr_peer.py"
    out_dir = OUT.parent
    # The first call converts the cache and writes the FASTA; the second is the timed one.
    run_tool([python, str(script), str(CACHE), str(vcf), str(out_dir)], OUT)
    _, rss, stdout = run_tool([python, str(script), str(CACHE), str(vcf), str(out_dir)], OUT)
    _, seconds, records, version = next(
        x for x in stdout.splitlines() if x.startswith("RESULT ")
    ).split()
    s = float(seconds)
    print(f"vepyr {version}: {s:.2f} s, {records} records", flush=True)
    return (
        f"vepyr {version}",
        "everything + HGVS, VCF written",
        s,
        variants / s,
        int(records),
        rss,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variants", type=int, default=50_000)
    ap.add_argument("--converted", type=Path, help="genoflight build-cache output of the cache")
    ap.add_argument("--peer-python", help="an interpreter with vepyr installed (optional)")
    args = ap.parse_args()
    if not (CACHE / "info.txt").is_file():
        print(f"the VEP test cache is not at {CACHE}", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    vcf = OUT / f"synthetic_{args.variants}.vcf"
    write_vcf(vcf, args.variants)
    # A reference agreeing with the VCF's REF alleles, for HGVS (the cache comes without one).
    write_reference(vcf, vcf.with_suffix(".fa"), "21", 46_709_983)
    rows_out = bench_cache("original", vcf, CACHE, args.variants)
    if args.converted:
        rows_out += bench_cache("converted", vcf, args.converted.resolve(), args.variants)
    if args.peer_python:
        rows_out.append(bench_vepyr(os.path.abspath(args.peer_python), vcf, args.variants))
    print()
    print(f"{args.variants} variants over chr21:25-26 Mb, Ensembl 84 test cache, one run")
    print("| tool | query | seconds | variants/s | vs Ensembl VEP (275/s) | rows | peak RSS MiB |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for tool, label, seconds, rate, rows, rss in rows_out:
        ratio = rate / VEP_VARIANTS_PER_S
        print(
            f"| {tool} | {label} | {seconds:.2f} | {rate:,.0f} | {ratio:.0f}x | {rows:,} | "
            f"{rss or 0:,.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
