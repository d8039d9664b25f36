#!/usr/bin/env python3
"""Interval benchmark: genoflight (Flight SQL and in-process) against polars-bio, bioframe,
pyranges and bedtools, on make_data.py's interval sets, all scales in one run.

    uv run python bench/bench_intervals.py --scales small,medium \\
        --peer-python bench/out/.venv-peers/bin/python

For each scale, ``../shared/bench/make_data.py bench/out/intervals-<scale> --only intervals``
writes ``intervals_{a,b}.bed`` (BED6, sorted) and ``.parquet`` copies declaring 0-based
coordinates. Four operations, each answered by every tool and reduced to numbers that must agree:

* overlap: the number of overlapping (a, b) pairs; genoflight runs the SQL join
  ``SELECT count(*) FROM a JOIN b ON a.chrom = b.chrom AND <overlap>`` (its interval join);
* nearest: rows of ``nearest(a, b)`` and the sum of their distances;
* count_overlaps: rows and the sum of the counts (= the overlap pairs);
* coverage: rows and the sum of covered bases.

genoflight serves the data directory as it finds it: the BED tables 1-based (``start <= end``
overlap), the Parquet tables 0-based (their metadata; ``start < end`` overlap), both measured.
Peers read the Parquet files (bedtools the BED files, with ``-sorted`` where it has it), and
are told the coordinates are 0-based. Times are end to end, from the files to the answer.

Processes, clocks and peak RSS work as in bench_vcf.py (whose helpers this reuses): in-process
tools run in a fresh worker per run (this script with ``_worker``), timed inside the worker,
peak RSS from GNU time; Flight SQL runs against one ``genoflight serve`` per scale, whose VmHWM
is reset before each query and read after it. Results: a markdown table per scale, the scaling
curve, and ``bench/out/results-intervals.json``. Exit status 1 if tools disagree or a
genoflight measurement fails.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve()
sys.path.insert(0, str(SCRIPT.parent))

import bench_vcf as common  # noqa: E402  (process, RSS and server helpers shared with it)
from bench_vcf import (  # noqa: E402
    DEFAULT_MAKE_DATA,
    OUT,
    BenchError,
    FlightServer,
    adbc_connect,
    cell,
    fmt,
    native_config,
    read_peak_rss_mib,
    reset_peak_rss,
    run_child,
    tail,
)

SCALES = ("small", "medium", "large")
OPS = ("overlap", "nearest", "count_overlaps", "coverage")
INPUTS = ("parquet", "bed")
ALL_TOOLS = ("flight", "inprocess", "polars-bio", "bioframe", "pyranges", "bedtools")
GENOFLIGHT_TOOLS = frozenset({"flight", "inprocess"})
PEER_WORKERS = ("polars-bio", "bioframe", "pyranges")
REFERENCE = "genoflight Flight SQL (parquet)"  # the ratio column divides by this

# nearest distance conventions: bedtools -d counts book-ended intervals as 1 apart, the
# DataFrame libraries as 0 (b.start - a.end on 0-based coordinates).
DISTANCE_CONVENTION = {
    "genoflight": "bedtools",
    "bedtools": "bedtools",
    "pyranges": "bedtools",
    "polars-bio": "gap",
    "bioframe": "gap",
}

RESULT_MARK = common.RESULT_MARK
SKIP_MARK = common.SKIP_MARK
SKIP_EXIT = common.SKIP_EXIT


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------
@dataclass
class Result:
    """One tool answering one operation on one scale, ``repeat`` times."""

    scale: str
    op: str
    tool: str  # display name
    family: str  # genoflight / polars-bio / ... (for the distance convention)
    input_rows: int
    seconds: list[float] = field(default_factory=list)
    peak_rss_mib: float | None = None
    rows: int | None = None  # result rows (pairs for overlap)
    total: int | None = None  # sum of distance / count / covered bases
    version: str | None = None
    skipped: str | None = None
    failed: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.skipped is None and self.failed is None and bool(self.seconds)

    @property
    def best(self) -> float | None:
        return min(self.seconds) if self.seconds else None


# --------------------------------------------------------------------------------------------
# queries and commands
# --------------------------------------------------------------------------------------------
def overlap_condition(zero_based: bool) -> str:
    """The overlap join condition in the table's coordinate system."""
    if zero_based:
        return 'a.chrom = b.chrom AND a.start < b."end" AND a."end" > b.start'
    return 'a.chrom = b.chrom AND a.start <= b."end" AND a."end" >= b.start'


