"""Helpers shared by the test modules: locations, bcftools, the table-naming contract, and a
minimal Flight SQL client built on pyarrow.flight alone."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import pyarrow as pa

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(
    os.environ.get("GENOFLIGHT_SHARED_DATA")
    or Path(__file__).resolve().parents[2] / "shared" / "data"
)
VCF_DIR = SHARED_DATA / "htslib" / "vcf"
HTSLIB_MANIFEST = SHARED_DATA / "htslib" / "MANIFEST.tsv"
MAKE_DATA = SHARED_DATA.parent / "bench" / "make_data.py"

CALL_TIMEOUT_S = 120.0
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def unavailable(reason: str) -> None:
    """Skip on a developer machine, fail in CI (where a skip would hide a broken setup)."""
    if IN_CI or os.environ.get("GENOFLIGHT_REQUIRE_ALL"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def require_native() -> ModuleType:
    try:
        import genoflight._native as native
    except ImportError as e:
        unavailable(
            f"genoflight._native is not built ({e}); run `pip install .` or `uv sync` first"
        )
        raise  # unreachable: unavailable() skips or fails
    return native


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        unavailable(f"{name} is not installed (apt-get install {name})")
        raise AssertionError("unreachable")
    return path


def require_shared_vcf_dir() -> Path:
    if not VCF_DIR.is_dir():
        unavailable(f"shared test data not found at {VCF_DIR} (set GENOFLIGHT_SHARED_DATA)")
    return VCF_DIR


def run_bcftools(*args: str | Path) -> str:
    """bcftools' stdout (UTF-8); ``pytest.xfail`` with bcftools' stderr if it fails."""
    exe = require_tool("bcftools")
    proc = subprocess.run(
        [exe, *map(str, args)], capture_output=True, timeout=CALL_TIMEOUT_S, check=False
    )
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        pytest.xfail(f"bcftools {' '.join(map(str, args))} failed: {err}")
    return proc.stdout.decode("utf-8", "surrogateescape")


def bcftools_record_count(path: Path) -> int:
    return sum(1 for _ in run_bcftools("view", "-H", path).splitlines())


def make_bench_data(outdir: Path, only: str, scale: str = "small", timeout: float = 900) -> Path:
    """``make_data.py OUTDIR --scale SCALE --only ONLY`` (it skips outputs it already made, so
    this is cheap after the first time); skips the test when make_data.py is not there."""
    if not MAKE_DATA.is_file():
        unavailable(f"the benchmark data generator is not at {MAKE_DATA}")
    cmd = [sys.executable, str(MAKE_DATA), str(outdir), "--scale", scale, "--only", only]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}", pytrace=False)
    return outdir


def run_bedtools(*args: str | Path) -> str:
    """bedtools' stdout; fails the test with its stderr if it fails (bedtools is the reference
    here, so its failure means the test's own input is wrong)."""
    exe = require_tool("bedtools")
    cmd = [exe, *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, timeout=CALL_TIMEOUT_S, check=False)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        pytest.fail(f"{' '.join(cmd)} failed: {err}", pytrace=False)
    return proc.stdout.decode("utf-8", "surrogateescape")


