"""Fixtures: a REAL genoflight server process on a free loopback port, and the data it serves.

The server serves the shared VCF directory (``<shared>/htslib/vcf``) plus a temporary directory
of files made here: a malformed VCF, a truncated BGZF VCF, a small Parquet and a small CSV file.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _support import (
    VCF_DIR,
    ExtraData,
    ServerHandle,
    adbc_connect,
    require_native,
    require_shared_vcf_dir,
)

STARTUP_TIMEOUT_S = 60.0
SHUTDOWN_TIMEOUT_S = 15.0


# --------------------------------------------------------------------------------------------
# Generated data


def write_broken_vcf(path: Path) -> tuple[int, int]:
    """A VCF with a valid header whose records go bad on one line (a non-numeric POS).
    Returns (1-based line number of that line, well-formed records before it)."""
    header = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=1,length=1000000>",
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Read depth">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
    ]
    good = [f"1\t{1000 * (i + 1)}\t.\tA\tC\t50\tPASS\tDP={i + 3}" for i in range(6)]
    bad = "1\tnot_a_position\t.\tA\tG\t50\tPASS\tDP=3"
    after = ["1\t90000\t.\tC\tT\t50\tPASS\tDP=4"]
    lines = [*header, *good, bad, *after]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(header) + len(good) + 1, len(good)


def _gunzip_prefix(data: bytes) -> bytes:
    """Decompress as much of a (multi-member) gzip prefix as possible."""
    out = bytearray()
    while data:
        d = zlib.decompressobj(wbits=31)
        try:
            out += d.decompress(data)
        except zlib.error:
            break
        if not d.eof:
            break
        data = d.unused_data
    return bytes(out)


def write_truncated_vcf(source: Path, path: Path) -> None:
    """The first part of a real BGZF VCF: the header complete, the records cut mid-block."""
    data = source.read_bytes()
    cut = len(data) * 2 // 3
    prefix = data[:cut]
    text = _gunzip_prefix(prefix)
    if b"\n#CHROM" not in text:
        raise RuntimeError(f"the first {cut} bytes of {source} do not hold the whole header")
    path.write_bytes(prefix)


def write_parquet(path: Path) -> list[dict[str, Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [
        {"id": i, "name": f"item{i}", "score": i * 1.5, "chrom": f"chr{1 + i % 3}"}
        for i in range(1, 21)
    ]
    pq.write_table(pa.Table.from_pylist(rows), path)
    return rows


def write_csv(path: Path) -> list[dict[str, Any]]:
    rows = [{"id": i, "label": f"row{i}", "value": i * i} for i in range(1, 13)]
    lines = ["id,label,value"] + [f"{r['id']},{r['label']},{r['value']}" for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return rows


@pytest.fixture(scope="session")
def extra_data(tmp_path_factory: pytest.TempPathFactory) -> ExtraData:
    require_shared_vcf_dir()
    d = tmp_path_factory.mktemp("served")
    broken = d / "broken.vcf"
    line, good = write_broken_vcf(broken)
    truncated = d / "truncated.vcf.gz"
    source = VCF_DIR / "22.vcf.gz"
    write_truncated_vcf(source, truncated)
    parquet = d / "tiny.parquet"
    csv = d / "tiny_csv.csv"
    return ExtraData(
        dir=d,
        broken=broken,
        broken_line=line,
        broken_good_records=good,
        truncated=truncated,
        truncated_source=source,
        parquet=parquet,
        parquet_rows=write_parquet(parquet),
        csv=csv,
        csv_rows=write_csv(csv),
    )


# --------------------------------------------------------------------------------------------
# The server process


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def start_server(
    args: list[str], *, host: str, port: int, log_dir: Path, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], Path]:
    """Start ``python -m genoflight serve ...`` and wait until it accepts connections."""
    stderr_path = log_dir / f"server-{port}.stderr"
    stdout_path = log_dir / f"server-{port}.stdout"
    cmd = [sys.executable, "-m", "genoflight", "serve", "--host", host, "--port", str(port), *args]
    with stderr_path.open("wb") as err, stdout_path.open("wb") as out:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env or dict(os.environ)
        )
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            pytest.fail(
                f"genoflight serve exited with status {proc.returncode} before listening.\n"
                f"command: {' '.join(cmd)}\nstderr:\n{stderr_path.read_text(errors='replace')}",
                pytrace=False,
            )
        if _port_open(host, port):
            return proc, stderr_path
        if time.monotonic() > deadline:
            stop_server(proc)
            pytest.fail(
                f"genoflight serve did not listen on {host}:{port} within {STARTUP_TIMEOUT_S:.0f}"
                f" s.\ncommand: {' '.join(cmd)}\n"
                f"stderr:\n{stderr_path.read_text(errors='replace')}",
                pytrace=False,
            )
        time.sleep(0.1)


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=SHUTDOWN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=SHUTDOWN_TIMEOUT_S)


@pytest.fixture(scope="session")
def server(
    extra_data: ExtraData, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerHandle]:
    require_native()
    vcf_dir = require_shared_vcf_dir()
    host = "127.0.0.1"
    port = free_port(host)
    log_dir = tmp_path_factory.mktemp("server-logs")
    proc, stderr_path = start_server(
        [str(vcf_dir), str(extra_data.dir)], host=host, port=port, log_dir=log_dir
    )
    handle = ServerHandle(
        host=host,
        port=port,
        uri=f"grpc://{host}:{port}",
        data_dir=extra_data.dir,
        vcf_dir=vcf_dir,
        proc=proc,
        stderr_path=stderr_path,
        extra=extra_data,
    )
    try:
        yield handle
    finally:
        died = proc.poll()
        stop_server(proc)
    if died is not None:
        pytest.fail(
            f"the server died during the tests (exit status {died}); stderr:\n{handle.stderr()}",
            pytrace=False,
        )


@pytest.fixture
def adbc_conn(server: ServerHandle) -> Iterator[Any]:
    """A fresh ADBC connection to the session's server."""
    conn = adbc_connect(server.uri)
    try:
        yield conn
    finally:
        conn.close()