def genoflight_sql(op: str, a: str, b: str, zero_based: bool) -> str:
    if op == "overlap":
        return f"SELECT count(*) AS n, NULL AS total FROM {a} a JOIN {b} b ON " + (
            overlap_condition(zero_based)
        )
    column = {"nearest": "distance", "count_overlaps": '"count"', "coverage": "covered_bases"}[op]
    return f"SELECT count(*) AS n, sum({column}) AS total FROM {op}('{a}', '{b}')"


def bedtools_script(op: str, a: Path, b: Path) -> str:
    """A pipeline printing ``rows total`` (total empty for overlap)."""
    qa, qb = shlex.quote(str(a)), shlex.quote(str(b))
    if op == "overlap":
        return f"bedtools intersect -a {qa} -b {qb} -wa -wb -sorted | wc -l"
    if op == "nearest":  # closest always sweeps sorted input (no -sorted flag)
        return (
            f"bedtools closest -a {qa} -b {qb} -d -t first | "
            "awk '{s += $NF} END {printf \"%d %.0f\\n\", NR, s}'"
        )
    if op == "count_overlaps":
        return (
            f"bedtools intersect -a {qa} -b {qb} -c -sorted | "
            "awk '{s += $NF} END {printf \"%d %.0f\\n\", NR, s}'"
        )
    return (
        f"bedtools coverage -a {qa} -b {qb} -sorted | "
        "awk '{s += $(NF - 2)} END {printf \"%d %.0f\\n\", NR, s}'"
    )


# --------------------------------------------------------------------------------------------
# workers: one in-process measurement in a fresh interpreter
# --------------------------------------------------------------------------------------------
class _Skip(Exception):
    pass


def _work_genoflight(op: str, data_dir: Path, names: dict[str, str], which: str) -> dict[str, Any]:
    try:
        import pyarrow.ipc as ipc
        from genoflight import _native  # type: ignore[attr-defined]
    except ImportError as e:
        raise _Skip(f"genoflight native module not importable ({e})") from e
    config = json.dumps(native_config(str(data_dir)))
    sql = genoflight_sql(op, names[f"a_{which}"], names[f"b_{which}"], which == "parquet")
    t0 = time.perf_counter()
    row = ipc.open_stream(_native.query(config, sql)).read_all().to_pylist()[0]
    dt = time.perf_counter() - t0
    return {"seconds": dt, "rows": row["n"], "total": row["total"], "version": _native.version()}


def _work_polars_bio(op: str, data_dir: Path) -> dict[str, Any]:
    try:
        import polars as pl
        import polars_bio as pb
    except ImportError as e:
        raise _Skip(f"polars-bio not importable ({e}); pip install polars-bio") from e
    import warnings

    # Paths carry no coordinate metadata for polars-bio: 0-based comes from this option.
    warnings.filterwarnings("ignore", message="Coordinate system metadata is missing")
    pb.set_option("datafusion.bio.coordinate_system_zero_based", "true")
    a, b = (str(data_dir / f"intervals_{w}.parquet") for w in "ab")
    t0 = time.perf_counter()
    if op == "overlap":
        rows, total = pb.overlap(a, b).select(pl.len()).collect().item(), None
    else:
        frame, column = {
            "nearest": (pb.nearest, "distance"),
            "count_overlaps": (pb.count_overlaps, "count"),
            "coverage": (pb.coverage, "coverage"),
        }[op]
        rows, total = frame(a, b).select(pl.len(), pl.col(column).sum()).collect().row(0)
    dt = time.perf_counter() - t0
    return {
        "seconds": dt,
        "rows": rows,
        "total": total,
        "version": f"polars-bio {pb.__version__}, polars {pl.__version__}",
    }


