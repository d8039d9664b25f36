"""The HTTP admin API beside the Flight port (health, readiness, Prometheus metrics, catalog,
queries with cancel, reload) with auth, the structured per-query log line, catalog reload by
SIGHUP without dropping connections, and graceful SIGTERM."""

from __future__ import annotations

import json
import re
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _servers import (
    Served,
    adbc_connect_as,
    basic,
    flight_client,
    flight_query,
    hash_password,
    http,
    http_json,
    serve,
    write_config,
)
from _support import VCF_DIR, bcftools_record_count, table_ref
from pyarrow import flight
from test_limits import ANY_ERROR, ENDLESS, start_stream, wait_until

USER, PASSWORD = "carol", "admin-test-password"
AUTH = basic(USER, PASSWORD)


@pytest.fixture(scope="module")
def admin_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    d = tmp_path_factory.mktemp("admin")
    data = d / "data"
    data.mkdir()
    for name in ("22.vcf.gz", "22.vcf.gz.tbi", "vcf_file.vcf"):
        shutil.copy(VCF_DIR / name, data / name)
    config = write_config(
        d / "genoflight.toml",
        {
            "paths": [{"path": data}],
            "auth.users": [{"name": USER, "password_hash": hash_password(PASSWORD)}],
        },
    )
    with serve(config, d, admin=True) as served:
        yield served


def login(served: Served) -> tuple[object, list]:
    client = flight_client(served)
    return client, [client.authenticate_basic_token(USER, PASSWORD)]


def test_health_and_readiness_need_no_credentials(admin_server: Served) -> None:
    assert http(admin_server, "GET", "/healthz")[:2] == (200, "ok\n")
    assert http(admin_server, "GET", "/readyz")[:2] == (200, "ready\n")


def test_admin_requires_credentials_when_users_exist(admin_server: Served) -> None:
    for path in ("/metrics", "/api/catalog", "/api/queries", "/api/status"):
        status, _, headers = http(admin_server, "GET", path)
        assert status == 401, path
        assert headers.get("www-authenticate", headers.get("WWW-Authenticate", "")).startswith(
            "Basic"
        )
        assert http(admin_server, "GET", path, auth=basic(USER, "wrong"))[0] == 401
        assert http(admin_server, "GET", path, auth=AUTH)[0] == 200, path
    assert http(admin_server, "DELETE", "/api/queries/1")[0] == 401
    assert http(admin_server, "POST", "/api/reload")[0] == 401
    # A bearer token from the Flight handshake works too.
    client, header = login(admin_server)
    with client:  # type: ignore[attr-defined]
        bearer = header[0][1].decode()
        assert http(admin_server, "GET", "/api/status", auth=bearer)[0] == 200
    assert http(admin_server, "GET", "/nope", auth=AUTH)[0] == 404
    assert http(admin_server, "POST", "/api/queries", auth=AUTH)[0] == 405


def test_catalog_lists_tables_columns_and_files(admin_server: Served) -> None:
    catalog = http_json(admin_server, "GET", "/api/catalog", auth=AUTH)
    by_name = {t["name"]: t for t in catalog["tables"]}
    assert {"22", "22_genotypes", "vcf_file"} <= set(by_name), sorted(by_name)
    t22 = by_name["22"]
    assert t22["schema"] == "public" and t22["format"] == "vcf"
    assert t22["path"].endswith("22.vcf.gz")
    assert [c["name"] for c in t22["columns"]][:3] == ["chrom", "start", "end"]


