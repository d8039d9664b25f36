#!/usr/bin/env python3
"""Export benchmark: ``genoflight export`` writing VCF and BAM against bcftools and samtools.

    uv run python bench/bench_export.py [--scale medium]

On make_data.py's ``variants.vcf.gz`` and ``reads.bam`` (made if missing, in bench/out/SCALE):

* ``vcf``: ``genoflight export "SELECT * FROM variants" -o out.vcf.gz`` (BGZF + .tbi, every
  INFO/FORMAT field re-encoded from Arrow) vs ``bcftools view -Oz -o out.vcf.gz`` +
  ``tabix -p vcf`` (bcftools 1.16 has no ``-W``);
* ``bam``: ``genoflight export "SELECT * FROM reads" -o out.bam`` (+ .bai) vs
  ``samtools view -b -o out.bam`` + ``samtools index``.

One run each, wall seconds (the genoflight command includes its start-up and catalog build),
MB/s of the input file, peak RSS (GNU time), and the output's record count checked against the
peer's. Prints a markdown table and writes ``bench/out/results-export.json``; exits 1 when a
count differs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from harness import MAKE_DATA, REPO, run_tool

OUT = REPO / "bench" / "out"


@dataclass
class Result:
    task: str
    tool: str
    seconds: float
    mb_per_s: float
    peak_rss_mib: float | None
    records: int


def ensure(data_dir: Path, scale: str, only: str, name: str) -> Path:
    path = data_dir / name
    if not path.exists():
        print(f"making {scale} data (make_data.py --only {only}) ...", flush=True)
        cmd = [sys.executable, str(MAKE_DATA), str(data_dir), "--scale", scale, "--only", only]
        subprocess.run(cmd, check=True)
    return path


def count(cmd: list[str]) -> int:
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return int(out.strip()) if out.strip().isdigit() else out.count("\n")


def timed(
    task: str, tool: str, steps: list[list[str]], src: Path, cwd: Path
) -> tuple[float, float | None]:
    seconds, peak = 0.0, None
    for cmd in steps:
        s, p, _ = run_tool(cmd, cwd)
        seconds += s
        if p is not None:
            peak = max(peak or 0.0, p)
    mb = src.stat().st_size / 1e6
    print(f"  {task:4} {tool:38} {seconds:7.2f} s  {mb / seconds:7.1f} MB/s", flush=True)
    return seconds, peak


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", default="medium", choices=["small", "medium", "large"])
    args = ap.parse_args(argv)
    data_dir = OUT / args.scale
    vcf = ensure(data_dir, args.scale, "vcf", "variants.vcf.gz")
    bam = ensure(data_dir, args.scale, "bam", "reads.bam")
    genoflight = [sys.executable, "-m", "genoflight", "export"]
    results: list[Result] = []
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        work = Path(tmp)
        print(f"VCF {vcf} ({vcf.stat().st_size / 1e6:.1f} MB)", flush=True)
        ours, peer = work / "ours.vcf.gz", work / "peer.vcf.gz"
        runs = [
            (
                "genoflight export",
                [[*genoflight, "SELECT * FROM variants", str(vcf), "-o", str(ours)]],
                ours,
            ),
            (
                "bcftools view -Oz + tabix",
                [
                    ["bcftools", "view", "-Oz", "-o", str(peer), str(vcf)],
                    ["tabix", "-f", "-p", "vcf", str(peer)],
                ],
                peer,
            ),
        ]
        for tool, steps, out in runs:
            seconds, peak = timed("vcf", tool, steps, vcf, work)
            n = count(["bcftools", "index", "-n", str(out)])
            results.append(
                Result("vcf", tool, seconds, vcf.stat().st_size / 1e6 / seconds, peak, n)
            )
        print(f"BAM {bam} ({bam.stat().st_size / 1e6:.1f} MB)", flush=True)
        ours, peer = work / "ours.bam", work / "peer.bam"
        runs = [
            (
                "genoflight export",
                [[*genoflight, "SELECT * FROM reads", str(bam), "-o", str(ours)]],
                ours,
            ),
            (
                "samtools view -b + index",
                [
                    ["samtools", "view", "-b", "-o", str(peer), str(bam)],
                    ["samtools", "index", str(peer)],
                ],
                peer,
            ),
        ]
        for tool, steps, out in runs:
            seconds, peak = timed("bam", tool, steps, bam, work)
            n = count(["samtools", "view", "-c", str(out)])
            results.append(
                Result("bam", tool, seconds, bam.stat().st_size / 1e6 / seconds, peak, n)
            )
    for task in ("vcf", "bam"):
        counts = {r.records for r in results if r.task == task}
        if len(counts) != 1:
            print(f"MISMATCH: {task} record counts differ: {counts}", file=sys.stderr)
            ok = False
    print("\n| task | tool | seconds | MB/s (input) | peak RSS MiB | records | vs peer |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        peer_s = next(
            p.seconds for p in results if p.task == r.task and p.tool != "genoflight export"
        )
        rss = f"{r.peak_rss_mib:.0f}" if r.peak_rss_mib is not None else "-"
        ratio = f"{peer_s / r.seconds:.2f}x" if r.tool == "genoflight export" else ""
        cells = [r.task, r.tool, f"{r.seconds:.2f}", f"{r.mb_per_s:.1f}", rss, r.records, ratio]
        print("| " + " | ".join(map(str, cells)) + " |")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results-export.json").write_text(json.dumps([asdict(r) for r in results], indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
