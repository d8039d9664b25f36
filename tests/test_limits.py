"""Limits: the memory pool cap (a query over its share fails clearly, the others and the server
carry on, everything it held is given back), the per-query timeout, max concurrent queries with
a queue, result row/byte caps, and cancellation or disconnect freeing the query."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from _servers import Served, flight_client, flight_query, http, http_json, serve, write_config
from _support import (
    CALL_TIMEOUT_S,
    VCF_DIR,
    bcftools_record_count,
    pack_statement_query,
    require_shared_vcf_dir,
    require_tool,
    table_ref,
)
from pyarrow import flight
from test_jdbc import JAR, jdbc_jar  # noqa: F401 (jdbc_jar is a fixture)

MEMORY_BYTES = 24_000_000
MAX_CONCURRENT = 2
TIMEOUT_S = 6
MAX_ROWS = 100_000
MAX_BYTES = 20_000_000
# pyarrow raises FlightError subclasses, or ArrowInvalid for some codes arriving mid-stream.
ANY_ERROR = (flight.FlightError, pa.ArrowException)
VARIANTS_22 = 991
SAMPLES_22 = 158
GENOTYPES = table_ref("22_genotypes")
# ~24 billion rows: streams until cancelled or timed out (the nested-loop build side is one column).
ENDLESS = f"SELECT a.sample_id FROM {GENOTYPES} a CROSS JOIN {GENOTYPES} b"
# A trillion generated numbers filtered and counted (no shortcut from statistics): minutes of
# work in small steps, one row at the end, so no result cap stops it first.
SLOW = "SELECT count(*) FROM range(1000000000000) WHERE value % 7 = 10"
# A hash join whose build side holds every genotype row with a ~700-byte key: over 100 MB,
# more than a query's share in these tests (the right answer is 0: keys never match).
MEMORY_HOG = (
    f"SELECT count(*) FROM {GENOTYPES} a JOIN {GENOTYPES} b "
    "ON a.start = b.start AND repeat(a.sample_id, 100) = b.gt"
)


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    d = tmp_path_factory.mktemp("limits")
    config = write_config(
        d / "genoflight.toml",
        {
            "paths": [{"path": require_shared_vcf_dir()}],
            "limits": {
                "memory_bytes": MEMORY_BYTES,
                "query_timeout_s": TIMEOUT_S,
                "max_concurrent_queries": MAX_CONCURRENT,
                "max_result_rows": MAX_ROWS,
                "max_result_bytes": MAX_BYTES,
            },
        },
    )
    with serve(config, d, admin=True) as served:
        yield served


def metrics(served: Served) -> dict[str, float]:
    status, body, _ = http(served, "GET", "/metrics")
    assert status == 200, body
    out = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def wait_until(predicate: Any, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def assert_serving(served: Served) -> None:
    with flight_client(served) as client:
        n = flight_query(client, f"SELECT count(*) FROM {table_ref('22')}").column(0)[0].as_py()
    assert n == bcftools_record_count(VCF_DIR / "22.vcf.gz")
    assert served.alive(), served.stderr()


def start_stream(served: Served, sql: str) -> tuple[Any, Any]:
    """A DoGet that has delivered its first batch (so it holds a slot and is running)."""
    client = flight_client(served)
    options = flight.FlightCallOptions(timeout=CALL_TIMEOUT_S)
    info = client.get_flight_info(
        flight.FlightDescriptor.for_command(pack_statement_query(sql)), options
    )
    reader = client.do_get(info.endpoints[0].ticket, options)
    assert reader.read_chunk().data.num_rows > 0
    return client, reader


def open_stream(served: Served, sql: str) -> tuple[Any, Any]:
    """A DoGet whose query runs on the server while the client reads nothing yet."""
    client = flight_client(served)
    options = flight.FlightCallOptions(timeout=CALL_TIMEOUT_S)
    info = client.get_flight_info(
        flight.FlightDescriptor.for_command(pack_statement_query(sql)), options
    )
    return client, client.do_get(info.endpoints[0].ticket, options)


def idle(served: Served) -> bool:
    m = metrics(served)
    return m["genoflight_active_queries"] == 0 and m["genoflight_memory_pool_reserved_bytes"] == 0


def test_timeout_stops_a_query(limited: Served) -> None:
    began = time.monotonic()
    with flight_client(limited) as client, pytest.raises(flight.FlightTimedOutError) as err:
        flight_query(client, SLOW)
    elapsed = time.monotonic() - began
    assert "query_timeout_s" in str(err.value), err.value
    assert TIMEOUT_S - 0.5 < elapsed < TIMEOUT_S + 5, elapsed
    wait_until(lambda: idle(limited), what="the timed-out query to release everything")
    recent = http_json(limited, "GET", "/api/queries")["recent"]
    assert any(q["sql"] == SLOW and q["outcome"] == "timeout" for q in recent), recent
    assert_serving(limited)


def test_row_cap(limited: Served) -> None:
    with flight_client(limited) as client:
        with pytest.raises(ANY_ERROR, match="max_result_rows") as err:
            flight_query(client, f"SELECT chrom, start FROM {GENOTYPES}")
        assert str(MAX_ROWS) in str(err.value)
        table = flight_query(client, f"SELECT chrom, start FROM {GENOTYPES} LIMIT {MAX_ROWS}")
        assert table.num_rows == MAX_ROWS
    assert_serving(limited)


def test_byte_cap(limited: Served) -> None:
    wide = f"SELECT repeat('x', 1000) AS pad FROM {GENOTYPES} LIMIT 50000"  # ~50 MB
    narrow = f"SELECT repeat('x', 100) AS pad FROM {GENOTYPES} LIMIT 50000"  # ~5 MB
    with flight_client(limited) as client:
        with pytest.raises(ANY_ERROR, match="max_result_bytes"):
            flight_query(client, wide)
        assert flight_query(client, narrow).num_rows == 50000
    assert_serving(limited)


def test_query_over_its_memory_share_fails_alone(limited: Served) -> None:
    # A small query streaming at the same time is unaffected.
    client, reader = start_stream(limited, f"SELECT * FROM {table_ref('22')}")
    with flight_client(limited) as hog, pytest.raises(ANY_ERROR) as err:
        flight_query(hog, MEMORY_HOG)
    message = str(err.value)
    assert re.search(r"resources exhausted", message, re.I), message
    assert "max_concurrent_queries" in message or "memory" in message, message
    rest = reader.read_all()
    assert rest.num_rows > 0
    client.close()
    wait_until(lambda: idle(limited), what="memory to be given back")
    m = metrics(limited)
    assert 0 < m["genoflight_memory_pool_peak_bytes"] <= MEMORY_BYTES, m
    assert m["genoflight_memory_pool_limit_bytes"] == MEMORY_BYTES
    assert_serving(limited)


def test_concurrency_limit_queues_and_cancel_frees_the_slot(limited: Served) -> None:
    streams = [open_stream(limited, SLOW) for _ in range(MAX_CONCURRENT)]
    wait_until(
        lambda: metrics(limited)["genoflight_active_queries"] == MAX_CONCURRENT,
        what="both slots to be taken",
    )
    result: dict[str, Any] = {}

    def third() -> None:
        began = time.monotonic()
        with flight_client(limited) as client:
            result["table"] = flight_query(client, f"SELECT count(*) FROM {GENOTYPES}")
        result["waited"] = time.monotonic() - began

    thread = threading.Thread(target=third)
    thread.start()
    wait_until(
        lambda: metrics(limited)["genoflight_queued_queries"] == 1, what="the third query to queue"
    )
    queries = http_json(limited, "GET", "/api/queries")["running"]
    assert sorted(q["state"] for q in queries) == ["queued", "running", "running"], queries
    running_ids = [q["id"] for q in queries if q["state"] == "running"]
    time.sleep(0.5)
    assert thread.is_alive(), "the third query ran although both slots were taken"
    status, body, _ = http(limited, "DELETE", f"/api/queries/{running_ids[0]}")
    assert status == 200, body
    thread.join(timeout=TIMEOUT_S)
    assert not thread.is_alive()
    assert result["table"].column(0)[0].as_py() == VARIANTS_22 * SAMPLES_22
    assert result["waited"] < TIMEOUT_S
    for client, reader in streams:
        with pytest.raises(ANY_ERROR):
            while True:
                reader.read_chunk()
        client.close()
    wait_until(lambda: idle(limited), what="all slots and memory to be freed")
    assert_serving(limited)


def test_killed_client_frees_its_query(limited: Served) -> None:
    """A client process killed (SIGKILL) while its query runs: the server notices the closed
    connection, stops the query and frees its slot and memory."""
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from _servers import Served
        from test_limits import open_stream
        served = Served(None, {limited.host!r}, {limited.port}, None, None)
        client, reader = open_stream(served, {SLOW!r})
        print("started", flush=True)
        time.sleep(600)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "started"
        wait_until(lambda: metrics(limited)["genoflight_active_queries"] == 1, what="running")
        proc.kill()
        proc.wait(timeout=10)
        wait_until(lambda: idle(limited), timeout=TIMEOUT_S - 2, what="the orphan to stop")
    finally:
        proc.kill()
    recent = http_json(limited, "GET", "/api/queries")["recent"]
    assert recent[0]["sql"] == SLOW and recent[0]["outcome"] == "cancelled", recent[0]
    assert_serving(limited)


def test_client_cancel_frees_its_query(limited: Served) -> None:
    client, reader = open_stream(limited, SLOW)
    wait_until(lambda: metrics(limited)["genoflight_active_queries"] == 1, what="running")
    reader.cancel()
    wait_until(lambda: idle(limited), timeout=TIMEOUT_S - 2, what="the cancelled query to stop")
    client.close()
    recent = http_json(limited, "GET", "/api/queries")["recent"]
    assert recent[0]["sql"] == SLOW and recent[0]["outcome"] == "cancelled", recent[0]
    assert_serving(limited)


# The JDBC driver's Statement.cancel(), from a second thread while executeQuery waits.
CANCEL_SMOKE_JAVA = """import java.sql.*;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.*;

