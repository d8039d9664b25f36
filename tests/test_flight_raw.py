"""Flight SQL with pyarrow.flight alone: a hand-packed CommandStatementQuery, GetFlightInfo,
and DoGet on every endpoint."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
from _support import (
    VCF_DIR,
    ServerHandle,
    bcftools_record_count,
    endpoint_client,
    flight_call_options,
    pack_statement_query,
    read_vcf_header,
    run_bcftools,
    table_ref,
)
from pyarrow import flight

VCF_22 = VCF_DIR / "22.vcf.gz"


def test_hand_packed_command_matches_protobuf() -> None:
    any_pb2 = pytest.importorskip("google.protobuf.any_pb2")
    pb = pytest.importorskip("flightsql.flightsql_pb2")  # ships with flightsql-dbapi
    for sql in ("SELECT 1", "SELECT 'ünïcode' AS x", "SELECT " + "1 + " * 200 + "1"):
        wrapped = any_pb2.Any()
        wrapped.Pack(pb.CommandStatementQuery(query=sql))
        assert pack_statement_query(sql) == wrapped.SerializeToString()


def _get_all(client: flight.FlightClient, info: flight.FlightInfo) -> tuple[pa.Table, int]:
    """DoGet every endpoint; the concatenated table and the number of record batches."""
    tables, batches = [], 0
    for endpoint in info.endpoints:
        assert endpoint.ticket.ticket, "endpoint with an empty ticket"
        target, owned = endpoint_client(client, endpoint)
        try:
            reader = target.do_get(endpoint.ticket, flight_call_options())
            chunks = []
            while True:
                try:
                    chunk = reader.read_chunk()
                except StopIteration:
                    break
                chunks.append(chunk.data)
            batches += len(chunks)
            tables.append(pa.Table.from_batches(chunks, schema=reader.schema))
        finally:
            if owned:
                target.close()
    return pa.concat_tables(tables), batches


def _info(client: flight.FlightClient, sql: str) -> flight.FlightInfo:
    descriptor = flight.FlightDescriptor.for_command(pack_statement_query(sql))
    return client.get_flight_info(descriptor, flight_call_options())


def test_statement_query_roundtrip(server: ServerHandle) -> None:
    expected = run_bcftools("query", "-f", "%CHROM\t%POS\t%REF\n", VCF_22).splitlines()
    sql = f"SELECT chrom, start, ref FROM {table_ref('22')}"
    with flight.connect(server.uri) as client:
        info = _info(client, sql)
        assert info.endpoints, "GetFlightInfo returned no endpoints"
        assert info.schema.names == ["chrom", "start", "ref"]
        table, _ = _get_all(client, info)
    assert table.schema.names == info.schema.names
    assert table.schema.field("start").type == pa.int64()
    if info.total_records >= 0:
        assert info.total_records == table.num_rows
    got = sorted(
        f"{c}\t{p}\t{r}"
        for c, p, r in zip(*(table.column(i).to_pylist() for i in range(3)), strict=True)
    )
    assert got == sorted(expected)


def test_large_result_streams_in_several_batches(server: ServerHandle) -> None:
    records = bcftools_record_count(VCF_22)
    samples = len(read_vcf_header(VCF_22).samples)
    with flight.connect(server.uri) as client:
        info = _info(client, f"SELECT chrom, start, sample_id, gt FROM {table_ref('22_genotypes')}")
        table, batches = _get_all(client, info)
    assert table.num_rows == records * samples
    assert batches > 1, "a large result should stream as several record batches"


def _view_types(t: pa.DataType) -> list[str]:
    if pa.types.is_string_view(t) or pa.types.is_binary_view(t) or pa.types.is_list_view(t):
        return [str(t)]
    if pa.types.is_large_list_view(t):
        return [str(t)]
    found: list[str] = []
    for i in range(t.num_fields):
        found += _view_types(t.field(i).type)
    return found


@pytest.mark.parametrize("table", ["22", "tiny", "tiny_csv"])
def test_no_view_types_on_the_wire_by_default(server: ServerHandle, table: str) -> None:
    with flight.connect(server.uri) as client:
        info = _info(client, f"SELECT * FROM {table_ref(table)} LIMIT 50")
        data, _ = _get_all(client, info)
    for schema in (info.schema, data.schema):
        bad = {f.name: _view_types(f.type) for f in schema if _view_types(f.type)}
        assert not bad, f"view types sent to clients by default: {bad}"


def test_result_schema_carries_coordinate_metadata(server: ServerHandle) -> None:
    with flight.connect(server.uri) as client:
        info = _info(client, f"SELECT * FROM {table_ref('22')} LIMIT 5")
        data, _ = _get_all(client, info)
    meta: dict[Any, Any] = data.schema.metadata or {}
    assert meta.get(b"bio.coordinate_system_zero_based") == b"false", meta


def test_do_get_with_unknown_ticket_is_an_error(server: ServerHandle) -> None:
    # pyarrow maps INVALID_ARGUMENT to ArrowInvalid, other codes to FlightError.
    with flight.connect(server.uri) as client, pytest.raises((flight.FlightError, pa.ArrowInvalid)):
        client.do_get(flight.Ticket(b"not a ticket"), flight_call_options()).read_all()
