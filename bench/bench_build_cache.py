#!/usr/bin/env python3
"""``genoflight build-cache``: conversion time, and annotate_vep over the converted cache vs the
original VEP cache.

    uv run python bench/bench_build_cache.py --variants 50000

Converts the shared Ensembl 84 test cache (and the Sereal one, whose known variants are a tabix
``all_vars.gz``) into ``bench/out/build_cache/`` (a fresh build, then a rerun that only
verifies), then serves bench_vep.py's synthetic VCF with each cache in its own
``genoflight serve`` and times, from an ADBC client, the first ``annotate_vep`` query (cold:
region files read and decoded) and the same query again (warm), with the server's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from bench_vep import write_vcf
from harness import REPO, Server, flight

OUT = REPO / "bench" / "out" / "build_cache"
CACHES = REPO.parent / "shared" / "data" / "vep" / "cache"
SOURCES = {
    "storable": CACHES / "homo_sapiens" / "84_GRCh38",
    "sereal": CACHES / "sereal" / "homo_sapiens" / "84_GRCh38",
}


def convert(source: Path, out: Path) -> tuple[float, float, dict]:
    """Seconds of a fresh build and of a verifying rerun, and the build report."""
    from genoflight import _native

    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    report = json.loads(_native.build_cache(str(source), str(out), None))
    fresh = time.perf_counter() - start
    start = time.perf_counter()
    again = json.loads(_native.build_cache(str(source), str(out), None))
    rerun = time.perf_counter() - start
    assert again["converted"] == 0, again
    return fresh, rerun, report


def region_read(cache: Path, label: str) -> tuple[float, float]:
    """Seconds and peak RSS of reading every transcript's sequences in a fresh server (the
    region files decoded, or their row groups read)."""
    config = OUT / f"{label}.scan.toml"
    config.write_text(f'[[vep_caches]]\nname = "vep"\npath = "{cache}"\n', encoding="utf-8")
    server = Server(["--config", config], OUT / f"{label}.scan.log")
    try:
        seconds, rss, _ = flight(
            server, "SELECT count(*), sum(length(translateable_seq)) FROM vep.transcripts"
        )
    finally:
        server.stop()
    return seconds, rss or 0.0


def annotate(vcf: Path, cache: Path, label: str, variants: int) -> list[tuple]:
    config = OUT / f"{label}.toml"
    config.write_text(
        f'[[tables]]\nname = "synthetic"\npath = "{vcf}"\n'
        f'[[vep_caches]]\nname = "vep"\npath = "{cache}"\n',
        encoding="utf-8",
    )
    sql = "SELECT count(*) FROM annotate_vep('synthetic', 'vep', 'everything=true')"
    server = Server(["--config", config], OUT / f"{label}.log")
    out = []
    try:
        for run in ("cold", "warm"):
            seconds, rss, table = flight(server, sql)
            rows = table.column(0)[0].as_py()
            out.append((label, run, seconds, variants / seconds, rows, rss or 0.0))
            print(
                f"{label:22} {run}: {seconds:6.2f} s  rows={rows}  rss={rss or 0:.0f}", flush=True
            )
    finally:
        server.stop()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variants", type=int, default=50_000)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    print("| cache | files | build s | rerun (verify) s | Parquet MB | source MB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    converted = {}
    for name, source in SOURCES.items():
        if not (source / "info.txt").is_file():
            print(f"the VEP test cache is not at {source}", file=sys.stderr)
            return 1
        out = OUT / name
        fresh, rerun, report = convert(source, out)
        size = sum(p.stat().st_size for p in source.rglob("*") if p.is_file()) / 1e6
        print(
            f"| {name} | {report['files_read']} | {fresh:.2f} | {rerun:.3f} | "
            f"{report['bytes'] / 1e6:.1f} | {size:.1f} |"
        )
        converted[name] = out
    vcf = OUT / f"synthetic_{args.variants}.vcf"
    write_vcf(vcf, args.variants)
    print()
    print("| cache | transcripts scan, fresh server: seconds | peak RSS MiB |")
    print("| --- | ---: | ---: |")
    for name, source in SOURCES.items():
        for label, cache in (
            (f"{name} (VEP cache)", source),
            (f"{name} (converted)", converted[name]),
        ):
            seconds, rss = region_read(cache, label.split()[0] + ("_c" if "conv" in label else ""))
            print(f"| {label} | {seconds:.3f} | {rss:.0f} |")
    rows = []
    for name, source in SOURCES.items():
        rows += annotate(vcf, source, f"{name} (VEP cache)", args.variants)
        rows += annotate(vcf, converted[name], f"{name} (converted)", args.variants)
    print()
    print(f"{args.variants} variants, annotate_vep everything=true, count(*), one run each")
    print("| cache | query | seconds | variants/s | rows | peak RSS MiB |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for label, run, seconds, rate, n, rss in rows:
        print(f"| {label} | {run} | {seconds:.2f} | {rate:.0f} | {n} | {rss:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
