"""The ready-to-run examples in clients/python/, run against the session's server."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter

import pytest
from _support import CALL_TIMEOUT_S, REPO, VCF_DIR, ServerHandle, read_vcf_header, run_bcftools

EXAMPLES = REPO / "clients" / "python"
VCF_22 = VCF_DIR / "22.vcf.gz"


def run_example(name: str, server: ServerHandle, table: str = "22") -> str:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), "--uri", server.uri, "--table", table],
        capture_output=True,
        text=True,
        timeout=CALL_TIMEOUT_S,
        check=False,
    )
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def expected_rows() -> tuple[int, dict[str, int]]:
    chroms = run_bcftools("query", "-f", "%CHROM\n", VCF_22).split()
    return len(chroms), dict(Counter(chroms))


def per_chrom(output: str) -> dict[str, int]:
    return {m[1]: int(m[2]) for m in re.finditer(r"^chrom (\S+): (\d+)", output, re.MULTILINE)}


def rows_line(output: str) -> int:
    match = re.search(r"^rows: (\d+)$", output, re.MULTILINE)
    assert match, output
    return int(match[1])


def test_adbc_example(server: ServerHandle) -> None:
    pytest.importorskip("adbc_driver_flightsql")
    out = run_example("adbc_example.py", server)
    total, chroms = expected_rows()
    assert "table: genoflight.public.22" in out.splitlines()
    columns = re.findall(r"^column: (\S+) ", out, re.MULTILINE)
    assert columns[:3] == ["chrom", "start", "end"]
    assert set(read_vcf_header(VCF_22).info) <= set(columns)
    assert rows_line(out) == total
    assert per_chrom(out) == chroms  # the prepared statement binds start >= 1: every row


def test_flight_example(server: ServerHandle) -> None:
    out = run_example("flight_example.py", server)
    total, chroms = expected_rows()
    assert re.search(r"^endpoints: [1-9]\d*$", out, re.MULTILINE), out
    assert re.search(r"^schema: chrom:string, start:int64, ", out, re.MULTILINE), out
    assert rows_line(out) == total
    assert per_chrom(out) == chroms


def test_polars_example(server: ServerHandle) -> None:
    pytest.importorskip("polars")
    pytest.importorskip("adbc_driver_flightsql")
    out = run_example("polars_example.py", server)
    total, chroms = expected_rows()
    assert rows_line(out) == total
    assert per_chrom(out) == chroms
    snvs = sum(
        1
        for line in run_bcftools("query", "-f", "%REF\t%ALT\n", VCF_22).splitlines()
        if all(len(x) == 1 and x != "." for x in line.split("\t"))
    )
    assert re.search(rf"^snvs: {snvs}$", out, re.MULTILINE), out