def test_queries_metrics_and_log_lines(admin_server: Served) -> None:
    before = metrics_of(admin_server)
    sql = f"SELECT chrom, start FROM {table_ref('22')} ORDER BY start"
    client, header = login(admin_server)
    with client:  # type: ignore[attr-defined]
        table = flight_query(client, sql, header)
        with pytest.raises(ANY_ERROR):
            flight_query(client, "SELECT * FROM public.no_such_table", header)
    n = bcftools_record_count(VCF_DIR / "22.vcf.gz")
    assert table.num_rows == n
    recent = http_json(admin_server, "GET", "/api/queries", auth=AUTH)["recent"]
    mine = next(q for q in recent if q["sql"] == sql)
    assert mine["user"] == USER and mine["outcome"] == "ok" and mine["rows"] == n
    assert mine["duration_s"] > 0 and mine["bytes"] > 0
    bad = next(q for q in recent if "no_such_table" in q["sql"])
    assert bad["outcome"] == "error" and "no_such_table" in bad["error"]

    after = metrics_of(admin_server)
    ok, err = 'genoflight_queries_total{outcome="ok"}', 'genoflight_queries_total{outcome="error"}'
    assert after[ok] == before[ok] + 1 and after[err] == before[err] + 1
    assert (
        after["genoflight_query_duration_seconds_count"]
        == before["genoflight_query_duration_seconds_count"] + 2
    )
    assert after["genoflight_result_rows_total"] - before["genoflight_result_rows_total"] == n
    assert after["genoflight_result_bytes_total"] > before["genoflight_result_bytes_total"]
    for name in ("genoflight_active_queries", "genoflight_memory_pool_reserved_bytes"):
        assert name in after

    # One structured line per finished query.
    wait_until(lambda: f"rows={n}" in admin_server.stderr(), what="the query's log line")
    line = next(
        x for x in admin_server.stderr().splitlines() if "query finished" in x and f"rows={n}" in x
    )
    for field in ("query_id=", f"user={USER}", "outcome=ok", "duration_ms=", "bytes="):
        assert field in line, line


def metrics_of(served: Served) -> dict[str, float]:
    status, body, headers = http(served, "GET", "/metrics", auth=AUTH)
    assert status == 200 and "text/plain" in headers.get("content-type", "")
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in body.splitlines()
        if line and not line.startswith("#")
    }


def test_cancel_a_running_query_through_the_api(admin_server: Served) -> None:
    client, header = login(admin_server)
    with client:  # type: ignore[attr-defined]
        options = flight.FlightCallOptions(headers=header)
        from _support import pack_statement_query

        info = client.get_flight_info(
            flight.FlightDescriptor.for_command(pack_statement_query(ENDLESS)), options
        )
        reader = client.do_get(info.endpoints[0].ticket, options)
        reader.read_chunk()
        running = http_json(admin_server, "GET", "/api/queries", auth=AUTH)["running"]
        (query,) = [q for q in running if q["sql"] == ENDLESS]
        assert query["user"] == USER and query["state"] == "running" and query["rows"] > 0
        assert http(admin_server, "DELETE", f"/api/queries/{query['id']}", auth=AUTH)[0] == 200
        with pytest.raises(flight.FlightCancelledError, match="cancelled"):
            while True:
                reader.read_chunk()
    assert http(admin_server, "DELETE", f"/api/queries/{query['id']}", auth=AUTH)[0] == 404
    recent = http_json(admin_server, "GET", "/api/queries", auth=AUTH)["recent"]
    assert next(q for q in recent if q["id"] == query["id"])["outcome"] == "cancelled"


def _tables(served: Served) -> set[str]:
    catalog = http_json(served, "GET", "/api/catalog", auth=AUTH)
    return {t["name"] for t in catalog["tables"]}


