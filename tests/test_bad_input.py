"""Bad input gives clear errors to the client that sent it, and the server keeps serving."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from _support import (
    CALL_TIMEOUT_S,
    VCF_DIR,
    ServerHandle,
    adbc_connect,
    bcftools_record_count,
    flight_call_options,
    flight_sql_error,
    flight_sql_query,
    pack_statement_query,
    table_ref,
)
from pyarrow import flight

READ_ONLY = re.compile(r"read[- ]?only", re.IGNORECASE)
VCF_22 = VCF_DIR / "22.vcf.gz"
LARGE_QUERY = f"SELECT * FROM {table_ref('22_genotypes')}"


def _adbc_error(conn: Any, sql: str, params: tuple | None = None) -> str:
    import adbc_driver_manager.dbapi as dbapi

    with conn.cursor() as cur, pytest.raises(dbapi.Error) as err:
        cur.execute(sql, params)
        cur.fetchall()
    return str(err.value)


def _assert_22_answers(server: ServerHandle) -> None:
    n = flight_sql_query(server.uri, f"SELECT count(*) FROM {table_ref('22')}").column(0)[0]
    assert n.as_py() == bcftools_record_count(VCF_22)
    assert server.alive(), f"server died; stderr:\n{server.stderr()}"


# --------------------------------------------------------------------------------------------
# Broken files


def test_broken_files_are_still_registered(server: ServerHandle) -> None:
    table = flight_sql_query(
        server.uri,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
    )
    names = set(table.column(0).to_pylist())
    assert {"broken", "truncated", "22"} <= names, sorted(names)


@pytest.mark.parametrize(
    "sql",
    [
        f"SELECT * FROM {table_ref('broken')}",
        f"SELECT chrom, start FROM {table_ref('broken')}",
        f"SELECT max(start) FROM {table_ref('broken')}",
    ],
)
def test_malformed_vcf_error_names_file_and_line(server: ServerHandle, sql: str) -> None:
    message = flight_sql_error(server.uri, sql)
    line = server.extra.broken_line
    assert "broken.vcf" in message, message
    assert re.search(rf"\b{line}\b", message), f"line {line} not named in: {message}"
    _assert_22_answers(server)


def test_truncated_bgzf_error_names_file(server: ServerHandle) -> None:
    message = flight_sql_error(
        server.uri, f"SELECT chrom, start, ref FROM {table_ref('truncated')}"
    )
    assert "truncated.vcf.gz" in message, message
    _assert_22_answers(server)


# --------------------------------------------------------------------------------------------
# Bad statements


def test_unknown_table(server: ServerHandle) -> None:
    message = flight_sql_error(server.uri, "SELECT * FROM public.no_such_table")
    assert "no_such_table" in message, message
    with adbc_connect(server.uri) as conn:
        message = _adbc_error(conn, "SELECT * FROM public.no_such_table")
        assert "no_such_table" in message, message
        with conn.cursor() as cur:  # the connection is still usable
            cur.execute("SELECT 1")
            assert cur.fetchone() == (1,)


def test_bad_sql(server: ServerHandle) -> None:
    message = flight_sql_error(server.uri, 'SELEC chrom FROM public."22"')
    assert re.search(r"SELEC|syntax|parse|parser", message, re.IGNORECASE), message


def test_bad_column(server: ServerHandle) -> None:
    message = flight_sql_error(server.uri, f"SELECT no_such_column FROM {table_ref('22')}")
    assert "no_such_column" in message, message


@pytest.mark.parametrize("params", [(1, 2), ()], ids=["too-many", "too-few"])
def test_wrong_parameter_count(server: ServerHandle, params: tuple) -> None:
    sql = f"SELECT count(*) FROM {table_ref('22')} WHERE start >= ?"
    with adbc_connect(server.uri) as conn:
        message = _adbc_error(conn, sql, params or None)
    assert re.search(r"param|placeholder|\$1", message, re.IGNORECASE), message
    _assert_22_answers(server)


# --------------------------------------------------------------------------------------------
# Clients are read-only


def _write_statements(tmp: Path, extra_csv: Path) -> dict[str, str]:
    return {
        "insert": f"INSERT INTO {table_ref('tiny_csv')} VALUES (99, 'x', 1)",
        "update": f"UPDATE {table_ref('tiny_csv')} SET value = 0",
        "delete": f"DELETE FROM {table_ref('tiny_csv')}",
        "create-table": "CREATE TABLE public.made_by_client AS SELECT 1 AS x",
        "drop-table": f"DROP TABLE {table_ref('22')}",
        "copy-to": f"COPY (SELECT 1 AS x) TO '{tmp / 'copied.csv'}'",
        "create-external-table": (
            f"CREATE EXTERNAL TABLE public.sneaky STORED AS CSV LOCATION '{extra_csv}'"
        ),
        "set": "SET datafusion.execution.batch_size = 1",
    }


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() if p.is_file() else b"<dir>" for p in directory.iterdir()}


WRITE_KINDS = [
    "insert",
    "update",
    "delete",
    "create-table",
    "drop-table",
    "copy-to",
    "create-external-table",
    "set",
]


@pytest.mark.parametrize("client", ["flight", "adbc"])
@pytest.mark.parametrize("kind", WRITE_KINDS)
def test_write_statements_are_refused(
    server: ServerHandle, tmp_path: Path, kind: str, client: str
) -> None:
    sql = _write_statements(tmp_path, server.extra.csv)[kind]
    served_before = _snapshot(server.data_dir)
    if client == "flight":
        message = flight_sql_error(server.uri, sql)
    else:
        with adbc_connect(server.uri) as conn:
            message = _adbc_error(conn, sql)
    assert READ_ONLY.search(message), f"{sql!r}: error should say read-only: {message}"

    assert not (tmp_path / "copied.csv").exists(), "COPY ... TO wrote a file"
    assert _snapshot(server.data_dir) == served_before, "a served file or directory changed"
    tables = (
        flight_sql_query(server.uri, "SELECT table_name FROM information_schema.tables")
        .column(0)
        .to_pylist()
    )
    assert "made_by_client" not in tables and "sneaky" not in tables
    settings = (
        flight_sql_query(
            server.uri,
            "SELECT value FROM information_schema.df_settings "
            "WHERE name = 'datafusion.execution.batch_size'",
        )
        .column(0)
        .to_pylist()
    )
    assert settings and settings[0] != "1", f"SET changed the server's settings: {settings}"
    _assert_22_answers(server)


# --------------------------------------------------------------------------------------------
# Clients that go away mid-stream


def _start_large_stream(uri: str) -> tuple[flight.FlightClient, Any, int]:
    client = flight.connect(uri)
    info = client.get_flight_info(
        flight.FlightDescriptor.for_command(pack_statement_query(LARGE_QUERY)),
        flight_call_options(),
    )
    reader = client.do_get(info.endpoints[0].ticket, flight_call_options())
    first = reader.read_chunk().data
    return client, reader, first.num_rows


def test_client_cancelling_mid_stream(server: ServerHandle) -> None:
    for _ in range(3):
        client, reader, rows = _start_large_stream(server.uri)
        assert rows > 0
        reader.cancel()
        client.close()
        _assert_22_answers(server)


def test_client_closing_mid_stream(server: ServerHandle) -> None:
    client, _reader, rows = _start_large_stream(server.uri)
    assert rows > 0
    client.close()
    _assert_22_answers(server)


def test_client_process_dying_mid_stream(server: ServerHandle) -> None:
    """A client process that exits abruptly (no cancel, no close) after one batch."""
    tests_dir = Path(__file__).resolve().parent
    script = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(tests_dir)!r})
        from test_bad_input import _start_large_stream
        client, reader, rows = _start_large_stream({server.uri!r})
        print(rows, flush=True)
        os._exit(0)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=CALL_TIMEOUT_S,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.strip()) > 0
    _assert_22_answers(server)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def test_cancel_flight_info_stops_a_running_query(server: ServerHandle) -> None:
    """Flight's CancelFlightInfo action aborts the stream being served for that FlightInfo."""
    # Millions of rows: the server is still producing (held back by flow control) when we cancel.
    endless = (
        f"SELECT * FROM {table_ref('22_genotypes')} a CROSS JOIN {table_ref('22_genotypes')} b"
    )
    client = flight.connect(server.uri)
    info = client.get_flight_info(
        flight.FlightDescriptor.for_command(pack_statement_query(endless)),
        flight_call_options(),
    )
    reader = client.do_get(info.endpoints[0].ticket, flight_call_options())
    assert reader.read_chunk().data.num_rows > 0
    serialized = info.serialize()
    # CancelFlightInfoRequest { FlightInfo info = 1; }
    body = b"\x0a" + _varint(len(serialized)) + serialized
    results = list(client.do_action(flight.Action("CancelFlightInfo", body), flight_call_options()))
    # CancelFlightInfoResult { CancelStatus status = 1; } with CANCEL_STATUS_CANCELLED = 1.
    assert [r.body.to_pybytes() for r in results] == [b"\x08\x01"]
    with pytest.raises(flight.FlightCancelledError, match="cancelled"):
        while True:
            reader.read_chunk()
    client.close()
    _assert_22_answers(server)
