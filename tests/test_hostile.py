"""Hostile clients: statements that would write, create, drop, copy, register external tables,
change settings, or read a path outside the data roots (as a table path, through `..`, through a
symlink, or as a table-function argument) are all refused with a clear error, change nothing,
and the server keeps serving. (tests/test_bad_input.py covers the first eight basic kinds.)"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from _servers import Served, serve, write_config
from _support import (
    VCF_DIR,
    ServerHandle,
    adbc_connect,
    bcftools_record_count,
    flight_sql_error,
    flight_sql_query,
    table_ref,
)

REFUSED = re.compile(r"read-only|exactly one SQL statement", re.IGNORECASE)
# Statements the SQL parser itself rejects are refused too (nothing can run them).
REFUSED_OR_UNPARSED = re.compile(
    r"read-only|exactly one SQL statement|sql parser error|expected", re.IGNORECASE
)
SECRET = "TOP-SECRET-LINE-1234"


def hostile_statements(out: Path, data_dir: Path) -> dict[str, tuple[str, re.Pattern[str]]]:
    csv = table_ref("tiny_csv")
    return {
        "select-into": ("SELECT 1 AS x INTO public.made_by_into", REFUSED),
        "create-view": ("CREATE VIEW public.evil_view AS SELECT 1 AS x", REFUSED),
        "replace-table-by-view": (
            f"CREATE OR REPLACE VIEW {table_ref('22')} AS SELECT 1 AS x",
            REFUSED,
        ),
        "drop-view": ("DROP VIEW IF EXISTS public.evil_view", REFUSED),
        "create-schema": ("CREATE SCHEMA evil", REFUSED),
        "create-database": ("CREATE DATABASE evil", REFUSED),
        "drop-schema": ("DROP SCHEMA public CASCADE", REFUSED),
        "create-function": ("CREATE FUNCTION f(x INT) RETURNS INT RETURN x + 1", REFUSED),
        "drop-function": ("DROP FUNCTION IF EXISTS f", REFUSED),
        "prepare": ("PREPARE p(INT) AS SELECT $1", REFUSED),
        "execute": ("EXECUTE p(1)", REFUSED),
        "deallocate": ("DEALLOCATE p", REFUSED),
        "truncate": (f"TRUNCATE TABLE {csv}", REFUSED),
        "insert-select": (f"INSERT INTO {csv} SELECT * FROM {csv}", REFUSED),
        "cte-insert": (
            f"WITH x AS (SELECT * FROM {csv}) INSERT INTO {csv} SELECT * FROM x",
            REFUSED,
        ),
        "alter-table": (f"ALTER TABLE {csv} RENAME TO renamed", REFUSED_OR_UNPARSED),
        "explain-insert": (f"EXPLAIN INSERT INTO {csv} VALUES (1, 'a', 1)", REFUSED),
        "explain-analyze-copy": (
            f"EXPLAIN ANALYZE COPY (SELECT 1 AS x) TO '{out / 'explained.csv'}'",
            REFUSED,
        ),
        "explain-ctas": ("EXPLAIN CREATE TABLE t AS SELECT 1", REFUSED),
        "copy-table": (f"COPY {csv} TO '{out / 'table.parquet'}'", REFUSED),
        "copy-stored-as": (
            f"COPY (SELECT 1 AS x) TO '{out / 'dir'}' STORED AS CSV",
            REFUSED,
        ),
        "external-table-inside-roots": (
            "CREATE EXTERNAL TABLE IF NOT EXISTS public.again STORED AS PARQUET "
            f"LOCATION '{data_dir / 'tiny.parquet'}'",
            REFUSED,
        ),
        "external-table-outside": (
            f"CREATE EXTERNAL TABLE etc STORED AS CSV LOCATION '{out / 'secret.csv'}'",
            REFUSED,
        ),
        "set-time-zone": ("SET TIME ZONE 'Europe/Paris'", REFUSED),
        "set-information-schema": ("SET datafusion.catalog.information_schema = false", REFUSED),
        "reset": ("RESET datafusion.execution.batch_size", REFUSED),
        "begin": ("BEGIN TRANSACTION", REFUSED),
        "commit": ("COMMIT", REFUSED),
        "attach": (f"ATTACH DATABASE '{out / 'x.db'}' AS x", REFUSED_OR_UNPARSED),
        "two-selects": ("SELECT 1; SELECT 2", REFUSED),
        "select-then-drop": (f"SELECT 1; DROP TABLE {table_ref('22')}", REFUSED),
        "explain-two": ("EXPLAIN SELECT 1; DROP TABLE x", REFUSED),
    }


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory outside every data root, with a file a client must never read."""
    d = tmp_path_factory.mktemp("outside")
    (d / "secret.csv").write_text(f"a,b\n{SECRET},1\n", encoding="utf-8")
    (d / "secret.vcf").write_text(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        f"1\t100\t{SECRET}\tA\tC\t50\tPASS\t.\n",
        encoding="utf-8",
    )
    return d


def _state(server: ServerHandle) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    tables = flight_sql_query(
        server.uri,
        "SELECT table_schema, table_name FROM information_schema.tables ORDER BY 1, 2",
    )
    settings = flight_sql_query(
        server.uri, "SELECT name, value FROM information_schema.df_settings ORDER BY name"
    )
    return (
        list(zip(*(c.to_pylist() for c in tables.columns), strict=True)),
        list(zip(*(c.to_pylist() for c in settings.columns), strict=True)),
    )