def test_reload_keeps_connections(admin_server: Served) -> None:
    data = Path(http_json(admin_server, "GET", "/api/catalog", auth=AUTH)["tables"][0]["path"])
    data = data.parent
    conn = adbc_connect_as(admin_server.uri, USER, PASSWORD)
    with conn, conn.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {table_ref('vcf_file')}")
        before = cur.fetchone()

        shutil.copy(VCF_DIR / "ex1.vcf.gz", data / "added_by_api.vcf.gz")
        shutil.copy(VCF_DIR / "ex1.vcf.gz.tbi", data / "added_by_api.vcf.gz.tbi")
        status, body, _ = http(admin_server, "POST", "/api/reload", auth=AUTH)
        assert status == 200, body
        assert json.loads(body)["reloaded"] is True
        assert "added_by_api" in _tables(admin_server)

        shutil.copy(VCF_DIR / "vcf_file.vcf", data / "added_by_sighup.vcf")
        admin_server.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "added_by_sighup" in _tables(admin_server), what="the SIGHUP reload")

        # The connection opened before both reloads still works, and sees the new tables.
        cur.execute(f"SELECT count(*) FROM {table_ref('vcf_file')}")
        assert cur.fetchone() == before
        cur.execute(f"SELECT count(*) FROM {table_ref('added_by_api')}")
        assert cur.fetchone() == (bcftools_record_count(VCF_DIR / "ex1.vcf.gz"),)
    assert admin_server.alive()


# --------------------------------------------------------------------------------------------
# Graceful shutdown


def _exit_time(served: Served, timeout: float = 30.0) -> float:
    began = time.monotonic()
    served.proc.send_signal(signal.SIGTERM)
    served.proc.wait(timeout=timeout)
    return time.monotonic() - began


def test_sigterm_lets_running_queries_finish(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "g.toml",
        {"server": {"shutdown_grace_s": 20}, "paths": [{"path": VCF_DIR}]},
    )
    with serve(config, tmp_path, admin=True) as served:
        sql = f"SELECT * FROM {table_ref('22_genotypes')}"
        client, reader = start_stream(served, sql)
        served.proc.send_signal(signal.SIGTERM)
        wait_until(lambda: "shutting down" in served.stderr(), what="the shutdown to begin")
        assert http(served, "GET", "/readyz")[0] == 503
        began = time.monotonic()
        rest = reader.read_all()
        client.close()
        served.proc.wait(timeout=20)
        after_last_batch = time.monotonic() - began
    assert served.proc.returncode == 0, served.stderr()
    assert rest.num_rows > 0
    log = served.stderr()
    assert re.search(r"shutting down: 1 queries running", log), log
    line = next(x for x in log.splitlines() if "query finished" in x and "22_genotypes" in x)
    assert "outcome=ok" in line and "rows=156578" in line, line
    print(f"\nSIGTERM with one query in flight: exit {after_last_batch:.2f} s after its last batch")


def test_sigterm_cancels_what_outlives_the_grace_period(tmp_path: Path) -> None:
    grace = 2
    config = write_config(
        tmp_path / "g.toml",
        {"server": {"shutdown_grace_s": grace}, "paths": [{"path": VCF_DIR}]},
    )
    with serve(config, tmp_path) as served:
        client, _reader = start_stream(served, ENDLESS)
        elapsed = _exit_time(served)
        client.close()
    assert served.proc.returncode == 0, served.stderr()
    assert grace - 0.2 < elapsed < grace + 3, elapsed
    assert "grace period over: cancelled 1 running queries" in served.stderr()
    print(f"\nSIGTERM to exit with an endless query in flight (grace {grace} s): {elapsed:.2f} s")


# --------------------------------------------------------------------------------------------
# docker-compose.yml


def test_compose_file_is_valid(tmp_path: Path) -> None:
    """`docker compose config` (or docker-compose v1) accepts the file; skipped without either."""
    import os
    import subprocess

    from _support import REPO

    compose = shutil.which("docker-compose")
    cmd = [compose] if compose else None
    if cmd is None and shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        cmd = ["docker", "compose"] if probe.returncode == 0 else None
    if cmd is None:
        pytest.skip("neither docker-compose nor the docker compose plugin is installed")
    env = {**os.environ, "GENOFLIGHT_DATA": str(tmp_path)}
    for profile in ([], ["--profile", "superset"]):
        proc = subprocess.run(
            [*cmd, "-f", str(REPO / "docker-compose.yml"), *profile, "config"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert (
            f"{tmp_path}:/data:ro" in proc.stdout and "--allow-remote-without-auth" in proc.stdout
        )
