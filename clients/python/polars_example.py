"""Query genoflight into a polars DataFrame (through ADBC), then keep going in polars.

pip install polars adbc-driver-flightsql pyarrow
genoflight serve --demo            # in another terminal
python polars_example.py --uri grpc://127.0.0.1:50051 --table cohort
"""

from __future__ import annotations

import argparse

import adbc_driver_flightsql.dbapi as flightsql
import polars as pl


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", default="grpc://127.0.0.1:50051", help="server URI")
    parser.add_argument("--table", default="cohort", help="table to query (default: demo VCF)")
    parser.add_argument("--schema", default="public")
    args = parser.parse_args(argv)

    sql = f"SELECT chrom, start, ref, alt, qual FROM {quote(args.schema)}.{quote(args.table)}"
    with flightsql.connect(args.uri, autocommit=True) as conn:
        df = pl.read_database(sql, connection=conn)  # Arrow end to end, no row conversion

    print(f"rows: {df.height}")
    per_chrom = (
        df.group_by("chrom")
        .agg(pl.len().alias("n"), pl.col("qual").mean().alias("mean_qual"))
        .sort("chrom")
    )
    for chrom, n, mean_qual in per_chrom.iter_rows():
        shown = "NULL" if mean_qual is None else f"{mean_qual:.2f}"
        print(f"chrom {chrom}: {n} (mean qual {shown})")
    snvs = df.filter((pl.col("ref").str.len_chars() == 1) & (pl.col("alt").str.len_chars() == 1))
    print(f"snvs: {snvs.height}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