def _work_bioframe(op: str, data_dir: Path) -> dict[str, Any]:
    try:
        import bioframe
        import pandas as pd
    except ImportError as e:
        raise _Skip(f"bioframe not importable ({e}); pip install bioframe") from e
    t0 = time.perf_counter()
    df1, df2 = (pd.read_parquet(data_dir / f"intervals_{w}.parquet") for w in "ab")
    if op == "overlap":
        rows, total = len(bioframe.overlap(df1, df2, how="inner")), None
    elif op == "nearest":
        r = bioframe.closest(df1, df2)
        rows, total = len(r), int(r["distance"].sum())
    elif op == "count_overlaps":
        r = bioframe.count_overlaps(df1, df2)
        rows, total = len(r), int(r["count"].sum())
    else:
        r = bioframe.coverage(df1, df2)
        rows, total = len(r), int(r["coverage"].sum())
    dt = time.perf_counter() - t0
    return {
        "seconds": dt,
        "rows": rows,
        "total": total,
        "version": f"bioframe {bioframe.__version__}",
    }


def _work_pyranges(op: str, data_dir: Path) -> dict[str, Any]:
    try:
        import numpy as np
        import pandas as pd
        import pyranges as pr
    except ImportError as e:
        raise _Skip(f"pyranges not importable ({e}); pip install pyranges") from e
    rename = {"chrom": "Chromosome", "start": "Start", "end": "End"}
    t0 = time.perf_counter()
    # No Strand column: pyranges would otherwise only pair intervals on the same strand.
    g1, g2 = (
        pr.PyRanges(
            pd.read_parquet(data_dir / f"intervals_{w}.parquet", columns=list(rename)).rename(
                columns=rename
            )
        )
        for w in "ab"
    )
    if op == "overlap":
        rows, total = len(g1.join(g2)), None
    elif op == "nearest":
        r = g1.nearest(g2).df
        rows, total = len(r), int(r["Distance"].sum())
    elif op == "count_overlaps":
        r = g1.count_overlaps(g2).df
        rows, total = len(r), int(r["NumberOverlaps"].sum())
    else:
        r = g1.coverage(g2).df
        covered = np.rint(r["FractionOverlaps"] * (r["End"] - r["Start"]))
        rows, total = len(r), int(covered.sum())
    dt = time.perf_counter() - t0
    return {"seconds": dt, "rows": rows, "total": total, "version": f"pyranges {pr.__version__}"}


def worker_main(argv: Sequence[str]) -> int:
    kind, op, data_dir, *rest = argv
    d = Path(data_dir)
    try:
        if kind == "genoflight":
            names, which = json.loads(rest[0]), rest[1]
            result = _work_genoflight(op, d, names, which)
        else:
            work: dict[str, Callable[[str, Path], dict[str, Any]]] = {
                "polars-bio": _work_polars_bio,
                "bioframe": _work_bioframe,
                "pyranges": _work_pyranges,
            }
            result = work[kind](op, d)
    except _Skip as e:
        print(SKIP_MARK + str(e), flush=True)
        return SKIP_EXIT
    print(RESULT_MARK + json.dumps(result), flush=True)
    return 0


# --------------------------------------------------------------------------------------------
# measuring
# --------------------------------------------------------------------------------------------
@dataclass
class Scale:
    name: str
    data_dir: Path
    input_rows: int  # a + b
    names: dict[str, str]  # a_bed, b_bed, a_parquet, b_parquet -> table names


@dataclass
class Settings:
    repeat: int
    warmup: int
    timeout: float
    peer_python: str
    startup_timeout: float


def _finish(r: Result, res: dict[str, Any]) -> None:
    r.rows = None if res.get("rows") is None else int(res["rows"])
    r.total = None if res.get("total") is None else int(res["total"])
    r.version = res.get("version") or r.version


