#!/usr/bin/env python3
"""vcf_stats() through Flight SQL against ``bcftools stats``, on make_data.py's VCF, one run.

    uv run python bench/bench_stats.py --scale medium

Generates (or reuses) ``bench/out/<scale>/variants.vcf.gz`` with ../shared/bench/make_data.py
(``--only vcf``), serves it with a real ``genoflight serve`` subprocess and times, from an ADBC
client, ``SELECT * FROM vcf_stats('variants')`` (the whole computation; the result is a few
hundred rows). Against it: ``bcftools stats -s -`` (the same numbers, per-sample PSC included)
and plain ``bcftools stats`` (sites only, no per-sample counts), wall time and peak RSS under GNU
time. Checks that the SN numbers agree and prints the ratios. One warm-up query first (page
cache, the server's first-query setup), then ``--repeat`` timed runs of each (default 1).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from harness import MAKE_DATA, REPO, Server, flight, run_tool

OUT = REPO / "bench" / "out"
SQL = "SELECT * FROM vcf_stats('variants')"


def ensure_vcf(scale: str, data_dir: Path) -> Path:
    vcf = data_dir / scale / "variants.vcf.gz"
    if not (vcf.exists() and Path(f"{vcf}.tbi").exists()):
        print(f"making {scale} data (make_data.py --only vcf) ...", flush=True)
        cmd = [sys.executable, str(MAKE_DATA), str(data_dir / scale), "--scale", scale]
        subprocess.run([*cmd, "--only", "vcf"], check=True)
    return vcf


def bcftools_sn(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        f = line.split("\t")
        if f[0] == "SN":
            out[f[2].rstrip(":")] = float(f[3])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", default="medium", choices=("small", "medium", "large"))
    ap.add_argument("--data-dir", type=Path, default=OUT)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    vcf = ensure_vcf(args.scale, args.data_dir)
    work = vcf.parent
    print(f"{vcf}: {vcf.stat().st_size / 1e6:.1f} MB", flush=True)

    results: list[tuple[str, float, float | None]] = []
    expected: dict[str, float] = {}
    for label, cmd in [
        ("bcftools stats -s - (with PSC)", ["bcftools", "stats", "-s", "-", str(vcf)]),
        ("bcftools stats (sites only)", ["bcftools", "stats", str(vcf)]),
    ]:
        for _ in range(args.repeat):
            s, rss, out = run_tool(cmd, work)
            results.append((label, s, rss))
            print(f"  {label}: {s:.2f} s, {rss} MiB", flush=True)
        if not expected:
            expected = bcftools_sn(out)

    server = Server([vcf], work / "bench-stats-server.log")
    ok = True
    try:
        flight(server, SQL)
        for _ in range(args.repeat):
            s, rss, table = flight(server, SQL)
            results.append(("genoflight vcf_stats() via Flight SQL", s, rss))
            print(f"  genoflight vcf_stats: {s:.2f} s, {rss} MiB, {table.num_rows} rows")
            got = {r["key"]: r["value"] for r in table.to_pylist() if r["section"] == "SN"}
            if got != expected:
                print(f"  MISMATCH with bcftools SN: ours {got}, bcftools {expected}")
                ok = False
    finally:
        server.stop()

    best: dict[str, tuple[float, float | None]] = {}
    for label, s, rss in results:
        if label not in best or s < best[label][0]:
            best[label] = (s, rss)
    ours = best["genoflight vcf_stats() via Flight SQL"][0]
    print("\n| tool | seconds | genoflight faster by | peak RSS MiB |")
    print("| --- | ---: | ---: | ---: |")
    for label, (s, rss) in best.items():
        ratio = "" if label.startswith("genoflight") else f"{s / ours:.2f}x"
        print(f"| {label} | {s:.2f} | {ratio} | {rss if rss is None else f'{rss:.0f}'} |")
    print("\nSN numbers agree with bcftools." if ok else "\nSN MISMATCH (see above)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
