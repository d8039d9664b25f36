#!/usr/bin/env python3
"""BAM table benchmark: genoflight over Flight SQL against samtools view, in one run.

    uv run python bench/bench_bam.py --scale medium,large

On make_data.py's ``reads.bam`` per scale, served by a real ``genoflight serve``:

* ``filtered count``: ``SELECT count(*) ... WHERE mapping_quality >= 30 AND flags & 4 = 0``
  (record filter checked before decoding, partitions cut at index positions) vs
  ``samtools view -c -q 30 -F 4`` (one thread and ``-@ 2``), and, with ``--peer-python``
  (a virtualenv with polars-bio and pysam), polars-bio's ``scan_bam`` and a pysam loop;
* ``full decode``: every column of every record fetched whole to an ADBC client vs
  ``samtools view -o /dev/null`` (BAM to SAM text), with MB/s of the BAM file;
* ``region``: a 100 kb region count through the index vs ``samtools view -c FILE REGION``,
  median of 5.

Wall seconds and peak RSS (GNU time for samtools; the server's VmHWM, reset before each
query). Prints a markdown table and writes ``bench/out/results-bam.json``; exits 1 when a
count differs from samtools'.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from harness import REPO, Server, ensure_data, flight, run_tool

OUT = REPO / "bench" / "out"
FILTER = "mapping_quality >= 30 AND flags & 4 = 0"

# Peer workers: print "RESULT <seconds> <count> <version>", timed inside (imports excluded).
PEERS = {
    "polars-bio scan_bam": r"""
import sys, time
import polars as pl, polars_bio as pb
start = time.perf_counter()
lf = pb.scan_bam(sys.argv[1])
keep = (pl.col("mapping_quality") >= 30) & ((pl.col("flags") & 4) == 0)
n = lf.filter(keep).select(pl.len()).collect().item()
print("RESULT", time.perf_counter() - start, n, pb.__version__)
""",
    "pysam loop": r"""
import sys, time
import pysam
start = time.perf_counter()
with pysam.AlignmentFile(sys.argv[1], threads=2) as f:
    n = sum(1 for r in f.fetch(until_eof=True) if r.mapping_quality >= 30 and not r.flag & 4)
print("RESULT", time.perf_counter() - start, n, pysam.__version__)
""",
}


@dataclass
class Result:
    scale: str
    task: str
    tool: str
    seconds: float
    peak_rss_mib: float | None
    count: int | None = None


def first_region(bam: Path) -> tuple[str, str]:
    """A 100 kb window in the middle of the first reference with reads: (samtools, SQL)."""
    stats = subprocess.run(["samtools", "idxstats", str(bam)], capture_output=True, text=True)
    for line in stats.stdout.splitlines():
        name, length, mapped, _ = line.split("\t")
        if name != "*" and int(mapped) > 0:
            a = int(length) // 2
            b = a + 100_000
            return f"{name}:{a}-{b}", f"chrom = '{name}' AND start BETWEEN {a} AND {b}"
    raise RuntimeError(f"{bam}: no mapped reads")


def peer(python: str, code: str, bam: Path, work: Path) -> tuple[float, float | None, int, str]:
    _, rss, out = run_tool([python, "-c", code, str(bam)], work)
    _, seconds, n, version = next(x for x in out.splitlines() if x.startswith("RESULT ")).split()
    return float(seconds), rss, int(n), version


def bench_scale(scale: str, data_dir: Path, results: list[Result], peers: str | None) -> bool:
    bam = ensure_data(scale, data_dir)
    mb = bam.stat().st_size / 1e6
    work = data_dir / scale
    ok = True
    sam_region, sql_region = first_region(bam)
    server = Server([bam], work / "bench-bam-server.log")
    try:

        def add(task: str, tool: str, seconds: float, rss: float | None, n: int | None) -> None:
            results.append(Result(scale, task, tool, seconds, rss, n))
            print(f"{scale:7} {task:15} {tool:38} {seconds:8.2f}s  count={n}", flush=True)

        s, rss, table = flight(server, f"SELECT count(*) FROM reads WHERE {FILTER}")
        n = table.column(0)[0].as_py()
        add("filtered count", "genoflight (Flight SQL)", s, rss, n)
        for threads in ([], ["-@", "2"]):
            s, rss, out = run_tool(
                ["samtools", "view", *threads, "-c", "-q", "30", "-F", "4", str(bam)], work
            )
            add("filtered count", " ".join(["samtools view -c", *threads]), s, rss, int(out))
            ok &= int(out) == n
        for tool, code in PEERS.items() if peers else ():
            try:
                s, rss, got, version = peer(peers, code, bam, work)
            except (RuntimeError, StopIteration) as e:
                print(f"{tool}: skipped ({e})", flush=True)
                continue
            add("filtered count", f"{tool} {version}", s, rss, got)
            ok &= got == n

        s, rss, table = flight(server, "SELECT * FROM reads")
        n = table.num_rows
        del table
        add("full decode", f"genoflight -> ADBC ({mb / s:.0f} MB/s)", s, rss, n)
        s, rss, _ = run_tool(["samtools", "view", "-o", "/dev/null", str(bam)], work)
        add("full decode", f"samtools view ({mb / s:.0f} MB/s)", s, rss, None)

        times, n = [], None
        for _ in range(5):
            s, rss, table = flight(server, f"SELECT count(*) FROM reads WHERE {sql_region}")
            times.append(s)
            n = table.column(0)[0].as_py()
        add("region 100 kb", "genoflight (Flight SQL), median", statistics.median(times), rss, n)
        times = []
        for _ in range(5):
            s, rss, out = run_tool(["samtools", "view", "-c", str(bam), sam_region], work)
            times.append(s)
        add("region 100 kb", "samtools view -c, median", statistics.median(times), rss, int(out))
        # samtools counts reads overlapping the region; SQL asks for starts inside it.
        ok &= n is not None and n <= int(out)
    finally:
        server.stop()
    return ok


def report(results: list[Result]) -> str:
    lines = [
        "| scale | task | tool | seconds | vs genoflight | peak RSS MiB |",
        "| --- | --- | --- | ---: | ---: | ---: |",
    ]
    ours = {(r.scale, r.task): r.seconds for r in results if r.tool.startswith("genoflight")}
    for r in results:
        ratio = r.seconds / ours[(r.scale, r.task)]
        rss = f"{r.peak_rss_mib:.0f}" if r.peak_rss_mib else "-"
        lines.append(
            f"| {r.scale} | {r.task} | {r.tool} | {r.seconds:.2f} | {ratio:.2f}x | {rss} |"
        )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", default="medium,large")
    ap.add_argument("--data-dir", type=Path, default=OUT)
    ap.add_argument("--peer-python", help="interpreter with polars-bio and pysam (optional)")
    args = ap.parse_args()
    results: list[Result] = []
    ok = True
    for scale in args.scale.split(","):
        peers = os.path.abspath(args.peer_python) if args.peer_python else None
        ok &= bench_scale(scale, args.data_dir, results, peers)
    print()
    print(report(results))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results-bam.json").write_text(json.dumps([asdict(r) for r in results], indent=2))
    if not ok:
        print("MISMATCH: a count differs from samtools'", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