def measure_worker(
    st: Settings, sc: Scale, op: str, tool: str, family: str, cmd: list[str]
) -> Result:
    """A fresh worker process per run; time from inside it, peak RSS of the process."""
    print(f"- {sc.name} {op}: {tool}", flush=True)
    r = Result(sc.name, op, tool, family, sc.input_rows)
    env = dict(os.environ, TQDM_DISABLE="1")  # polars-bio draws a progress bar on stderr
    peaks: list[float] = []
    for i in range(st.warmup + st.repeat):
        run = run_child(cmd, timeout=st.timeout, env=env)
        if run.returncode == SKIP_EXIT and SKIP_MARK in run.stdout:
            r.skipped = run.stdout.split(SKIP_MARK, 1)[1].strip()
            print(f"    skipped: {r.skipped}", flush=True)
            return r
        lines = [ln for ln in run.stdout.splitlines() if ln.startswith(RESULT_MARK)]
        if run.returncode != 0 or not lines:
            r.failed = f"exit {run.returncode}: {tail(run.stderr or run.stdout, 5)}"
            print(f"    FAILED: {r.failed}", flush=True)
            return r
        res = json.loads(lines[-1][len(RESULT_MARK) :])
        _finish(r, res)
        if i >= st.warmup:
            r.seconds.append(float(res["seconds"]))
            if run.peak_rss_mib is not None:
                peaks.append(run.peak_rss_mib)
            print(f"    {res['seconds']:.3f} s, {fmt(run.peak_rss_mib, '.0f')} MiB", flush=True)
    r.peak_rss_mib = max(peaks, default=None)
    return r


def measure_bedtools(st: Settings, sc: Scale, op: str) -> Result:
    tool = "bedtools"
    print(f"- {sc.name} {op}: {tool}", flush=True)
    r = Result(sc.name, op, tool, "bedtools", sc.input_rows)
    if not shutil.which("bedtools"):
        r.skipped = "bedtools not on PATH (apt-get install bedtools)"
        return r
    a, b = (sc.data_dir / f"intervals_{w}.bed" for w in "ab")
    script = bedtools_script(op, a, b)
    r.extra["command"] = script
    r.version = subprocess.run(
        ["bedtools", "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    peaks: list[float] = []
    for i in range(st.warmup + st.repeat):
        run = run_child(["bash", "-o", "pipefail", "-c", script], timeout=st.timeout)
        if run.returncode != 0:
            r.failed = f"exit {run.returncode}: {tail(run.stderr, 5)}"
            print(f"    FAILED: {r.failed}", flush=True)
            return r
        fields = run.stdout.split()
        r.rows = int(fields[0])
        r.total = int(fields[1]) if len(fields) > 1 else None
        if i >= st.warmup:
            r.seconds.append(run.wall_s)
            if run.peak_rss_mib is not None:
                peaks.append(run.peak_rss_mib)
            print(f"    {run.wall_s:.3f} s, {fmt(run.peak_rss_mib, '.0f')} MiB", flush=True)
    r.peak_rss_mib = max(peaks, default=None)
    return r


def measure_flight(st: Settings, sc: Scale, ops: Sequence[str], log: Path) -> list[Result]:
    """One server for the scale; every query over one ADBC connection; server VmHWM per run."""
    wanted = [(op, which) for op in ops for which in INPUTS]
    tools = {w: f"genoflight Flight SQL ({w})" for w in INPUTS}
    out: list[Result] = []
    try:
        with FlightServer(sc.data_dir, log, st.startup_timeout) as server:
            conn = adbc_connect(server.uri)
            try:
                for op, which in wanted:
                    out.append(_flight_one(st, sc, op, which, tools[which], server, conn))
            finally:
                conn.close()
    except BenchError as e:  # the server did not start
        for op, which in wanted:
            r = Result(sc.name, op, tools[which], "genoflight", sc.input_rows, failed=str(e))
            out.append(r)
    return out


def _flight_one(
    st: Settings, sc: Scale, op: str, which: str, tool: str, server: FlightServer, conn: Any
) -> Result:
    print(f"- {sc.name} {op}: {tool}", flush=True)
    sql = genoflight_sql(op, sc.names[f"a_{which}"], sc.names[f"b_{which}"], which == "parquet")
    r = Result(sc.name, op, tool, "genoflight", sc.input_rows, extra={"sql": sql})
    peaks: list[float] = []
    for i in range(st.warmup + st.repeat):
        reset_peak_rss(server.pid)
        try:
            with conn.cursor() as cur:
                t0 = time.perf_counter()
                cur.execute(sql)
                row = cur.fetchone()
                dt = time.perf_counter() - t0
        except Exception as e:  # a failed query is a result; the run goes on
            r.failed = str(e).strip().splitlines()[0][:500]
            print(f"    FAILED: {r.failed}", flush=True)
            return r
        assert row is not None
        _finish(r, {"rows": row[0], "total": row[1]})
        if i >= st.warmup:
            r.seconds.append(dt)
            peak = read_peak_rss_mib(server.pid)
            if peak is not None:
                peaks.append(peak)
            print(f"    {dt:.3f} s, server peak {fmt(peak, '.0f')} MiB", flush=True)
    r.peak_rss_mib = max(peaks, default=None)
    return r


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------
def ensure_data(make_data: Path, scale: str) -> Path:
    data_dir = OUT / f"intervals-{scale}"
    data_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(make_data), str(data_dir), "--scale", scale, "--only", "intervals"]
    print(f"- data: {shlex.join(cmd)}", flush=True)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"make_data.py failed ({done.returncode}):\n{tail(done.stderr)}")
    for w in "ab":
        if not (data_dir / f"intervals_{w}.parquet").exists():
            raise BenchError(
                f"make_data.py wrote no Parquet (is pyarrow importable by {sys.executable}?)"
            )
    print(f"    ready in {time.perf_counter() - t0:.1f} s: {data_dir}", flush=True)
    return data_dir


