#!/usr/bin/env python3
"""VCF benchmark: genoflight (over Flight SQL and in-process) against peer tools, in one run.

    uv run python bench/bench_vcf.py --scale medium

Generates (or reuses) ``variants.vcf.gz`` with ../shared/bench/make_data.py, then measures on it:

* full scan ``SELECT count(*), avg(qual) FROM public.variants``: genoflight over Flight SQL
  (a real ``genoflight serve`` subprocess, ADBC client), genoflight in-process
  (``genoflight._native.query``), ``bcftools view -H | wc -l``, ``bcftools query | awk`` (count
  and mean QUAL), polars-bio (``scan_vcf`` and its SQL), cyvcf2;
* Arrow throughput of ``SELECT *`` fetched to an ADBC client;
* latency of a 100 kb region count on the indexed VCF, against ``bcftools view -r``.

Every tool is optional: one that is missing is reported as skipped. Results are printed as a
markdown table and written to ``bench/out/results-vcf-<scale>.json``. Exit status 1 if any tool
disagrees with bcftools on a count or on the mean QUAL.

In-process tools (genoflight._native, polars-bio, cyvcf2) run in a fresh worker process per
repetition (this script, re-invoked with ``_worker``), so that each run's peak RSS is its own
(measured with GNU time); their time is measured inside the worker around the work only
(interpreter start and imports excluded). Flight SQL peak RSS is the server process's VmHWM,
reset before each run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve()
REPO = SCRIPT.parent.parent
OUT = REPO / "bench" / "out"
DEFAULT_MAKE_DATA = REPO.parent / "shared" / "bench" / "make_data.py"
VCF_NAME = "variants.vcf.gz"

AGG_SQL = "SELECT count(*) AS n, avg(qual) AS avg_qual FROM public.variants"
SCAN_SQL = "SELECT * FROM public.variants"
ALL_TOOLS = ("flight", "inprocess", "throughput", "region", "bcftools", "polars-bio", "cyvcf2")
GENOFLIGHT_TOOLS = frozenset({"flight", "inprocess", "throughput", "region"})
SERVER_TOOLS = frozenset({"flight", "throughput", "region"})

RESULT_MARK = "BENCH_RESULT "
SKIP_MARK = "BENCH_SKIP "
SKIP_EXIT = 3

BUILD_HINT = (
    "build and install it from the repository root with `uv sync` (then run this script with "
    "`uv run python bench/bench_vcf.py`) or `pip install .`; to measure only the peer tools "
    "pass --tools bcftools,polars-bio,cyvcf2"
)


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------
@dataclass
class Measurement:
    """One tool doing one thing, ``repeat`` times (after ``warmup`` untimed runs)."""

    key: str
    tool: str
    what: str
    seconds: list[float] = field(default_factory=list)
    peak_rss_mib: float | None = None
    count: int | None = None
    avg_qual: float | None = None
    version: str | None = None
    skipped: str | None = None  # the tool is not installed
    failed: str | None = None  # the tool is there but did not work
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.skipped is None and self.failed is None and bool(self.seconds)

    @property
    def min_s(self) -> float | None:
        return min(self.seconds) if self.seconds else None

    @property
    def median_s(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["min_s"] = self.min_s
        d["median_s"] = self.median_s
        return d


@dataclass
class ChildRun:
    """A finished child process: wall time, its peak RSS, exit code, output."""

    wall_s: float
    peak_rss_mib: float | None  # None without GNU time
    returncode: int
    stdout: str
    stderr: str


class BenchError(RuntimeError):
    pass


def skipped(key: str, tool: str, what: str, why: str) -> Measurement:
    print(f"  {tool}: skipped: {why}", flush=True)
    return Measurement(key=key, tool=tool, what=what, skipped=why)


def failed(key: str, tool: str, what: str, why: str) -> Measurement:
    print(f"  {tool}: FAILED: {why}", flush=True)
    return Measurement(key=key, tool=tool, what=what, failed=why)


# --------------------------------------------------------------------------------------------
# process helpers
# --------------------------------------------------------------------------------------------
def gnu_time() -> str | None:
    """GNU time, which reports a child's peak RSS uncontaminated by this (possibly large) process.

    A child's own rusage (wait4) is not enough: on exec, Linux folds the high-water mark of the
    old address space - this process's, shared through vfork - into the child's maxrss.
    """
    path = shutil.which("time")
    if path is None:
        return None
    ok = subprocess.run([path, "-f", "%M", "-o", os.devnull, "true"], check=False)
    return path if ok.returncode == 0 else None


GNU_TIME = gnu_time()


def run_child(cmd: Sequence[str], *, timeout: float, env: dict[str, str] | None = None) -> ChildRun:
    """Run ``cmd`` to completion: wall time, peak RSS (GNU time, when present), output."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r") as rss,
    ):
        full = [GNU_TIME, "-f", "%M", "-o", rss.name, *cmd] if GNU_TIME else list(cmd)
        t0 = time.perf_counter()
        proc = subprocess.Popen(full, stdout=out, stderr=err, env=env, start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            err.write(f"\n(killed after the {timeout:.0f} s timeout)".encode())
        except BaseException:  # Ctrl-C: the child is in its own session, so end it here
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        # GNU time writes "Command exited with non-zero status N" first when the command fails.
        last = (rss.read().strip().splitlines() or [""])[-1]
        peak = int(last) / 1024 if last.isdigit() else None
        return ChildRun(
            wall,
            peak,
            proc.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
        )


def shell(script: str, timeout: float = 120) -> str:
    """Run a helper shell pipeline (not measured) and return its stdout."""
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    # `| head -1` makes the producer die of SIGPIPE (exit 141): that is expected.
    if done.returncode not in (0, 141):
        raise BenchError(f"`{script}` failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def tail(text: str, n: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-n:])


def read_peak_rss_mib(pid: int | str) -> float | None:
    """VmHWM (peak resident set) of a live process, from /proc."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def reset_peak_rss(pid: int | str) -> bool:
    """Reset a process's VmHWM to its current RSS (Linux: write 5 to clear_refs)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


# --------------------------------------------------------------------------------------------
# worker: one in-process measurement in a fresh interpreter (prints one BENCH_RESULT line)
# --------------------------------------------------------------------------------------------
def native_config(data_dir: str) -> dict[str, Any]:
    """The normalised configuration JSON of docs/native-contract.md, serving one directory."""
    return {
        "server": {
            "host": "127.0.0.1",
            "port": 50051,
            "admin_port": None,
            "pass_view_types": False,
        },
        "paths": [{"path": str(Path(data_dir).resolve()), "schema": "public"}],
        "tables": [],
        "vep_caches": [],
        "auth": {"token_ttl_s": 3600, "users": []},
        "tls": None,
        "limits": {
            "memory_bytes": None,
            "query_timeout_s": None,
            "max_concurrent_queries": None,
            "max_result_rows": None,
        },
    }


def _work_genoflight(vcf: str) -> dict[str, Any]:
    try:
        import pyarrow.ipc as ipc
        from genoflight import _native  # type: ignore[attr-defined]
    except ImportError as e:
        raise _Skip(f"genoflight native module not importable ({e}); {BUILD_HINT}") from e
    config = json.dumps(native_config(str(Path(vcf).parent)))
    t0 = time.perf_counter()
    table = ipc.open_stream(_native.query(config, AGG_SQL)).read_all()
    dt = time.perf_counter() - t0
    row = table.to_pylist()[0]
    return {
        "seconds": dt,
        "count": row["n"],
        "avg_qual": row["avg_qual"],
        "version": _native.version(),
    }


def _work_polars_bio_scan(vcf: str) -> dict[str, Any]:
    try:
        import polars as pl
        import polars_bio as pb
    except ImportError as e:
        raise _Skip(f"polars-bio not importable ({e}); pip install polars-bio") from e
    t0 = time.perf_counter()
    df = (
        pb.scan_vcf(vcf)
        .select(pl.len().alias("n"), pl.col("qual").mean().alias("avg_qual"))
        .collect()
    )
    dt = time.perf_counter() - t0
    row = df.row(0, named=True)
    return {
        "seconds": dt,
        "count": row["n"],
        "avg_qual": row["avg_qual"],
        "version": f"polars-bio {pb.__version__}, polars {pl.__version__}",
    }


def _work_polars_bio_sql(vcf: str) -> dict[str, Any]:
    try:
        import polars as pl
        import polars_bio as pb
    except ImportError as e:
        raise _Skip(f"polars-bio not importable ({e}); pip install polars-bio") from e
    t0 = time.perf_counter()
    pb.register_vcf(vcf, "variants")
    df = pb.sql("SELECT count(*) AS n, avg(qual) AS avg_qual FROM variants").collect()
    dt = time.perf_counter() - t0
    row = df.row(0, named=True)
    return {
        "seconds": dt,
        "count": row["n"],
        "avg_qual": row["avg_qual"],
        "version": f"polars-bio {pb.__version__}, polars {pl.__version__}",
    }


def _work_cyvcf2(vcf: str) -> dict[str, Any]:
    try:
        import cyvcf2
    except ImportError as e:
        raise _Skip(f"cyvcf2 not importable ({e}); pip install cyvcf2") from e
    t0 = time.perf_counter()
    n = k = 0
    total = 0.0
    for rec in cyvcf2.VCF(vcf, lazy=True):
        n += 1
        q = rec.QUAL
        if q is not None:
            total += q
            k += 1
    dt = time.perf_counter() - t0
    return {
        "seconds": dt,
        "count": n,
        "avg_qual": total / k if k else None,
        "version": f"cyvcf2 {cyvcf2.__version__}",
    }


class _Skip(Exception):
    pass


WORKERS: dict[str, Callable[[str], dict[str, Any]]] = {
    "genoflight-inprocess": _work_genoflight,
    "polars-bio-scan": _work_polars_bio_scan,
    "polars-bio-sql": _work_polars_bio_sql,
    "cyvcf2": _work_cyvcf2,
}


def worker_main(argv: Sequence[str]) -> int:
    kind, vcf = argv
    try:
        result = WORKERS[kind](vcf)
    except _Skip as e:
        print(SKIP_MARK + str(e), flush=True)
        return SKIP_EXIT
    print(RESULT_MARK + json.dumps(result), flush=True)
    return 0


# --------------------------------------------------------------------------------------------
# measuring subprocess tools
# --------------------------------------------------------------------------------------------
@dataclass
class Settings:
    vcf: Path
    repeat: int
    warmup: int
    timeout: float


def measure_worker(
    st: Settings, key: str, tool: str, what: str, kind: str, python: str
) -> Measurement:
    """Fresh worker process per run; time measured inside the worker, peak RSS of the worker."""
    print(f"- {tool}: {what}", flush=True)
    env = dict(os.environ, TQDM_DISABLE="1")  # polars-bio draws a tqdm bar on stderr
    m = Measurement(key=key, tool=tool, what=what)
    peaks: list[float] = []
    for i in range(st.warmup + st.repeat):
        run = run_child(
            [python, str(SCRIPT), "_worker", kind, str(st.vcf)], timeout=st.timeout, env=env
        )
        if run.returncode == SKIP_EXIT and SKIP_MARK in run.stdout:
            return skipped(key, tool, what, run.stdout.split(SKIP_MARK, 1)[1].strip())
        lines = [ln for ln in run.stdout.splitlines() if ln.startswith(RESULT_MARK)]
        if run.returncode != 0 or not lines:
            why = f"exit {run.returncode}: {tail(run.stderr or run.stdout, 5)}"
            return failed(key, tool, what, why)
        res = json.loads(lines[-1][len(RESULT_MARK) :])
        m.count, m.avg_qual, m.version = res["count"], res["avg_qual"], res.get("version")
        if i >= st.warmup:
            m.seconds.append(float(res["seconds"]))
            if run.peak_rss_mib is not None:
                peaks.append(run.peak_rss_mib)
            print(
                f"    run {i - st.warmup + 1}: {res['seconds']:.3f} s, "
                f"{fmt(run.peak_rss_mib, '.0f')} MiB",
                flush=True,
            )
    m.peak_rss_mib = max(peaks, default=None)
    return m


def measure_shell(
    st: Settings,
    key: str,
    tool: str,
    what: str,
    script: str,
    parse: Callable[[str], tuple[int, float | None]],
) -> Measurement:
    """A shell pipeline per run; wall time of the whole pipeline, its peak RSS."""
    print(f"- {tool}: {what}", flush=True)
    m = Measurement(key=key, tool=tool, what=what, extra={"command": script})
    peaks: list[float] = []
    for i in range(st.warmup + st.repeat):
        run = run_child(["bash", "-o", "pipefail", "-c", script], timeout=st.timeout)
        if run.returncode != 0:
            why = f"exit {run.returncode}: {tail(run.stderr, 5)}"
            return failed(key, tool, what, why)
        m.count, m.avg_qual = parse(run.stdout)
        if i >= st.warmup:
            m.seconds.append(run.wall_s)
            if run.peak_rss_mib is not None:
                peaks.append(run.peak_rss_mib)
            print(
                f"    run {i - st.warmup + 1}: {run.wall_s:.3f} s, "
                f"{fmt(run.peak_rss_mib, '.0f')} MiB",
                flush=True,
            )
    m.peak_rss_mib = max(peaks, default=None)
    return m


def bcftools_version() -> str | None:
    if not shutil.which("bcftools"):
        return None
    return shell("bcftools --version | head -1").strip()


def measure_bcftools(st: Settings) -> list[Measurement]:
    if not shutil.which("bcftools"):
        why = "bcftools not on PATH (apt-get install bcftools)"
        return [
            skipped("bcftools-count", "bcftools view", "count records", why),
            skipped("bcftools-qual", "bcftools query | awk", "count + mean QUAL", why),
        ]
    version = bcftools_version()
    vcf = shlex.quote(str(st.vcf))

    def parse_count(out: str) -> tuple[int, float | None]:
        return int(out.split()[0]), None

    def parse_count_avg(out: str) -> tuple[int, float | None]:
        n, avg = out.split()
        return int(n), (None if avg == "nan" else float(avg))

    awk = (
        'awk \'$1 != "." { s += $1; k++ } '
        'END { if (k) printf "%d %.12g\\n", NR, s / k; else print NR, "nan" }\''
    )
    out = [
        measure_shell(
            st,
            "bcftools-count",
            "bcftools view",
            "count records",
            f"bcftools view -H {vcf} | wc -l",
            parse_count,
        ),
        measure_shell(
            st,
            "bcftools-qual",
            "bcftools query | awk",
            "count + mean QUAL",
            f"bcftools query -f '%QUAL\\n' {vcf} | {awk}",
            parse_count_avg,
        ),
    ]
    for m in out:
        m.version = version
    return out


# --------------------------------------------------------------------------------------------
# genoflight over Flight SQL
# --------------------------------------------------------------------------------------------
class FlightServer:
    """``python -m genoflight serve`` on a free loopback port, for the duration of a ``with``."""

    def __init__(self, data_dir: Path, log_path: Path, startup_timeout: float) -> None:
        self.data_dir = data_dir
        self.log_path = log_path
        self.startup_timeout = startup_timeout
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"grpc://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def __enter__(self) -> FlightServer:
        cmd = [
            sys.executable,
            "-m",
            "genoflight",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            str(self.data_dir),
        ]
        print(f"- starting: {shlex.join(cmd)}  (log: {self.log_path})", flush=True)
        with open(self.log_path, "wb") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.startup_timeout
        t0 = time.perf_counter()
        while True:
            if self.proc.poll() is not None:
                raise BenchError(
                    f"genoflight serve exited with {self.proc.returncode}:\n"
                    f"{tail(self.log_path.read_text(errors='replace'))}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    self.__exit__()
                    raise BenchError(
                        f"genoflight serve not listening on port {self.port} after "
                        f"{self.startup_timeout:.0f} s:\n"
                        f"{tail(self.log_path.read_text(errors='replace'))}"
                    ) from None
                time.sleep(0.05)
        print(f"    listening on {self.uri} after {time.perf_counter() - t0:.2f} s", flush=True)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def adbc_connect(uri: str) -> Any:
    import adbc_driver_flightsql.dbapi as flight_sql

    # autocommit=True: the server is read-only; no transaction support to probe for.
    return flight_sql.connect(uri, autocommit=True)


def measure_flight_agg(st: Settings, server: FlightServer, conn: Any) -> Measurement:
    key, what = FLIGHT_JOBS["flight"]
    print(f"- {FLIGHT_TOOL}: {what}", flush=True)
    m = Measurement(
        key=key,
        tool=FLIGHT_TOOL,
        what=what,
        extra={"sql": AGG_SQL, "uri": server.uri, "rss_of": "server process"},
    )
    peaks: list[float] = []
    for i in range(st.warmup + st.repeat):
        reset = reset_peak_rss(server.pid)
        with conn.cursor() as cur:
            t0 = time.perf_counter()
            cur.execute(AGG_SQL)
            row = cur.fetchone()
            dt = time.perf_counter() - t0
        assert row is not None
        m.count = int(row[0])
        m.avg_qual = None if row[1] is None else float(row[1])
        if i >= st.warmup:
            m.seconds.append(dt)
            peak = read_peak_rss_mib(server.pid)
            if peak is not None:
                peaks.append(peak)
            m.extra["rss_reset_per_run"] = reset
            print(
                f"    run {i - st.warmup + 1}: {dt:.3f} s, server peak "
                f"{'?' if peak is None else f'{peak:.0f}'} MiB",
                flush=True,
            )
    m.peak_rss_mib = max(peaks) if peaks else None
    return m


def measure_throughput(st: Settings, server: FlightServer, conn: Any) -> Measurement:
    key, what = FLIGHT_JOBS["throughput"]
    print(f"- {FLIGHT_TOOL}: {what}", flush=True)
    m = Measurement(
        key=key,
        tool=FLIGHT_TOOL,
        what=what,
        extra={"sql": SCAN_SQL, "rss_of": "server process"},
    )
    server_peaks: list[float] = []
    client_peaks: list[float] = []
    for i in range(st.warmup + st.repeat):
        reset_peak_rss(server.pid)
        reset_peak_rss("self")
        with conn.cursor() as cur:
            t0 = time.perf_counter()
            cur.execute(SCAN_SQL)
            table = cur.fetch_arrow_table()
            dt = time.perf_counter() - t0
        rows, nbytes = table.num_rows, table.nbytes
        m.count = rows
        m.extra.update(rows=rows, arrow_bytes=nbytes, columns=table.num_columns)
        del table
        if i >= st.warmup:
            m.seconds.append(dt)
            sp, cp = read_peak_rss_mib(server.pid), read_peak_rss_mib("self")
            if sp is not None:
                server_peaks.append(sp)
            if cp is not None:
                client_peaks.append(cp)
            print(
                f"    run {i - st.warmup + 1}: {dt:.3f} s, {rows / dt:,.0f} rows/s, "
                f"{nbytes / 1e6 / dt:,.1f} MB/s",
                flush=True,
            )
    m.peak_rss_mib = max(server_peaks) if server_peaks else None
    best, med = m.min_s, m.median_s
    assert best is not None and med is not None
    m.extra.update(
        rows_per_s_best=rows / best,
        rows_per_s_median=rows / med,
        mb_per_s_best=nbytes / 1e6 / best,
        mb_per_s_median=nbytes / 1e6 / med,
        client_peak_rss_mib=max(client_peaks) if client_peaks else None,
    )
    return m


FLIGHT_JOBS = {  # tool name -> (measurement key, what)
    "flight": ("genoflight-flight", "count(*), avg(qual): full scan"),
    "throughput": ("genoflight-flight-select-all", "SELECT * -> ADBC fetch_arrow_table"),
    "region": ("genoflight-flight-region", "region count"),
}
FLIGHT_TOOL = "genoflight Flight SQL"


def measure_over_flight(
    st: Settings,
    tools: set[str],
    data_dir: Path,
    log: Path,
    args: argparse.Namespace,
    region: Region | None,
) -> list[Measurement]:
    """Start one server, run the selected Flight SQL measurements over one ADBC connection.

    A server that does not start, or a query that fails, is reported and the run goes on.
    """
    wanted = [t for t in FLIGHT_JOBS if t in tools and (t != "region" or region is not None)]

    try:
        import adbc_driver_flightsql.dbapi  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError as e:
        why = f"{e}; pip install adbc-driver-flightsql pyarrow"
        return [skipped(FLIGHT_JOBS[t][0], FLIGHT_TOOL, FLIGHT_JOBS[t][1], why) for t in wanted]
    out: list[Measurement] = []
    try:
        with FlightServer(data_dir, log, args.startup_timeout) as server:
            conn = adbc_connect(server.uri)

            def job(t: str) -> Measurement:
                if t == "flight":
                    return measure_flight_agg(st, server, conn)
                if t == "throughput":
                    return measure_throughput(st, server, conn)
                assert region is not None
                return measure_region_flight(conn, region, args.region_repeat)

            try:
                for t in wanted:
                    try:
                        out.append(job(t))
                    except Exception as e:  # a query error is a result, not the end of the run
                        key, what = FLIGHT_JOBS[t]
                        out.append(failed(key, FLIGHT_TOOL, what, str(e)))
            finally:
                conn.close()
    except BenchError as e:  # the server did not start
        return [failed(FLIGHT_JOBS[t][0], FLIGHT_TOOL, FLIGHT_JOBS[t][1], str(e)) for t in wanted]
    return out


# --------------------------------------------------------------------------------------------
# region query
# --------------------------------------------------------------------------------------------
@dataclass
class Region:
    chrom: str
    start: int  # 1-based, inclusive
    end: int  # 1-based, inclusive

    @property
    def text(self) -> str:
        return f"{self.chrom}:{self.start}-{self.end}"


def pick_region(vcf: Path, width: int) -> Region:
    """The first record's contig; a window starting at the first record past its middle."""
    q = shlex.quote(str(vcf))
    chrom = shell(f"bcftools query -f '%CHROM\\n' {q} | head -1").strip()
    if not chrom:
        raise BenchError(f"{vcf} has no records")
    length = None
    for line in shell(f"bcftools index -s {q}").splitlines():
        name, size, *_ = line.split("\t")
        if name == chrom and size.isdigit():
            length = int(size)
    first = int(shell(f"bcftools query -f '%POS\\n' -r {shlex.quote(chrom)} {q} | head -1"))
    start = first
    if length:
        mid = shell(
            f"bcftools query -f '%POS\\n' -r {shlex.quote(f'{chrom}:{length // 2}-')} {q} | head -1"
        ).strip()
        start = int(mid) if mid else first
    return Region(chrom, start, start + width - 1)


def region_sql(r: Region) -> str:
    chrom = r.chrom.replace("'", "''")
    return (
        f"SELECT count(*) AS n FROM public.variants "
        f"WHERE chrom = '{chrom}' AND start BETWEEN {r.start} AND {r.end}"
    )


def latency_stats(seconds: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": percentile(seconds, 50) * 1e3,
        "p95_ms": percentile(seconds, 95) * 1e3,
        "min_ms": min(seconds) * 1e3,
        "max_ms": max(seconds) * 1e3,
    }


def measure_region_flight(conn: Any, r: Region, repeat: int) -> Measurement:
    sql = region_sql(r)
    key, label = FLIGHT_JOBS["region"]
    what = f"{label} {r.text}"
    print(f"- {FLIGHT_TOOL}: {what} x{repeat}", flush=True)
    m = Measurement(key=key, tool=FLIGHT_TOOL, what=what, extra={"sql": sql})
    for i in range(1 + repeat):  # one warm-up
        with conn.cursor() as cur:
            t0 = time.perf_counter()
            cur.execute(sql)
            row = cur.fetchone()
            dt = time.perf_counter() - t0
        assert row is not None
        m.count = int(row[0])
        if i:
            m.seconds.append(dt)
    m.extra.update(latency_stats(m.seconds))
    print(
        f"    count {m.count}, p50 {m.extra['p50_ms']:.1f} ms, p95 {m.extra['p95_ms']:.1f} ms",
        flush=True,
    )
    return m


def measure_region_bcftools(st: Settings, r: Region, repeat: int) -> Measurement:
    # --regions-overlap 0: POS inside the region, as `start BETWEEN a AND b` (not the default
    # "record overlaps", which would also count deletions that start before the window).
    script = (
        f"bcftools view -H --regions-overlap 0 -r {shlex.quote(r.text)} "
        f"{shlex.quote(str(st.vcf))} | wc -l"
    )
    what = f"region count {r.text}"
    print(f"- bcftools view -r: {what} x{repeat}", flush=True)
    m = Measurement(
        key="bcftools-region",
        tool="bcftools view -r",
        what=what,
        extra={"command": script},
        version=bcftools_version(),
    )
    peaks: list[float] = []
    for i in range(1 + repeat):
        run = run_child(["bash", "-o", "pipefail", "-c", script], timeout=st.timeout)
        if run.returncode != 0:
            return failed(m.key, m.tool, what, f"exit {run.returncode}: {tail(run.stderr, 5)}")
        m.count = int(run.stdout.split()[0])
        if i:
            m.seconds.append(run.wall_s)
            if run.peak_rss_mib is not None:
                peaks.append(run.peak_rss_mib)
    m.peak_rss_mib = max(peaks, default=None)
    m.extra.update(latency_stats(m.seconds))
    print(
        f"    count {m.count}, p50 {m.extra['p50_ms']:.1f} ms, "
        f"p95 {m.extra['p95_ms']:.1f} ms (process start included)",
        flush=True,
    )
    return m


# --------------------------------------------------------------------------------------------
# data, checks, report
# --------------------------------------------------------------------------------------------
def ensure_data(make_data: Path, data_dir: Path, scale: str) -> dict[str, Any]:
    vcf = data_dir / VCF_NAME
    if not make_data.exists():
        if vcf.exists() and (data_dir / (VCF_NAME + ".tbi")).exists():
            print(f"- {make_data} not found; using the existing {vcf}", flush=True)
            return {"generated": False}
        raise BenchError(f"{make_data} not found and no {vcf}: pass --make-data or --data-dir")
    cmd = [sys.executable, str(make_data), str(data_dir), "--scale", scale, "--only", "vcf"]
    print(f"- data: {shlex.join(cmd)}", flush=True)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise BenchError(f"make_data.py failed ({done.returncode}):\n{tail(done.stderr)}")
    reused = "variants: complete, skipping" in done.stderr
    info: dict[str, Any] = {"generated": not reused, "make_data_wall_s": round(wall, 2)}
    manifest = data_dir / "MANIFEST.tsv"
    if manifest.exists():
        lines = manifest.read_text().splitlines()
        header = lines[0].split("\t")
        for line in lines[1:]:
            row = dict(zip(header, line.split("\t"), strict=False))
            if row.get("file") == VCF_NAME:
                info.update(
                    generation_s=float(row["seconds"]),
                    rows=int(row["rows"]),
                    note=row.get("note", ""),
                    sha256=row.get("sha256"),
                )
    print(
        f"    {'reused' if reused else 'generated'} {vcf} "
        f"(generation took {info.get('generation_s', wall):.1f} s)",
        flush=True,
    )
    return info


def check_agreement(ms: Sequence[Measurement]) -> list[str]:
    """Every count and mean QUAL must agree with bcftools (or, without it, with each other)."""
    problems: list[str] = []
    full = [m for m in ms if m.ok and m.count is not None and "region" not in m.key]
    ref_count = next((m for m in full if m.key.startswith("bcftools")), full[0] if full else None)
    if ref_count is not None:
        for m in full:
            if m.count != ref_count.count:
                problems.append(
                    f"{m.tool} ({m.what}): {m.count} rows, {ref_count.tool} says {ref_count.count}"
                )
    with_avg = [m for m in full if m.avg_qual is not None]
    ref_avg = next(
        (m for m in with_avg if m.key == "bcftools-qual"), with_avg[0] if with_avg else None
    )
    if ref_avg is not None and ref_avg.avg_qual is not None:
        for m in with_avg:
            assert m.avg_qual is not None
            if not math.isclose(m.avg_qual, ref_avg.avg_qual, rel_tol=1e-6):
                problems.append(
                    f"{m.tool} ({m.what}): avg(qual) {m.avg_qual!r}, "
                    f"{ref_avg.tool} says {ref_avg.avg_qual!r}"
                )
    regions = [m for m in ms if m.ok and "region" in m.key]
    if len(regions) == 2 and regions[0].count != regions[1].count:
        problems.append(
            f"{regions[0].what}: {regions[0].tool} {regions[0].count}, "
            f"{regions[1].tool} {regions[1].count}"
        )
    return problems


def fmt(x: float | None, spec: str = ".3f") -> str:
    return "-" if x is None else format(x, spec)


def cell(text: str) -> str:
    """Text safe inside a markdown table cell."""
    return text.replace("|", "\\|")


def report(ms: Sequence[Measurement], region: Region | None) -> dict[str, Any]:
    by_key = {m.key: m for m in ms}
    flight = by_key.get("genoflight-flight")
    base = flight.min_s if flight is not None and flight.ok else None
    full = [m for m in ms if "region" not in m.key]

    if any(m.ok for m in full):
        print("\n| tool | what | min s | median s | vs Flight (min) | peak RSS MiB |")
        print("| --- | --- | ---: | ---: | ---: | ---: |")
    for m in full:
        if not m.ok:
            continue
        what = m.what
        if m.key == "genoflight-flight-select-all":
            what += (
                f" ({m.extra['rows']:,} rows, {m.extra['arrow_bytes'] / 1e6:,.0f} MB: "
                f"{m.extra['rows_per_s_best']:,.0f} rows/s, "
                f"{m.extra['mb_per_s_best']:,.0f} MB/s)"
            )
        ratio = (
            "-"
            if base is None or m.min_s is None or m.key == "genoflight-flight-select-all"
            else f"{m.min_s / base:.2f}x"
        )
        print(
            f"| {cell(m.tool)} | {cell(what)} | {fmt(m.min_s)} | {fmt(m.median_s)} | {ratio} | "
            f"{fmt(m.peak_rss_mib, '.0f')} |"
        )
    for m in ms:
        if m.skipped is not None:
            print(f"\n{m.tool} ({m.what}) skipped: {m.skipped}")
        if m.failed is not None:
            print(f"\n!!! {m.tool} ({m.what}) FAILED: {m.failed}")

    summary: dict[str, Any] = {}
    inproc = by_key.get("genoflight-inprocess")
    if flight is not None and flight.ok and inproc is not None and inproc.ok:
        assert flight.min_s and inproc.min_s and flight.median_s and inproc.median_s
        summary["flight_overhead_pct_min"] = (flight.min_s / inproc.min_s - 1) * 100
        summary["flight_overhead_pct_median"] = (flight.median_s / inproc.median_s - 1) * 100
        verdict = "met" if summary["flight_overhead_pct_min"] < 10 else "NOT met"
        print(
            f"\nFlight SQL vs in-process overhead: {summary['flight_overhead_pct_min']:+.1f}% "
            f"(min), {summary['flight_overhead_pct_median']:+.1f}% (median); "
            f"target < 10%: {verdict}"
        )
    pb = [m for m in ms if m.key.startswith("polars-bio") and m.ok]
    if base is not None and pb:
        fastest = min(pb, key=lambda m: m.min_s or math.inf)
        assert fastest.min_s is not None
        summary["vs_polars_bio_best"] = {
            "tool": f"{fastest.tool} ({fastest.what})",
            "ratio": base / fastest.min_s,
        }
        verdict = "met" if base <= fastest.min_s else "NOT met"
        print(
            f"Full scan, Flight SQL vs fastest polars-bio ({fastest.tool}): "
            f"{base / fastest.min_s:.2f}x its time; target <= 1.00x: {verdict}"
        )
    sel = by_key.get("genoflight-flight-select-all")
    if sel is not None and sel.ok:
        summary["arrow_throughput"] = {
            k: sel.extra[k]
            for k in (
                "rows",
                "arrow_bytes",
                "rows_per_s_best",
                "rows_per_s_median",
                "mb_per_s_best",
                "mb_per_s_median",
                "client_peak_rss_mib",
            )
        }
        print(
            f"Arrow to ADBC (SELECT *): {sel.extra['rows_per_s_best']:,.0f} rows/s, "
            f"{sel.extra['mb_per_s_best']:,.1f} MB/s best; "
            f"{sel.extra['mb_per_s_median']:,.1f} MB/s median "
            f"(server peak {fmt(sel.peak_rss_mib, '.0f')} MiB, client peak "
            f"{fmt(sel.extra['client_peak_rss_mib'], '.0f')} MiB)"
        )

    regions = [m for m in ms if "region" in m.key and m.ok]
    if regions and region is not None:
        print(f"\nRegion query {region.text} ({region.end - region.start + 1:,} bp):\n")
        print("| tool | count | p50 ms | p95 ms | min ms | runs |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for m in regions:
            e = m.extra
            print(
                f"| {cell(m.tool)} | {m.count} | {e['p50_ms']:.1f} | {e['p95_ms']:.1f} | "
                f"{e['min_ms']:.1f} | {len(m.seconds)} |"
            )
        summary["region"] = {
            m.key: {
                "count": m.count,
                **{k: m.extra[k] for k in ("p50_ms", "p95_ms", "min_ms", "max_ms")},
            }
            for m in regions
        }
    return summary


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description="Benchmark genoflight on a VCF against bcftools, polars-bio and cyvcf2."
    )
    ap.add_argument("--scale", choices=("small", "medium", "large"), default="medium")
    ap.add_argument(
        "--data-dir",
        type=Path,
        help="directory for make_data.py output (default bench/out/<scale>)",
    )
    ap.add_argument(
        "--make-data",
        type=Path,
        default=DEFAULT_MAKE_DATA,
        help=f"the data generator (default {DEFAULT_MAKE_DATA})",
    )
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per tool (default 3)")
    ap.add_argument(
        "--warmup",
        type=int,
        default=1,
        help="untimed runs per tool before the timed ones (default 1)",
    )
    ap.add_argument(
        "--region-repeat",
        type=int,
        default=20,
        help="timed region queries per tool, after one warm-up (default 20)",
    )
    ap.add_argument("--region-kb", type=int, default=100, help="region width in kb (default 100)")
    ap.add_argument(
        "--tools",
        default=",".join(ALL_TOOLS),
        help=f"comma list of: {', '.join(ALL_TOOLS)} (default: all)",
    )
    ap.add_argument(
        "--peer-python",
        default=sys.executable,
        help="interpreter that has polars-bio / cyvcf2 (default: this one)",
    )
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per run (default 1800)")
    ap.add_argument(
        "--startup-timeout",
        type=float,
        default=120,
        help="seconds to wait for the Flight SQL server to listen (default 120)",
    )
    ap.add_argument(
        "--json", type=Path, help="results file (default bench/out/results-vcf-<scale>.json)"
    )
    args = ap.parse_args(argv)
    tools = {t.strip() for t in args.tools.split(",") if t.strip()}
    if unknown := tools - set(ALL_TOOLS):
        ap.error(f"unknown --tools: {', '.join(sorted(unknown))}")
    if args.repeat < 1 or args.warmup < 0 or args.region_repeat < 1:
        ap.error("--repeat and --region-repeat must be >= 1, --warmup >= 0")
    args.tools = tools
    return args


def genoflight_version() -> str:
    """Probe the native module in a child (keeps this process free of it); exit if missing."""
    probe = subprocess.run(
        [sys.executable, "-c", "from genoflight import _native; print(_native.version())"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        why = tail(probe.stderr, 1) or f"exit {probe.returncode}"
        sys.exit(
            f"error: genoflight's native module (genoflight._native) cannot be imported by "
            f"{sys.executable}: {why}\n{BUILD_HINT}."
        )
    return probe.stdout.strip()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_worker"]:
        return worker_main(argv[1:])
    args = parse_args(argv)
    tools: set[str] = args.tools
    data_dir: Path = (args.data_dir or OUT / args.scale).resolve()
    json_path: Path = args.json or OUT / f"results-vcf-{args.scale}.json"
    OUT.mkdir(parents=True, exist_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True)

    gf_version = genoflight_version() if tools & GENOFLIGHT_TOOLS else None
    data = ensure_data(args.make_data, data_dir, args.scale)
    vcf = data_dir / VCF_NAME
    st = Settings(
        vcf=vcf,
        repeat=args.repeat,
        warmup=args.warmup,
        timeout=args.timeout,
    )
    print(
        f"- {vcf}: {vcf.stat().st_size / 1e6:.1f} MB; {args.repeat} timed runs after "
        f"{args.warmup} warm-up per tool; {os.cpu_count()} CPUs",
        flush=True,
    )

    ms: list[Measurement] = []
    region: Region | None = None
    if "region" in tools and shutil.which("bcftools"):
        region = pick_region(vcf, args.region_kb * 1000)
    elif "region" in tools:
        print("  region query: skipped: bcftools (needed to pick the window) not on PATH")

    if tools & SERVER_TOOLS:
        log = OUT / f"genoflight-serve-{args.scale}.log"
        ms.extend(measure_over_flight(st, tools, data_dir, log, args, region))
    if "inprocess" in tools:
        ms.append(
            measure_worker(
                st,
                "genoflight-inprocess",
                "genoflight in-process",
                "count(*), avg(qual): _native.query",
                "genoflight-inprocess",
                sys.executable,
            )
        )
    if "bcftools" in tools:
        ms.extend(measure_bcftools(st))
    if region is not None:
        ms.append(measure_region_bcftools(st, region, args.region_repeat))
    if "polars-bio" in tools:
        ms.append(
            measure_worker(
                st,
                "polars-bio-scan",
                "polars-bio scan_vcf",
                "len(), qual.mean(): LazyFrame",
                "polars-bio-scan",
                args.peer_python,
            )
        )
        ms.append(
            measure_worker(
                st,
                "polars-bio-sql",
                "polars-bio sql",
                "count(*), avg(qual): register_vcf + sql",
                "polars-bio-sql",
                args.peer_python,
            )
        )
    if "cyvcf2" in tools:
        ms.append(
            measure_worker(
                st,
                "cyvcf2",
                "cyvcf2",
                "iterate records, count + mean QUAL",
                "cyvcf2",
                args.peer_python,
            )
        )

    order = [
        "genoflight-flight",
        "genoflight-inprocess",
        "bcftools-count",
        "bcftools-qual",
        "polars-bio-scan",
        "polars-bio-sql",
        "cyvcf2",
        "genoflight-flight-select-all",
    ]
    ms.sort(key=lambda m: order.index(m.key) if m.key in order else len(order))
    for m in ms:
        if m.key.startswith("genoflight") and m.version is None:
            m.version = gf_version
    summary = report(ms, region)
    problems = check_agreement(ms)
    for p in problems:
        print(f"\n!!!!!!!! MISMATCH: {p} !!!!!!!!", flush=True)
    measured = [m for m in ms if m.ok]
    if not problems and measured:
        print(f"\nCounts and mean QUAL agree across the {len(measured)} measurements that ran.")

    results = {
        "scale": args.scale,
        "vcf": str(vcf),
        "vcf_bytes": vcf.stat().st_size,
        "data": data,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "genoflight_version": gf_version,
        "settings": {
            "repeat": args.repeat,
            "warmup": args.warmup,
            "region_repeat": args.region_repeat,
            "region_kb": args.region_kb,
            "tools": sorted(tools),
            "peer_python": args.peer_python,
        },
        "region": None if region is None else asdict(region),
        "measurements": [m.to_json() for m in ms],
        "summary": summary,
        "mismatches": problems,
        "failed": [f"{m.tool} ({m.what}): {m.failed}" for m in ms if m.failed],
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nresults: {json_path}")
    return 1 if problems or any(m.failed for m in ms) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        sys.exit(f"error: {e}")