def genoflight_cli(
    *args: str | Path, timeout: float = CALL_TIMEOUT_S
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "genoflight", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# --------------------------------------------------------------------------------------------
# What the session's server fixture hands to tests (see conftest.py)


@dataclass
class ExtraData:
    """The generated files (in ``dir``) and what they hold, for computing expectations."""

    dir: Path
    broken: Path
    broken_line: int  # 1-based line number of the malformed record in broken.vcf
    broken_good_records: int  # well-formed records before it
    truncated: Path
    truncated_source: Path
    parquet: Path
    parquet_rows: list[dict[str, Any]]
    csv: Path
    csv_rows: list[dict[str, Any]]


@dataclass
class ServerHandle:
    host: str
    port: int
    uri: str
    data_dir: Path  # the temporary directory of generated files (see ExtraData)
    vcf_dir: Path  # the shared VCF directory
    proc: subprocess.Popen[bytes]
    stderr_path: Path
    extra: ExtraData

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc.poll() is None


# --------------------------------------------------------------------------------------------
# The table-naming contract (docs/native-contract.md), re-derived here independently.

INDEX_SUFFIXES = (".tbi", ".csi", ".bai", ".crai", ".fai", ".gzi")
# Format + compression suffixes, longest first.
FORMAT_SUFFIXES = (
    ".vcf.gz",
    ".vcf.bgz",
    ".vcf",
    ".parquet",
    ".csv",
    ".tsv",
)


def strip_format_suffix(filename: str) -> tuple[str, str]:
    """``("22", ".vcf.gz")`` for ``22.vcf.gz``."""
    lower = filename.lower()
    for suffix in FORMAT_SUFFIXES:
        if lower.endswith(suffix) and len(filename) > len(suffix):
            return filename[: -len(suffix)], filename[-len(suffix) :]
    raise ValueError(f"not a recognised data file: {filename}")


def sanitize(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def has_index(path: Path) -> bool:
    return any(Path(str(path) + s).exists() for s in (".tbi", ".csi"))


def expected_table_names(
    files: Iterable[Path], strip: Callable[[str], tuple[str, str]] | None = None
) -> dict[Path, str]:
    """Table name per data file, collisions resolved as the contract says: candidates sorted by
    (has index first, then path); the first keeps the name, the others get ``_`` + their
    stripped suffix with dots as ``_``, then ``_2``, ``_3``... if still taken.

    ``strip`` splits a file name into (stem, format suffix); VCF suffixes by default."""
    strip = strip or strip_format_suffix
    groups: dict[str, list[tuple[Path, str]]] = {}
    for f in files:
        stem, suffix = strip(f.name)
        groups.setdefault(sanitize(stem), []).append((f, suffix))
    taken = set(groups)
    names: dict[Path, str] = {}
    for base, members in groups.items():
        members.sort(key=lambda m: (not has_index(m[0]), str(m[0])))
        names[members[0][0]] = base
        for f, suffix in members[1:]:
            candidate = base + "_" + sanitize(suffix.lstrip(".").replace(".", "_"))
            n = 2
            unique = candidate
            while unique in taken:
                unique = f"{candidate}_{n}"
                n += 1
            taken.add(unique)
            names[f] = unique
    return names


def vcf_files(directory: Path) -> list[Path]:
    return sorted(
        p
        for p in directory.iterdir()
        if p.is_file() and p.name.lower().endswith((".vcf", ".vcf.gz", ".vcf.bgz"))
    )


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table_ref(name: str, schema: str = "public") -> str:
    return f"{quote_ident(schema)}.{quote_ident(name)}"


# --------------------------------------------------------------------------------------------
# Flight SQL by hand: protobuf is tag + length + bytes, so no protobuf dependency is needed.

STATEMENT_QUERY_TYPE_URL = "type.googleapis.com/arrow.flight.protocol.sql.CommandStatementQuery"


def varint(n: int) -> bytes:
    if n < 0:
        raise ValueError("varint of a negative number")
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def length_delimited(field_number: int, payload: bytes) -> bytes:
    return varint((field_number << 3) | 2) + varint(len(payload)) + payload


def pack_statement_query(sql: str) -> bytes:
    """``google.protobuf.Any{CommandStatementQuery{query = sql}}``, serialised."""
    command = length_delimited(1, sql.encode("utf-8"))
    return length_delimited(1, STATEMENT_QUERY_TYPE_URL.encode("ascii")) + length_delimited(
        2, command
    )


def flight_call_options(timeout: float = CALL_TIMEOUT_S) -> Any:
    from pyarrow import flight

    return flight.FlightCallOptions(timeout=timeout)


def endpoint_client(client: Any, endpoint: Any) -> tuple[Any, bool]:
    """The client to DoGet ``endpoint`` from, and whether it is a new one to close."""
    from pyarrow import flight

    for location in endpoint.locations:
        uri = location.uri.decode() if isinstance(location.uri, bytes) else str(location.uri)
        if uri.startswith("arrow-flight-reuse-connection:"):
            return client, False
        return flight.connect(uri), True
    return client, False


def flight_sql_query(uri: str, sql: str) -> pa.Table:
    """Run ``sql`` with GetFlightInfo(CommandStatementQuery) + DoGet of every endpoint."""
    import pyarrow as pa
    from pyarrow import flight

    options = flight_call_options()
    with flight.connect(uri) as client:
        info = client.get_flight_info(
            flight.FlightDescriptor.for_command(pack_statement_query(sql)), options
        )
        tables = []
        for endpoint in info.endpoints:
            target, owned = endpoint_client(client, endpoint)
            try:
                tables.append(target.do_get(endpoint.ticket, options).read_all())
            finally:
                if owned:
                    target.close()
        if not tables:
            return info.schema.empty_table()
        return pa.concat_tables(tables)


def flight_sql_error(uri: str, sql: str) -> str:
    """The error message the server gives for ``sql`` (fails the test if there is none)."""
    from pyarrow import flight

    try:
        table = flight_sql_query(uri, sql)
    except flight.FlightError as e:
        return str(e)
    except Exception as e:  # pyarrow raises ArrowInvalid etc. for errors arriving in-stream
        return f"{type(e).__name__}: {e}"
    pytest.fail(f"expected an error for {sql!r}, got {table.num_rows} rows", pytrace=False)
    raise AssertionError("unreachable")


def physical_plan(uri: str, sql: str) -> str:
    """The physical plan ``EXPLAIN`` prints for ``sql``."""
    table = flight_sql_query(uri, f"EXPLAIN {sql}")
    plans = [row["plan"] for row in table.to_pylist() if row["plan_type"] == "physical_plan"]
    assert plans, f"EXPLAIN printed no physical_plan row: {table.to_pylist()}"
    return "\n".join(plans)


def adbc_connect(uri: str) -> Any:
    """An ADBC DB-API connection (autocommit: the server has no transactions)."""
    import adbc_driver_flightsql.dbapi as flightsql_dbapi
    from adbc_driver_flightsql import DatabaseOptions

    timeout = str(CALL_TIMEOUT_S)
    return flightsql_dbapi.connect(
        uri,
        db_kwargs={
            DatabaseOptions.TIMEOUT_QUERY.value: timeout,
            DatabaseOptions.TIMEOUT_FETCH.value: timeout,
            DatabaseOptions.TIMEOUT_UPDATE.value: timeout,
        },
        autocommit=True,
    )


def parse_qual(text: str) -> float | None:
    return None if text == "." else float(text)


def parse_alt(text: str) -> str | None:
    return None if text == "." else text


# --------------------------------------------------------------------------------------------
# VCF headers, read with the standard library (BGZF is multi-member gzip).

_META_FIELD = re.compile(r'([A-Za-z_][A-Za-z0-9_.]*)=("(?:[^"\\]|\\.)*"|[^,>]*)')


@dataclass(frozen=True)
class HeaderField:
    id: str
    number: str
    type: str
    description: str


@dataclass(frozen=True)
class VcfHeader:
    info: dict[str, HeaderField]
    format: dict[str, HeaderField]
    samples: list[str]


def read_vcf_header(path: Path) -> VcfHeader:
    opener = gzip.open if path.name.endswith((".gz", ".bgz")) else open
    info: dict[str, HeaderField] = {}
    fmt: dict[str, HeaderField] = {}
    samples: list[str] = []
    with opener(path, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith(("##INFO=<", "##FORMAT=<")):
                body = line[line.index("<") + 1 : line.rindex(">")]
                attrs = {k: v.strip('"') for k, v in _META_FIELD.findall(body)}
                field = HeaderField(
                    id=attrs.get("ID", ""),
                    number=attrs.get("Number", ""),
                    type=attrs.get("Type", ""),
                    description=attrs.get("Description", "").replace('\\"', '"'),
                )
                (info if line.startswith("##INFO") else fmt)[field.id] = field
            elif line.startswith("#CHROM"):
                samples = line.split("\t")[9:]
                break
            elif not line.startswith("##"):
                break
    return VcfHeader(info=info, format=fmt, samples=samples)