def input_rows(data_dir: Path) -> int:
    """a + b rows, from make_data's MANIFEST.tsv."""
    lines = (data_dir / "MANIFEST.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    rows = [dict(zip(header, ln.split("\t"), strict=False)) for ln in lines[1:]]
    return sum(int(r["rows"]) for r in rows if r.get("file", "").endswith(".bed"))


def table_names(data_dir: Path) -> dict[str, str]:
    """Which table genoflight serves each file as (`genoflight tables --json`, in a child)."""
    done = subprocess.run(
        [sys.executable, "-m", "genoflight", "tables", str(data_dir), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"genoflight tables failed: {tail(done.stderr)}")
    by_file = {Path(t["path"]).name: t["name"] for t in json.loads(done.stdout)["tables"]}
    return {f"{w}_{which}": by_file[f"intervals_{w}.{which}"] for w in "ab" for which in INPUTS}


# --------------------------------------------------------------------------------------------
# checks and report
# --------------------------------------------------------------------------------------------
def check_agreement(results: Sequence[Result]) -> list[str]:
    """Per scale and operation: rows agree; totals agree within a distance convention."""
    problems: list[str] = []
    groups: dict[tuple[str, str], list[Result]] = {}
    for r in results:
        if r.ok:
            groups.setdefault((r.scale, r.op), []).append(r)
    for (scale, op), rs in groups.items():
        ref = rs[0]
        for r in rs[1:]:
            if r.rows != ref.rows:
                problems.append(f"{scale} {op}: {r.tool} {r.rows} rows, {ref.tool} {ref.rows}")
        by_convention: dict[str, list[Result]] = {}
        for r in rs:
            if r.total is not None:
                key = DISTANCE_CONVENTION[r.family] if op == "nearest" else "-"
                by_convention.setdefault(key, []).append(r)
        for same in by_convention.values():
            for r in same[1:]:
                if r.total != same[0].total:
                    problems.append(
                        f"{scale} {op}: {r.tool} total {r.total}, {same[0].tool} {same[0].total}"
                    )
        if op == "count_overlaps":  # the counts add up to the overlap pairs
            pairs = next((x.rows for x in groups.get((scale, "overlap"), [])), None)
            for r in rs:
                if pairs is not None and r.total != pairs:
                    problems.append(f"{scale}: {r.tool} counts {r.total}, overlap pairs {pairs}")
    return problems


def report(results: Sequence[Result], scales: Sequence[Scale]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for sc in scales:
        rs = [r for r in results if r.scale == sc.name]
        print(f"\n### {sc.name}: {sc.input_rows:,} input intervals (a + b)\n")
        print("| tool | op | scale | rows | seconds | peak RSS MiB | vs genoflight |")
        print("| --- | --- | --- | ---: | ---: | ---: | ---: |")
        for op in OPS:
            ref = next((r for r in rs if r.op == op and r.tool == REFERENCE and r.ok), None)
            for r in (r for r in rs if r.op == op and r.ok):
                ratio = "-" if ref is None or ref.best is None else f"{r.best / ref.best:.2f}x"
                total = "" if r.total is None else f" (total {r.total:,})"
                print(
                    f"| {cell(r.tool)} | {op} | {sc.name} | {r.rows:,}{total} | "
                    f"{fmt(r.best)} | {fmt(r.peak_rss_mib, '.0f')} | {ratio} |"
                )
        for r in rs:
            if r.skipped:
                print(f"\n{r.tool} ({sc.name} {r.op}) skipped: {r.skipped}")
            if r.failed:
                print(f"\n!!! {r.tool} ({sc.name} {r.op}) FAILED: {r.failed}")
        summary[sc.name] = target_summary(rs)
    scaling(results, scales)
    return summary


def target_summary(rs: Sequence[Result]) -> dict[str, Any]:
    """The issue's target: >= 1.5x faster than polars-bio on overlap and count_overlaps, with
    peak RSS no higher (genoflight Flight SQL on the same Parquet files)."""
    out: dict[str, Any] = {}
    for op in OPS:
        gf = next((r for r in rs if r.op == op and r.tool == REFERENCE and r.ok), None)
        pb = next((r for r in rs if r.op == op and r.family == "polars-bio" and r.ok), None)
        if gf is None or pb is None or not gf.best or not pb.best:
            continue
        speedup = pb.best / gf.best
        rss_ok = (
            None
            if gf.peak_rss_mib is None or pb.peak_rss_mib is None
            else gf.peak_rss_mib <= pb.peak_rss_mib
        )
        out[op] = {"speedup_vs_polars_bio": speedup, "rss_not_higher": rss_ok}
        met = "met" if speedup >= 1.5 and rss_ok else "NOT met"
        target = (
            f"; target >= 1.5x with RSS <=: {met}" if op in ("overlap", "count_overlaps") else ""
        )
        print(
            f"- {rs[0].scale} {op}: genoflight {speedup:.2f}x faster than polars-bio, "
            f"RSS {fmt(gf.peak_rss_mib, '.0f')} vs {fmt(pb.peak_rss_mib, '.0f')} MiB{target}"
        )
    return out


def scaling(results: Sequence[Result], scales: Sequence[Scale]) -> None:
    """Seconds per scale for every (tool, op), and the growth exponent between scales
    (time ~ rows^k: k = 1 is linear)."""
    if len(scales) < 2:
        return
    names = [s.name for s in scales]
    print("\n### Scaling (seconds; k = growth exponent of time vs input rows)\n")
    head = " | ".join(f"{s.name} ({s.input_rows / 1e6:g}M rows)" for s in scales)
    print(f"| tool | op | {head} | k |")
    print("| --- | --- | " + " | ".join("---:" for _ in scales) + " | ---: |")
    keys = sorted({(r.tool, r.op) for r in results}, key=lambda k: (OPS.index(k[1]), k[0]))
    for tool, op in keys:
        by = {r.scale: r for r in results if r.tool == tool and r.op == op and r.ok}
        cells = [fmt(by[n].best) if n in by else "-" for n in names]
        pts = [(s.input_rows, by[s.name].best) for s in scales if s.name in by]
        k = "-"
        if len(pts) >= 2 and all(t and t > 0 for _, t in pts):
            (n0, t0), (n1, t1) = pts[0], pts[-1]
            k = f"{math.log(t1 / t0) / math.log(n1 / n0):.2f}"
        print(f"| {cell(tool)} | {op} | " + " | ".join(cells) + f" | {k} |")


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description="Benchmark genoflight's interval operations against polars-bio, bioframe, "
        "pyranges and bedtools."
    )
    ap.add_argument(
        "--scales", default="small,medium", help="comma list of small, medium, large "
        "(default small,medium; large generates 12M intervals and takes a while)",
    )  # fmt: skip
    ap.add_argument("--ops", default=",".join(OPS), help=f"comma list of {', '.join(OPS)}")
    ap.add_argument(
        "--tools", default=",".join(ALL_TOOLS), help=f"comma list of {', '.join(ALL_TOOLS)}"
    )
    ap.add_argument("--make-data", type=Path, default=DEFAULT_MAKE_DATA)
    ap.add_argument("--repeat", type=int, default=1, help="timed runs per measurement (1)")
    ap.add_argument("--warmup", type=int, default=0, help="untimed runs first (0)")
    ap.add_argument(
        "--peer-python",
        default=sys.executable,
        help="interpreter that has polars-bio, bioframe, pyranges (default: this one)",
    )
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per run (1800)")
    ap.add_argument("--startup-timeout", type=float, default=120)
    ap.add_argument("--json", type=Path, default=OUT / "results-intervals.json")
    args = ap.parse_args(argv)

    def items(text: str, allowed: Sequence[str], what: str) -> list[str]:
        got = [t.strip() for t in text.split(",") if t.strip()]
        if unknown := set(got) - set(allowed):
            ap.error(f"unknown {what}: {', '.join(sorted(unknown))}")
        return [t for t in allowed if t in got]  # canonical order

    args.scales = items(args.scales, SCALES, "--scales")
    args.ops = items(args.ops, OPS, "--ops")
    args.tools = set(items(args.tools, ALL_TOOLS, "--tools"))
    if args.repeat < 1 or args.warmup < 0:
        ap.error("--repeat must be >= 1, --warmup >= 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_worker"]:
        return worker_main(argv[1:])
    args = parse_args(argv)
    tools: set[str] = args.tools
    gf_version = common.genoflight_version() if tools & GENOFLIGHT_TOOLS else None
    st = Settings(args.repeat, args.warmup, args.timeout, args.peer_python, args.startup_timeout)
    print(
        f"- {os.cpu_count()} CPUs; {args.repeat} timed run(s) after {args.warmup} warm-up; "
        f"peers: {args.peer_python}",
        flush=True,
    )
    scales: list[Scale] = []
    results: list[Result] = []
    for name in args.scales:
        d = ensure_data(args.make_data, name)
        names = table_names(d) if tools & GENOFLIGHT_TOOLS else {}
        sc = Scale(name, d, input_rows(d), names)
        scales.append(sc)
        if "flight" in tools:
            log = OUT / f"genoflight-serve-intervals-{name}.log"
            results.extend(measure_flight(st, sc, args.ops, log))
        for op in args.ops:
            if "inprocess" in tools:
                for which in INPUTS:
                    cmd = [sys.executable, str(SCRIPT), "_worker", "genoflight", op, str(d),
                           json.dumps(names), which]  # fmt: skip
                    tool = f"genoflight in-process ({which})"
                    results.append(measure_worker(st, sc, op, tool, "genoflight", cmd))
            for peer in PEER_WORKERS:
                if peer in tools:
                    cmd = [args.peer_python, str(SCRIPT), "_worker", peer, op, str(d)]
                    results.append(measure_worker(st, sc, op, peer, peer, cmd))
            if "bedtools" in tools:
                results.append(measure_bedtools(st, sc, op))
    for r in results:
        if r.family == "genoflight" and r.version is None:
            r.version = gf_version

    print("\n## Results\n\nratio = tool seconds / " + REFERENCE + " seconds (below 1 = faster)")
    summary = report(results, scales)
    problems = check_agreement(results)
    for p in problems:
        print(f"\n!!!!!!!! MISMATCH: {p} !!!!!!!!", flush=True)
    if not problems:
        print(f"\nAll {sum(r.ok for r in results)} measurements agree (rows and totals).")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "scales": [asdict(s) | {"data_dir": str(s.data_dir)} for s in scales],
                "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
                "genoflight_version": gf_version,
                "settings": {k: str(v) for k, v in vars(args).items()},
                "results": [asdict(r) | {"best_s": r.best} for r in results],
                "summary": summary,
                "mismatches": problems,
                "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            },
            indent=2,
            default=str,
        )
        + "\n"
    )
    print(f"\nresults: {args.json}")
    failed = any(r.failed for r in results if r.family == "genoflight")
    return 1 if problems or failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        sys.exit(f"error: {e}")
