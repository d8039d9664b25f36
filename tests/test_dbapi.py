"""flightsql-dbapi (the SQLAlchemy dialect Apache Superset uses) against a real server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from _support import VCF_DIR, ServerHandle, read_vcf_header, run_bcftools

VCF_22 = VCF_DIR / "22.vcf.gz"


@pytest.fixture(scope="module")
def engine(server: ServerHandle) -> Iterator[Any]:
    sqlalchemy = pytest.importorskip("sqlalchemy")
    # Importing the module registers the "datafusion+flightsql" dialect with SQLAlchemy.
    pytest.importorskip("flightsql.sqlalchemy")
    eng = sqlalchemy.create_engine(
        f"datafusion+flightsql://{server.host}:{server.port}?insecure=true"
    )
    try:
        yield eng
    finally:
        eng.dispose()


def _positions() -> list[int]:
    return [int(p) for p in run_bcftools("query", "-f", "%POS\n", VCF_22).split()]


def test_inspector_lists_schemas_tables_and_columns(engine: Any) -> None:
    from sqlalchemy import inspect

    inspector = inspect(engine)
    assert "public" in inspector.get_schema_names()
    tables = inspector.get_table_names(schema="public")
    assert "22" in tables and "22_genotypes" in tables, tables

    columns = inspector.get_columns("22", schema="public")
    names = [c["name"] for c in columns]
    assert names[:8] == ["chrom", "start", "end", "id", "ref", "alt", "qual", "filter"]
    for info_id in read_vcf_header(VCF_22).info:
        assert info_id in names
    by_name = {c["name"]: c for c in columns}
    assert by_name["start"]["type"].__visit_name__ == "BIGINT"
    assert by_name["chrom"]["type"].__visit_name__ == "TEXT"
    assert by_name["qual"]["type"].__visit_name__ == "FLOAT"


def test_text_query_returns_rows(engine: Any) -> None:
    from sqlalchemy import text

    positions = sorted(_positions())
    with engine.connect() as conn:
        rows = conn.execute(text('SELECT start FROM public."22" ORDER BY start LIMIT 5')).fetchall()
    assert [r[0] for r in rows] == positions[:5]


def test_reflected_table_query_quotes_identifiers(engine: Any) -> None:
    """SQLAlchemy-built SQL: needs the identifier quote character from GetSqlInfo (504)."""
    from sqlalchemy import MetaData, Table, func, select

    positions = _positions()
    threshold = sorted(positions)[len(positions) // 3]
    table = Table("22", MetaData(), schema="public", autoload_with=engine)
    query = select(func.count()).select_from(table).where(table.c.start >= threshold)
    with engine.connect() as conn:
        (n,) = conn.execute(query).one()
    assert n == sum(1 for p in positions if p >= threshold)


def test_server_reports_read_only(engine: Any) -> None:
    with engine.connect():  # the first connection initialises the dialect from GetSqlInfo
        pass
    assert engine.dialect.supports_delete is False, "GetSqlInfo should say the server is read-only"


def test_update_command_is_refused(server: ServerHandle) -> None:
    from flightsql import FlightSQLClient
    from pyarrow import flight

    client = FlightSQLClient(host=server.host, port=server.port, insecure=True)
    try:
        with pytest.raises(flight.FlightError) as err:
            client.execute_update("INSERT INTO public.\"22\" (chrom) VALUES ('x')")
        assert re.search(r"read[- ]only", str(err.value), re.IGNORECASE), str(err.value)
    finally:
        client.close()
