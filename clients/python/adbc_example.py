"""Query genoflight from Python with ADBC (the `adbc-driver-flightsql` package).

    pip install adbc-driver-flightsql pyarrow
    genoflight serve --demo            # in another terminal
    python adbc_example.py --uri grpc://127.0.0.1:50051 --table cohort

Shows: browsing the catalog (adbc_get_objects), a table's Arrow schema, a query into Arrow,
and a prepared statement with a bound parameter.
"""

from __future__ import annotations

import argparse

import adbc_driver_flightsql.dbapi as flightsql


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", default="grpc://127.0.0.1:50051", help="server URI")
    parser.add_argument("--table", default="cohort", help="table to query (default: demo VCF)")
    parser.add_argument("--schema", default="public")
    args = parser.parse_args(argv)
    table = f"{quote(args.schema)}.{quote(args.table)}"

    # autocommit=True: the server is read-only and has no transactions.
    with flightsql.connect(args.uri, autocommit=True) as conn:
        # 1. Browse the catalog, as a SQL client's object tree does.
        objects = conn.adbc_get_objects(depth="tables").read_all().to_pylist()
        for catalog in objects:
            for schema in catalog["catalog_db_schemas"] or []:
                for t in schema["db_schema_tables"] or []:
                    print(
                        f"table: {catalog['catalog_name']}.{schema['db_schema_name']}."
                        f"{t['table_name']}"
                    )

        # 2. A table's columns and Arrow types.
        arrow_schema = conn.adbc_get_table_schema(args.table, db_schema_filter=args.schema)
        for field in arrow_schema:
            print(f"column: {field.name} {field.type}")

        with conn.cursor() as cur:
            # 3. A query, fetched as an Arrow table.
            cur.execute(f"SELECT chrom, start, ref, alt, qual FROM {table}")
            result = cur.fetch_arrow_table()
            print(f"rows: {result.num_rows}")

            # 4. A prepared statement with a bound parameter (`?`).
            cur.execute(
                f"SELECT chrom, count(*) AS n FROM {table} WHERE start >= ? "
                "GROUP BY chrom ORDER BY chrom",
                (1,),
            )
            for chrom, n in cur.fetchall():
                print(f"chrom {chrom}: {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
