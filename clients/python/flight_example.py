"""Query genoflight with nothing but `pyarrow.flight`, speaking Flight SQL by hand.

    pip install pyarrow
    genoflight serve --demo            # in another terminal
    python flight_example.py --uri grpc://127.0.0.1:50051 --table cohort

A Flight SQL query is a GetFlightInfo whose descriptor holds a protobuf
`google.protobuf.Any{type_url, CommandStatementQuery{query}}`; the rows come back from DoGet on
each endpoint's ticket. Protobuf is tag + length + bytes, so a few lines encode it.
"""

from __future__ import annotations

import argparse

import pyarrow as pa
from pyarrow import flight

TYPE_URL = "type.googleapis.com/arrow.flight.protocol.sql.CommandStatementQuery"


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def statement_query(sql: str) -> bytes:
    command = _field(1, sql.encode())  # CommandStatementQuery.query = 1
    return _field(1, TYPE_URL.encode()) + _field(2, command)  # Any.type_url = 1, Any.value = 2


def run(client: flight.FlightClient, sql: str) -> pa.Table:
    info = client.get_flight_info(flight.FlightDescriptor.for_command(statement_query(sql)))
    print(f"endpoints: {len(info.endpoints)}")
    parts = []
    for endpoint in info.endpoints:
        # No location (or the "reuse" one) means: fetch from the server we asked.
        other = [
            loc.uri.decode()
            for loc in endpoint.locations
            if not loc.uri.decode().startswith("arrow-flight-reuse-connection:")
        ]
        source = flight.connect(other[0]) if other else client
        parts.append(source.do_get(endpoint.ticket).read_all())
        if source is not client:
            source.close()
    return pa.concat_tables(parts) if parts else info.schema.empty_table()


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", default="grpc://127.0.0.1:50051", help="server URI")
    parser.add_argument("--table", default="cohort", help="table to query (default: demo VCF)")
    parser.add_argument("--schema", default="public")
    args = parser.parse_args(argv)

    with flight.connect(args.uri) as client:
        table = run(
            client,
            f"SELECT chrom, start, ref, alt, qual FROM {quote(args.schema)}.{quote(args.table)}",
        )
    print(f"schema: {', '.join(f'{f.name}:{f.type}' for f in table.schema)}")
    print(f"rows: {table.num_rows}")
    counts = table.group_by("chrom").aggregate([("start", "count")]).sort_by("chrom")
    for chrom, n in zip(
        counts["chrom"].to_pylist(), counts["start_count"].to_pylist(), strict=True
    ):
        print(f"chrom {chrom}: {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
