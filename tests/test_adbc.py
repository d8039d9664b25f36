"""The ADBC Flight SQL driver against a real server: metadata, queries to Arrow/pandas/polars,
and a prepared statement with a bound parameter. Expectations come from bcftools and from the
files themselves."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pyarrow as pa
import pytest
from _support import (
    VCF_DIR,
    ServerHandle,
    expected_table_names,
    read_vcf_header,
    run_bcftools,
    table_ref,
    vcf_files,
)

FIXED_VCF_COLUMNS = ["chrom", "start", "end", "id", "ref", "alt", "qual", "filter"]
VCF_22 = VCF_DIR / "22.vcf.gz"


def _positions(path: Any) -> list[tuple[str, int]]:
    out = run_bcftools("query", "-f", "%CHROM\t%POS\n", path)
    return [(c, int(p)) for c, p in (line.split("\t") for line in out.splitlines())]


def _objects(conn: Any, **filters: Any) -> dict[str, Any]:
    """adbc_get_objects as nested dicts: catalog -> schema -> table -> row."""
    rows = conn.adbc_get_objects(depth="all", **filters).read_all().to_pylist()
    out: dict[str, Any] = {}
    for cat in rows:
        schemas = out.setdefault(cat["catalog_name"], {})
        for sch in cat["catalog_db_schemas"] or []:
            tables = schemas.setdefault(sch["db_schema_name"], {})
            for tbl in sch["db_schema_tables"] or []:
                tables[tbl["table_name"]] = tbl
    return out


def test_get_objects_lists_catalog_schema_tables_and_columns(
    server: ServerHandle, adbc_conn: Any
) -> None:
    objects = _objects(adbc_conn)
    assert "genoflight" in objects, f"catalogs: {sorted(objects)}"
    assert "public" in objects["genoflight"], f"schemas: {sorted(objects['genoflight'])}"
    tables = objects["genoflight"]["public"]

    names = expected_table_names(vcf_files(server.vcf_dir))
    for path, name in names.items():
        assert name in tables, (
            f"{path.name} should be served as table {name!r}; got {sorted(tables)}"
        )
        if read_vcf_header(path).samples:
            assert f"{name}_genotypes" in tables, f"missing companion table {name}_genotypes"
    for name in ("tiny", "tiny_csv"):
        assert name in tables, f"parquet/csv table {name!r} missing; got {sorted(tables)}"
    assert not any(t.endswith(("_tbi", "_csi")) for t in tables), "index files became tables"

    columns = [c["column_name"] for c in tables["22"]["table_columns"]]
    assert columns[: len(FIXED_VCF_COLUMNS)] == FIXED_VCF_COLUMNS
    header = read_vcf_header(VCF_22)
    for info_id in header.info:
        assert info_id in columns, f"INFO/{info_id} has no column; columns: {columns}"
    assert "genotypes" in columns
    positions = [c["ordinal_position"] for c in tables["22"]["table_columns"]]
    assert positions == list(range(1, len(columns) + 1))


def test_get_objects_filters(adbc_conn: Any) -> None:
    objects = _objects(
        adbc_conn, catalog_filter="genoflight", db_schema_filter="public", table_name_filter="22"
    )
    assert list(objects["genoflight"]["public"]) == ["22"]


def _expected_arrow_type(field: Any) -> str:
    scalar = {
        "Integer": "int32",
        "Float": "float",
        "Flag": "bool",
        "String": "string",
        "Character": "string",
    }[field.type]
    return scalar if field.number in ("0", "1") else f"list<{scalar}>"


def _type_name(t: pa.DataType) -> str:
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"list<{_type_name(t.value_type)}>"
    if pa.types.is_large_string(t):
        return "string"
    return str(t)


def test_get_table_schema(adbc_conn: Any) -> None:
    schema = adbc_conn.adbc_get_table_schema("22", db_schema_filter="public")
    assert schema.names[: len(FIXED_VCF_COLUMNS)] == FIXED_VCF_COLUMNS
    expected_fixed = {
        "chrom": "string",
        "start": "int64",
        "end": "int64",
        "id": "string",
        "ref": "string",
        "alt": "string",
        "qual": "double",
        "filter": "string",
    }
    for name, type_name in expected_fixed.items():
        assert _type_name(schema.field(name).type) == type_name, f"column {name}"
    header = read_vcf_header(VCF_22)
    for info in header.info.values():
        got = _type_name(schema.field(info.id).type)
        assert got == _expected_arrow_type(info), (
            f"INFO/{info.id} (Number={info.number}, Type={info.type}) is {got}"
        )
    meta = {k.decode(): v.decode() for k, v in (schema.metadata or {}).items()}
    assert meta.get("bio.coordinate_system_zero_based") == "false", f"schema metadata: {meta}"


def test_column_remarks_carry_header_descriptions(adbc_conn: Any) -> None:
    """INFO descriptions reach the client, as column remarks or as field metadata."""
    header = read_vcf_header(VCF_22)
    objects = _objects(adbc_conn, db_schema_filter="public", table_name_filter="22")
    columns = {c["column_name"]: c for c in objects["genoflight"]["public"]["22"]["table_columns"]}
    schema = adbc_conn.adbc_get_table_schema("22", db_schema_filter="public")
    for info in header.info.values():
        remarks = columns[info.id].get("remarks") or ""
        metadata = [v.decode() for v in (schema.field(info.id).metadata or {}).values()]
        assert info.description in remarks or any(info.description in v for v in metadata), (
            f"INFO/{info.id} description {info.description!r} not visible "
            f"(remarks={remarks!r}, metadata={metadata!r})"
        )


def test_query_to_arrow_pandas_polars(adbc_conn: Any) -> None:
    expected = _positions(VCF_22)
    sql = f"SELECT chrom, start, ref, alt, qual FROM {table_ref('22')}"
    with adbc_conn.cursor() as cur:
        cur.execute(sql)
        table = cur.fetch_arrow_table()
    assert table.num_rows == len(expected)
    got = sorted(
        zip(table.column("chrom").to_pylist(), table.column("start").to_pylist(), strict=True)
    )
    assert got == sorted(expected)

    with adbc_conn.cursor() as cur:
        cur.execute(sql)
        df = cur.fetch_df()
    assert len(df) == len(expected)
    assert list(df.columns) == ["chrom", "start", "ref", "alt", "qual"]
    assert str(df["start"].dtype) == "int64"
    assert int(df["start"].sum()) == sum(p for _, p in expected)

    pytest.importorskip("polars")
    with adbc_conn.cursor() as cur:
        cur.execute(sql)
        pl_df = cur.fetch_polars()
    counts = dict(pl_df.group_by("chrom").len().iter_rows())
    assert counts == dict(Counter(c for c, _ in expected))


def test_dbapi_rows(adbc_conn: Any) -> None:
    expected = _positions(VCF_22)
    with adbc_conn.cursor() as cur:
        cur.execute(f"SELECT chrom, start FROM {table_ref('22')} ORDER BY chrom, start LIMIT 3")
        rows = cur.fetchall()
        assert [d[0] for d in cur.description] == ["chrom", "start"]
    assert rows == sorted(expected)[:3]


def test_prepared_statement_with_bound_parameter(adbc_conn: Any) -> None:
    positions = sorted(p for _, p in _positions(VCF_22))
    sql = f"SELECT count(*) AS n FROM {table_ref('22')} WHERE start >= ?"
    with adbc_conn.cursor() as cur:
        param_schema = cur.adbc_prepare(sql)
        assert param_schema is not None and len(param_schema) == 1, param_schema
        # Same statement, several bindings: each must be honoured (not the first one cached).
        for threshold in (positions[len(positions) // 2], positions[-1], positions[0] - 1):
            cur.execute(sql, (threshold,))
            (n,) = cur.fetchone()
            assert n == sum(1 for p in positions if p >= threshold), f"threshold {threshold}"


def test_parquet_and_csv_tables(server: ServerHandle, adbc_conn: Any) -> None:
    extra = server.extra
    with adbc_conn.cursor() as cur:
        cur.execute(f"SELECT count(*), sum(score), max(name) FROM {table_ref('tiny')}")
        n, total, max_name = cur.fetchone()
        assert n == len(extra.parquet_rows)
        assert total == pytest.approx(sum(r["score"] for r in extra.parquet_rows))
        assert max_name == max(r["name"] for r in extra.parquet_rows)

        cur.execute(f"SELECT label, value FROM {table_ref('tiny_csv')} ORDER BY id")
        assert cur.fetchall() == [(r["label"], r["value"]) for r in extra.csv_rows]


def test_table_types_and_info(adbc_conn: Any) -> None:
    types = adbc_conn.adbc_get_table_types()
    assert types, "GetTableTypes returned nothing"
    info = adbc_conn.adbc_get_info()
    assert info.get("vendor_name"), f"GetSqlInfo has no server name: {info}"