/** Runs SQL on one thread, calls Statement.cancel() from another after DELAY ms. */
public final class CancelSmoke {
  public static void main(String[] args) throws Exception {
    Logger.getLogger("").setLevel(Level.OFF);
    String url = "jdbc:arrow-flight-sql://" + args[0] + ":" + args[1] + "/?useEncryption=false";
    long delay = Long.parseLong(args[3]);
    try (Connection conn = DriverManager.getConnection(url)) {
      Statement stmt = conn.createStatement();
      AtomicReference<Throwable> error = new AtomicReference<>();
      Thread runner = new Thread(() -> {
        try (ResultSet rs = stmt.executeQuery(args[2])) {
          while (rs.next()) {}
          System.out.println("FINISHED");
        } catch (Throwable e) {
          error.set(e);
        }
      });
      long began = System.nanoTime();
      runner.start();
      Thread.sleep(delay);
      stmt.cancel();
      runner.join(30000);
      System.out.println("CANCEL_WAIT_MS\\t" + (System.nanoTime() - began) / 1000000);
      Throwable e = error.get();
      String message = e == null ? "none" : String.valueOf(e.getMessage());
      System.out.println("ERROR\\t" + message.replace('\\n', ' '));
      try (Statement s = conn.createStatement(); ResultSet rs = s.executeQuery("SELECT 41 + 1")) {
        rs.next();
        System.out.println("AFTER\\t" + rs.getLong(1));
      }
    }
    System.exit(0);
  }
}
"""


def test_jdbc_statement_cancel_stops_the_query(
    limited: Served,
    tmp_path: Path,
    jdbc_jar: Path,  # noqa: F811
) -> None:
    javac = require_tool("javac")
    (tmp_path / "CancelSmoke.java").write_text(CANCEL_SMOKE_JAVA, encoding="utf-8")
    subprocess.run(
        [javac, "-cp", str(JAR), "-d", str(tmp_path), str(tmp_path / "CancelSmoke.java")],
        check=True,
        timeout=120,
    )
    proc = subprocess.run(
        [
            "java",
            "--add-opens=java.base/java.nio=ALL-UNNAMED",
            "-cp",
            f"{JAR}:{tmp_path}",
            "CancelSmoke",
            limited.host,
            str(limited.port),
            SLOW,
            "1500",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = dict(line.split("\t", 1) for line in proc.stdout.splitlines() if "\t" in line)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "FINISHED" not in proc.stdout and "cancel" in out["ERROR"].lower(), out
    assert int(out["CANCEL_WAIT_MS"]) < TIMEOUT_S * 1000, out
    assert out["AFTER"] == "42", out  # the connection is still usable
    wait_until(lambda: idle(limited), timeout=TIMEOUT_S - 2, what="the cancelled query to stop")
    recent = http_json(limited, "GET", "/api/queries")["recent"]
    mine = next(q for q in recent if q["sql"] == SLOW)
    assert mine["outcome"] == "cancelled", mine


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('[limits]\nmax_result_bytes = "10GB"\n', "limits.max_result_bytes"),
        ("[limits]\nmax_result_bytes = 0\n", "limits.max_result_bytes"),
        ("[server]\nshutdown_grace_s = -1\n", "server.shutdown_grace_s"),
        ('[server]\nallow_remote_without_auth = "yes"\n', "server.allow_remote_without_auth"),
        ("[limits]\nmax_concurrent = 4\n", "limits.max_concurrent"),
    ],
)
def test_serving_keys_are_checked(tmp_path: Path, toml: str, key: str) -> None:
    from genoflight.config import ConfigError, load_config

    path = tmp_path / "g.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(key)) as err:
        load_config(path)
    assert str(path) in str(err.value)
