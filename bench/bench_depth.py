#!/usr/bin/env python3
"""depth() benchmark: genoflight over Flight SQL against samtools depth and mosdepth, in one run.

    uv run python bench/bench_depth.py --scale medium,large

Generates (or reuses) make_data.py's ``reads.bam`` per scale, serves it with a real
``genoflight serve`` subprocess, and measures on it:

* ``flight-total``: ``SELECT sum(("end" - start + 1) * depth) FROM depth('reads')`` over Flight
  SQL (ADBC client): the whole depth computation, almost nothing transferred;
* ``flight-blocks``: ``SELECT * FROM depth('reads')`` fetched whole to the ADBC client
  (run-length blocks, like mosdepth's per-base BED);
* ``flight-per-base-a``: ``depth('reads', 'per_base=true', 'all_positions=true')`` fetched whole
  (one row per position, like ``samtools depth -a``);
* ``samtools depth -a -o /dev/null`` and ``mosdepth -t 1`` (per-base BED, its default, with
  one extra decompression thread: 2 cores) and ``mosdepth -t 1 -x`` (fast mode);
* polars-bio's ``depth()`` (blocks, to a polars DataFrame) in a worker of ``--peer-python``
  (a separate virtualenv: polars-bio pins its own polars/pyarrow), timed inside the worker;

with wall seconds and peak RSS (GNU time for the tools; the server's VmHWM, reset before each
run, for genoflight). Prints a markdown table and writes ``bench/out/results-depth.json``.
Exit status 1 when genoflight's total differs from the sum of ``samtools depth -a``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from harness import Server, ensure_data, flight, run_tool

SCRIPT = Path(__file__).resolve()
REPO = SCRIPT.parent.parent
OUT = REPO / "bench" / "out"

TOTAL_SQL = "SELECT sum((\"end\" - start + 1) * depth) AS bases FROM depth('reads')"
BLOCKS_SQL = "SELECT * FROM depth('reads')"
PER_BASE_SQL = "SELECT * FROM depth('reads', 'per_base=true', 'all_positions=true')"


@dataclass
class Result:
    scale: str
    tool: str
    seconds: float | None
    peak_rss_mib: float | None
    rows: int | None = None
    note: str = ""


POLARS_BIO = r"""
import sys, time
import polars as pl
import polars_bio as pb
path = sys.argv[1]
start = time.perf_counter()
df = pb.depth(path, output_type="polars.DataFrame")
length = pl.col("pos_end").cast(pl.Int64) - pl.col("pos_start") + 1
total = df.select((length * pl.col("coverage").cast(pl.Int64)).sum()).item()
print("RESULT", time.perf_counter() - start, df.height, total, pb.__version__)
"""


def polars_bio(python: str, bam: Path, work: Path) -> tuple[float, float | None, int, int, str]:
    """Seconds (inside the worker, imports excluded), peak RSS, rows, total, version."""
    _, rss, out = run_tool([python, "-c", POLARS_BIO, str(bam)], work)
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    _, seconds, rows, total, version = line.split()
    return float(seconds), rss, int(rows), int(total), version


def bench_scale(scale: str, args: argparse.Namespace, results: list[Result]) -> bool:
    bam = ensure_data(scale, args.data_dir)
    work = args.data_dir / scale / "depth-bench"
    work.mkdir(exist_ok=True)
    tools = set(args.tools.split(","))
    ok = True
    expected_total = None

    if "samtools" in tools:
        for _ in range(args.repeat):
            s, rss, _ = run_tool(["samtools", "depth", "-a", "-o", "/dev/null", str(bam)], work)
            results.append(Result(scale, "samtools depth -a", s, rss))
            print(f"  {scale} samtools depth -a: {s:.2f} s, {rss} MiB", flush=True)
        out = subprocess.run(
            f"samtools depth -a '{bam}' | awk '{{s += $3}} END {{printf \"%.0f\\n\", s}}'",
            shell=True,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        expected_total = int(out or 0)

    if "mosdepth" in tools and shutil.which("mosdepth"):
        for label, extra in (
            ("mosdepth -t 1 (per-base)", []),
            ("mosdepth -t 1 -x (fast mode)", ["-x"]),
        ):
            for _ in range(args.repeat):
                s, rss, _ = run_tool(["mosdepth", "-t", "1", *extra, "md", str(bam)], work)
                results.append(Result(scale, label, s, rss))
                print(f"  {scale} {label}: {s:.2f} s, {rss} MiB", flush=True)

    if "polars-bio" in tools:
        python = args.peer_python
        if not python or not Path(python).exists():
            print(f"  {scale} polars-bio: skipped (no --peer-python interpreter)", flush=True)
        else:
            for _ in range(args.repeat):
                try:
                    s, rss, n, total, version = polars_bio(python, bam, work)
                except (RuntimeError, StopIteration) as e:
                    print(f"  {scale} polars-bio: failed: {e}", flush=True)
                    break
                same = "=" if total == expected_total else "!="
                note = f"v{version}, blocks, 1-based; total {same} samtools"
                results.append(Result(scale, "polars-bio depth() (in-process)", s, rss, n, note))
                print(f"  {scale} polars-bio depth: {s:.2f} s, {rss} MiB, {note}", flush=True)

    if tools & {"flight-total", "flight-blocks", "flight-per-base-a"}:
        server = Server([bam], work / "server.log")
        try:
            # One warm-up: the page cache and the server's first-query setup.
            flight(server, TOTAL_SQL)
            for _ in range(args.repeat):
                if "flight-total" in tools:
                    s, rss, table = flight(server, TOTAL_SQL)
                    total = table.column(0)[0].as_py()
                    note = ""
                    if expected_total is not None and total != expected_total:
                        note = f"MISMATCH: {total} != samtools {expected_total}"
                        ok = False
                    results.append(Result(scale, "genoflight depth() total", s, rss, 1, note))
                    print(f"  {scale} flight total: {s:.2f} s, {rss} MiB {note}", flush=True)
                if "flight-blocks" in tools:
                    s, rss, table = flight(server, BLOCKS_SQL)
                    results.append(
                        Result(scale, "genoflight depth() blocks -> ADBC", s, rss, table.num_rows)
                    )
                    print(f"  {scale} flight blocks: {s:.2f} s, {rss} MiB", flush=True)
                    del table
                if "flight-per-base-a" in tools:
                    s, rss, table = flight(server, PER_BASE_SQL)
                    results.append(
                        Result(
                            scale, "genoflight depth() per-base -a -> ADBC", s, rss, table.num_rows
                        )
                    )
                    print(f"  {scale} flight per-base: {s:.2f} s, {rss} MiB", flush=True)
                    del table
        finally:
            server.stop()
    return ok


def report(results: list[Result]) -> str:
    lines = [
        "| scale | tool | seconds | vs samtools depth -a | vs mosdepth -t 1 | peak RSS MiB "
        "| rows |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    best: dict[tuple[str, str], float] = {}
    for r in results:
        if r.seconds is not None:
            key = (r.scale, r.tool)
            best[key] = min(best.get(key, r.seconds), r.seconds)
    seen = set()
    for r in results:
        key = (r.scale, r.tool)
        if key in seen:
            continue
        seen.add(key)
        s = best.get(key)
        sam = best.get((r.scale, "samtools depth -a"))
        mos = best.get((r.scale, "mosdepth -t 1 (per-base)"))
        vs_sam = f"{sam / s:.2f}x faster" if s and sam else ""
        vs_mos = f"{s / mos:.2f}x its time" if s and mos else ""
        peak = max((x.peak_rss_mib or 0 for x in results if (x.scale, x.tool) == key), default=0)
        lines.append(
            f"| {r.scale} | {r.tool} | {s:.2f} | {vs_sam} | {vs_mos} | {peak:.0f} | "
            f"{r.rows if r.rows is not None else ''} |" + (f" {r.note}" if r.note else "")
        )
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--scale", default="medium,large", help="comma list of small, medium, large")
    p.add_argument("--data-dir", type=Path, default=OUT)
    p.add_argument("--repeat", type=int, default=1)
    peers = OUT / ".venv-peers" / "bin" / "python"
    p.add_argument(
        "--peer-python",
        default=str(peers) if peers.exists() else None,
        help="interpreter with polars-bio installed (default bench/out/.venv-peers/bin/python)",
    )
    p.add_argument(
        "--tools",
        default="samtools,mosdepth,polars-bio,flight-total,flight-blocks,flight-per-base-a",
        help="comma list of samtools, mosdepth, polars-bio, flight-total, flight-blocks, "
        "flight-per-base-a",
    )
    args = p.parse_args()
    results: list[Result] = []
    ok = True
    for scale in args.scale.split(","):
        print(f"== {scale}", flush=True)
        ok &= bench_scale(scale, args, results)
    table = report(results)
    print()
    print(f"machine: {os.cpu_count()} cores")
    print(table)
    out = args.data_dir / "results-depth.json"
    out.write_text(json.dumps([asdict(r) for r in results], indent=2))
    print(f"\nwritten {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