def test_hostile_statements_are_refused_and_change_nothing(
    server: ServerHandle, outside: Path, tmp_path: Path
) -> None:
    before = _state(server)
    served_files = sorted(p.name for p in server.data_dir.iterdir())
    statements = hostile_statements(outside, server.data_dir)
    failures = []
    for kind, (sql, expected) in statements.items():
        message = flight_sql_error(server.uri, sql)
        if not expected.search(message) or SECRET in message:
            failures.append(f"{kind}: {sql!r} -> {message}")
    assert not failures, "not refused clearly:\n" + "\n".join(failures)
    assert _state(server) == before, "a hostile statement changed tables or settings"
    assert sorted(p.name for p in server.data_dir.iterdir()) == served_files
    assert sorted(p.name for p in outside.iterdir()) == ["secret.csv", "secret.vcf"]
    n = flight_sql_query(server.uri, f"SELECT count(*) FROM {table_ref('22')}").column(0)[0]
    assert n.as_py() == bcftools_record_count(VCF_DIR / "22.vcf.gz")
    assert server.alive()


def test_adbc_update_and_ingest_are_refused(server: ServerHandle) -> None:
    import adbc_driver_manager.dbapi as dbapi

    with adbc_connect(server.uri) as conn:
        with conn.cursor() as cur, pytest.raises(dbapi.Error, match=r"(?i)read-only"):
            cur.adbc_statement.set_sql_query(f"DELETE FROM {table_ref('tiny_csv')}")
            cur.adbc_statement.execute_update()
        data = pa.table({"id": [1], "label": ["x"], "value": [1]})
        with conn.cursor() as cur, pytest.raises(dbapi.Error, match=r"(?i)read-only"):
            cur.adbc_ingest("tiny_csv", data, mode="append")
        with conn.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM {table_ref('tiny_csv')}")
            assert cur.fetchone() == (len(server.extra.csv_rows),)


def path_reads(outside: Path, data_dir: Path) -> dict[str, str]:
    """Ways a statement could name a file instead of a table."""
    secret = outside / "secret.csv"
    dotdot = data_dir / ".." / outside.name / "secret.csv"
    return {
        "absolute-path-as-table": f"SELECT * FROM '{secret}'",
        "dotdot-path-as-table": f"SELECT * FROM '{dotdot}'",
        "etc-passwd-as-table": "SELECT * FROM '/etc/passwd'",
        "served-file-by-path": f"SELECT * FROM '{data_dir / 'tiny_csv.csv'}'",
        "read_csv": f"SELECT * FROM read_csv('{secret}')",
        "read_parquet": f"SELECT * FROM read_parquet('{dotdot}')",
        "parquet_metadata": f"SELECT * FROM parquet_metadata('{secret}')",
        "depth-with-path": f"SELECT * FROM depth('{outside / 'secret.vcf'}')",
        "annotate-with-path": f"SELECT * FROM annotate_vep('{secret}', '{outside}')",
    }


@pytest.mark.parametrize("kind", list(path_reads(Path("/o"), Path("/d"))))
def test_paths_outside_the_catalog_cannot_be_read(
    server: ServerHandle, outside: Path, kind: str
) -> None:
    sql = path_reads(outside, server.data_dir)[kind]
    message = flight_sql_error(server.uri, sql)
    assert SECRET not in message and "root:" not in message, message
    # The statement names something that is not a table of the catalog (or a function argument
    # that must be a table name / a path inside the roots).
    assert re.search(
        r"not found|no table|outside the served|does not exist|table|function", message, re.I
    ), message
    assert server.alive()


# --------------------------------------------------------------------------------------------
# Symlinks inside a served directory


@pytest.fixture(scope="module")
def linked_server(outside: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    d = tmp_path_factory.mktemp("linked")
    data = d / "data"
    data.mkdir()
    shutil.copy(VCF_DIR / "vcf_file.vcf", data / "inside.vcf")
    (data / "escape.vcf").symlink_to(outside / "secret.vcf")
    (data / "escape_dir").symlink_to(outside, target_is_directory=True)
    (data / "inner_link.vcf").symlink_to(data / "inside.vcf")  # stays inside: allowed
    config = write_config(d / "g.toml", {"paths": [{"path": data}]})
    with serve(config, d) as served:
        yield served


def test_symlinks_leading_outside_are_not_served(linked_server: Served) -> None:
    tables = flight_sql_query(
        linked_server.uri,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
    )
    names = set(tables.column(0).to_pylist())
    assert {"inside", "inner_link"} <= names, names
    assert not names & {"escape", "secret", "escape_dir"}, names
    for sql in [
        "SELECT * FROM public.escape",
        "SELECT * FROM public.secret",
        f"SELECT * FROM '{linked_server.stderr_path.parent / 'data' / 'escape.vcf'}'",
    ]:
        message = flight_sql_error(linked_server.uri, sql)
        assert SECRET not in message, message
    assert "outside the served directories" in linked_server.stderr()
    rows: Any = flight_sql_query(linked_server.uri, "SELECT count(*) FROM public.inside")
    assert rows.column(0)[0].as_py() > 0
