"""Load and faults (loopback only, bounded in time): concurrent ADBC clients run a mix of scans,
region queries, joins, aggregates and metadata calls while, in the 32-client stage, a client is
killed mid-stream, a malformed file is queried, a query exceeds its memory share and a burst goes
beyond max_concurrent_queries. Every load query must succeed with the right answer; the faults
fail alone. Prints throughput, p50/p99 latency and time to first batch per stage.

GENOFLIGHT_LOAD_SECONDS sets the 32-client stage's length (default 10; the issue's full run is
60), GENOFLIGHT_LOAD_WARMUP_SECONDS the earlier stages' (default 3), GENOFLIGHT_LOAD_STAGES the
client counts (default "1,8,32")."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from _servers import Served, adbc_connect_as, http_json, serve, write_config
from _support import VCF_DIR, ExtraData, run_bcftools, table_ref
from test_limits import MEMORY_HOG, metrics, wait_until

MAIN_SECONDS = float(os.environ.get("GENOFLIGHT_LOAD_SECONDS", "10"))
STAGES = [int(n) for n in os.environ.get("GENOFLIGHT_LOAD_STAGES", "1,8,32").split(",")]
WARMUP_SECONDS = float(os.environ.get("GENOFLIGHT_LOAD_WARMUP_SECONDS", "3"))
MAX_CONCURRENT = 8
MEMORY_BYTES = (
    320_000_000  # 40 MB per query: plenty for the mix (a sort reserves 10 MB), not for MEMORY_HOG
)
T22, G22 = table_ref("22"), table_ref("22_genotypes")


@dataclass
class Truth:
    records: list[tuple[str, int]]  # (CHROM, POS) from bcftools
    samples: int

    @property
    def positions(self) -> list[int]:
        return [pos for _, pos in self.records]

    @property
    def variants(self) -> int:
        return len(self.positions)


@pytest.fixture(scope="module")
def truth() -> Truth:
    out = run_bcftools("query", "-f", "%CHROM\t%POS\n", VCF_DIR / "22.vcf.gz")
    samples = run_bcftools("query", "-l", VCF_DIR / "22.vcf.gz").split()
    records = sorted((c, int(p)) for c, p in (line.split("\t") for line in out.splitlines()))
    return Truth(records, len(samples))


@pytest.fixture(scope="module")
def loaded(extra_data: ExtraData, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    d = tmp_path_factory.mktemp("load")
    config = write_config(
        d / "genoflight.toml",
        {
            "paths": [{"path": VCF_DIR}, {"path": extra_data.dir}],
            "limits": {
                "memory_bytes": MEMORY_BYTES,
                "max_concurrent_queries": MAX_CONCURRENT,
                "query_timeout_s": 120,
            },
        },
    )
    with serve(config, d, admin=True) as served:
        yield served


# --------------------------------------------------------------------------------------------
# The workload: each call returns (kind, seconds to first batch); it raises on a wrong answer.


def _first_batch_then_rest(cur: Any, sql: str) -> tuple[float, Any]:
    began = time.perf_counter()
    cur.execute(sql)
    reader = cur.fetch_record_batch()
    batches = []
    first = None
    for batch in reader:
        if first is None:
            first = time.perf_counter() - began
        batches.append(batch)
    import pyarrow as pa

    table = pa.Table.from_batches(batches, schema=reader.schema)
    return (first if first is not None else time.perf_counter() - began), table


def workload(truth: Truth) -> list[tuple[str, Callable[[Any, random.Random], float]]]:
    positions = truth.positions

    def scan(conn: Any, rng: random.Random) -> float:
        with conn.cursor() as cur:
            ttfb, t = _first_batch_then_rest(cur, f"SELECT count(*), sum(start) FROM {T22}")
        got = t.to_pylist()[0]
        assert list(got.values()) == [len(positions), sum(positions)], got
        return ttfb

    def region(conn: Any, rng: random.Random) -> float:
        chrom, lo = rng.choice(truth.records)
        hi = lo + rng.randint(0, 2_000_000)
        sql = (
            f"SELECT start FROM {T22} WHERE chrom = '{chrom}' AND start >= {lo} "
            f"AND start <= {hi} ORDER BY start"
        )
        with conn.cursor() as cur:
            ttfb, t = _first_batch_then_rest(cur, sql)
        expected = [p for c, p in truth.records if c == chrom and lo <= p <= hi]
        assert t.column(0).to_pylist() == expected, (chrom, lo, hi)
        return ttfb

    def join(conn: Any, rng: random.Random) -> float:
        sql = (
            f"SELECT count(*) FROM (SELECT DISTINCT start FROM {T22}) s "
            f"JOIN {G22} g ON s.start = g.start"
        )
        with conn.cursor() as cur:
            ttfb, t = _first_batch_then_rest(cur, sql)
        assert t.column(0).to_pylist() == [len(positions) * truth.samples]
        return ttfb

    def aggregate(conn: Any, rng: random.Random) -> float:
        sql = f"SELECT sample_id, count(*) AS n FROM {G22} GROUP BY sample_id"
        with conn.cursor() as cur:
            ttfb, t = _first_batch_then_rest(cur, sql)
        assert t.num_rows == truth.samples
        assert set(t.column(1).to_pylist()) == {len(positions)}
        return ttfb

    def metadata(conn: Any, rng: random.Random) -> float:
        began = time.perf_counter()
        reader = conn.adbc_get_objects(depth="tables", db_schema_filter="public")
        batches = list(reader)
        ttfb = time.perf_counter() - began
        rows = [r for b in batches for r in b.to_pylist()]
        names = {
            t["table_name"]
            for c in rows
            for s in c["catalog_db_schemas"] or []
            for t in s["db_schema_tables"] or []
        }
        assert {"22", "22_genotypes", "broken"} <= names, names
        return ttfb

    return [
        ("scan", scan),
        ("region", region),
        ("region", region),
        ("join", join),
        ("aggregate", aggregate),
        ("metadata", metadata),
    ]


@dataclass
class Stage:
    clients: int
    seconds: float
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    ttfb: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    def report(self) -> str:
        every = sorted(x for v in self.latencies.values() for x in v)
        lines = [
            f"{self.clients:>2} clients, {self.seconds:.0f} s: {self.count} queries, "
            f"{self.count / self.seconds:.1f} q/s, p50 {pct(every, 50) * 1e3:.1f} ms, "
            f"p99 {pct(every, 99) * 1e3:.1f} ms, failures {len(self.failures)}"
        ]
        for kind in sorted(self.latencies):
            lat, first = sorted(self.latencies[kind]), sorted(self.ttfb[kind])
            lines.append(
                f"    {kind:<9} n={len(lat):<5} p50 {pct(lat, 50) * 1e3:7.1f} ms  "
                f"p99 {pct(lat, 99) * 1e3:7.1f} ms  first batch p50 {pct(first, 50) * 1e3:6.1f} ms"
                f"  p99 {pct(first, 99) * 1e3:6.1f} ms"
            )
        return "\n".join(lines)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def run_stage(served: Served, truth: Truth, clients: int, seconds: float) -> Stage:
    stage = Stage(clients, seconds)
    mix = workload(truth)
    deadline = time.monotonic() + seconds
    start = threading.Barrier(clients)

    def client(i: int) -> None:
        rng = random.Random(i)
        try:
            conn = adbc_connect_as(served.uri)
        except Exception as e:
            with stage.lock:
                stage.failures.append(f"client {i} connect: {e}")
            return
        with conn:
            start.wait()
            while time.monotonic() < deadline:
                kind, call = mix[rng.randrange(len(mix))]
                began = time.perf_counter()
                try:
                    ttfb = call(conn, rng)
                except Exception as e:
                    with stage.lock:
                        stage.failures.append(f"{kind}: {type(e).__name__}: {e}")
                    continue
                elapsed = time.perf_counter() - began
                with stage.lock:
                    stage.latencies[kind].append(elapsed)
                    stage.ttfb[kind].append(ttfb)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 120)
    return stage


# --------------------------------------------------------------------------------------------
# Faults, run while the main stage is under way


def kill_client_mid_stream(served: Served) -> None:
    tests_dir = Path(__file__).resolve().parent
    script = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(tests_dir)!r})
        from test_bad_input import _start_large_stream
        client, reader, rows = _start_large_stream({served.uri!r})
        print(rows, flush=True)
        os._exit(0)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0 and int(proc.stdout.strip()) > 0, proc.stderr


def malformed_file(served: Served, extra: ExtraData) -> None:
    import adbc_driver_manager.dbapi as dbapi

    with (
        adbc_connect_as(served.uri) as conn,
        conn.cursor() as cur,
        pytest.raises(dbapi.Error, match=r"broken\.vcf"),
    ):
        cur.execute(f"SELECT * FROM {table_ref('broken')}")
        cur.fetchall()


def memory_hog(served: Served) -> None:
    import adbc_driver_manager.dbapi as dbapi

    with (
        adbc_connect_as(served.uri) as conn,
        conn.cursor() as cur,
        pytest.raises(dbapi.Error, match=r"(?i)resources exhausted"),
    ):
        cur.execute(MEMORY_HOG)
        cur.fetchall()


def burst(served: Served, truth: Truth, n: int = 3 * MAX_CONCURRENT) -> None:
    errors: list[str] = []
    go = threading.Barrier(n)

    def one() -> None:
        try:
            with adbc_connect_as(served.uri) as conn, conn.cursor() as cur:
                go.wait()
                cur.execute(f"SELECT count(*) FROM {G22}")
                assert cur.fetchone() == (truth.variants * truth.samples,)
        except Exception as e:
            errors.append(f"{type(e).__name__}: {e}")

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors


def test_load_with_faults(loaded: Served, truth: Truth, extra_data: ExtraData) -> None:
    reports = []
    for clients in STAGES[:-1]:
        stage = run_stage(loaded, truth, clients, WARMUP_SECONDS)
        assert not stage.failures, stage.failures[:5]
        reports.append(stage.report())

    fault_errors: list[str] = []

    def faults() -> None:
        time.sleep(min(2.0, MAIN_SECONDS / 5))
        for name, fault in [
            ("client killed mid-stream", lambda: kill_client_mid_stream(loaded)),
            ("malformed file", lambda: malformed_file(loaded, extra_data)),
            ("memory cap", lambda: memory_hog(loaded)),
            ("burst beyond max_concurrent_queries", lambda: burst(loaded, truth)),
        ]:
            try:
                fault()
            except BaseException as e:  # pytest.raises failures are BaseException
                fault_errors.append(f"{name}: {type(e).__name__}: {e}")
            if not loaded.alive():
                fault_errors.append(f"the server died after: {name}")
                return

    chaos = threading.Thread(target=faults)
    chaos.start()
    main = run_stage(loaded, truth, STAGES[-1], MAIN_SECONDS)
    chaos.join(timeout=300)
    reports.append(main.report())
    peak = metrics(loaded)["genoflight_memory_pool_peak_bytes"]
    print("\n" + "\n".join(reports))
    print(f"memory pool high-water mark {peak / 1e6:.1f} MB of a {MEMORY_BYTES / 1e6:.0f} MB cap")

    assert not fault_errors, fault_errors
    assert not main.failures, f"{len(main.failures)} failed load queries: {main.failures[:5]}"
    assert main.count > 0
    assert 0 < peak <= MEMORY_BYTES
    wait_until(lambda: metrics(loaded)["genoflight_active_queries"] == 0, what="quiet server")
    outcomes = {q["outcome"] for q in http_json(loaded, "GET", "/api/queries")["recent"]}
    assert "ok" in outcomes
    assert loaded.alive(), loaded.stderr()
