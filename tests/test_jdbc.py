"""The Arrow Flight SQL JDBC driver (the one DBeaver uses) against a real server.

Runs ``clients/jdbc/run.sh`` (genoflight.JdbcSmoke, built by Maven into one jar) and checks its
tab-separated report: metadata (catalogs, schemas, tables, columns, type info), a count, an
ordered select and a prepared statement with a bound parameter. Expectations come from bcftools.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from _support import REPO, VCF_DIR, ServerHandle, run_bcftools, unavailable

JDBC_DIR = REPO / "clients" / "jdbc"
JAR = JDBC_DIR / "target" / "genoflight-jdbc-smoke.jar"
RUN_SH = JDBC_DIR / "run.sh"
VCF_22 = VCF_DIR / "22.vcf.gz"

BUILD_TIMEOUT_S = 900.0
RUN_TIMEOUT_S = 180.0

# java.sql.Types codes the driver derives from the Arrow types in docs/native-contract.md.
VARCHAR, BIGINT, DOUBLE = 12, -5, 8
EXPECTED_COLUMN_TYPES = {
    "chrom": VARCHAR,
    "start": BIGINT,
    "end": BIGINT,
    "ref": VARCHAR,
    "alt": VARCHAR,
    "qual": DOUBLE,
    "filter": VARCHAR,
}


def _build_jar() -> None:
    """``mvn package`` offline first (a warm ~/.m2 needs no network), then online."""
    mvn = shutil.which("mvn")
    if mvn is None:
        unavailable(f"{JAR} is not built and mvn is not installed (apt-get install maven)")
    errors = []
    for extra in (["-o"], []):
        cmd = [mvn, "-q", "-B", *extra, "-f", str(JDBC_DIR / "pom.xml"), "-DskipTests", "package"]
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False
        )
        if proc.returncode == 0 and JAR.is_file():
            return
        errors.append(f"$ {' '.join(cmd)}\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    pytest.fail("building the JDBC smoke jar failed:\n" + "\n".join(errors), pytrace=False)


@pytest.fixture(scope="session")
def jdbc_jar() -> Path:
    if shutil.which("java") is None:
        unavailable("java is not installed (apt-get install default-jdk-headless maven)")
    if not JAR.is_file():
        _build_jar()
    return JAR


def run_smoke(*args: str | int) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("GENOFLIGHT_JDBC_EXTRA", None)  # the test server is plaintext, no auth
    env.pop("GENOFLIGHT_JDBC_DEBUG", None)
    return subprocess.run(
        ["bash", str(RUN_SH), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        env=env,
        check=False,
    )


def facts(stdout: str, prefix: str) -> list[list[str]]:
    """The fields after ``prefix`` of every ``prefix\\t...`` line."""
    return [line.split("\t")[1:] for line in stdout.splitlines() if line.split("\t")[0] == prefix]


def single(stdout: str, prefix: str) -> list[str]:
    found = facts(stdout, prefix)
    assert len(found) == 1, f"expected one {prefix} line, got {found}\n{stdout}"
    return found[0]


def test_jdbc_driver_metadata_queries_and_prepared_statement(
    server: ServerHandle, jdbc_jar: Path
) -> None:
    query = run_bcftools("query", "-f", "%CHROM\t%POS\n", VCF_22)
    positions = sorted((c, int(p)) for c, p in (line.split("\t") for line in query.splitlines()))
    records = sum(1 for _ in run_bcftools("view", "-H", VCF_22).splitlines())
    assert records == len(positions) > 0
    pos_values = sorted(p for _, p in positions)
    bound = pos_values[len(pos_values) // 2]  # a POS in the middle of the file's positions
    expected_prepared = sum(1 for p in pos_values if p >= bound)
    assert 0 < expected_prepared < records

    proc = run_smoke(server.host, server.port, "22", "", "", bound)
    out, err = proc.stdout, proc.stderr
    context = f"\nstdout:\n{out}\nstderr:\n{err}\nserver stderr (tail):\n{server.stderr()[-3000:]}"
    assert proc.returncode == 0, f"JdbcSmoke exited {proc.returncode}{context}"
    assert out.splitlines()[-1] == "OK", context

    # Metadata walk.
    assert ["genoflight"] in facts(out, "CATALOG"), context
    assert ["genoflight", "public"] in facts(out, "SCHEMA"), context
    tables = facts(out, "TABLE")
    assert any(t[:2] == ["public", "22"] for t in tables), context
    assert all(len(t) == 3 and t[2] != "NULL" for t in tables), f"TABLE_TYPE missing{context}"

    columns = {c[0]: c for c in facts(out, "COLUMN")}
    for name, sql_type in EXPECTED_COLUMN_TYPES.items():
        assert name in columns, f"no COLUMN line for {name}{context}"
        assert int(columns[name][3]) == sql_type, f"{name}: {columns[name]}{context}"

    # The driver (18.3.0) does not implement getTypeInfo: Avatica answers with an empty result set
    # without calling the server, so no TYPEINFO row can be required; the call must still work.
    typeinfo_count = int(single(out, "TYPEINFO_COUNT")[0])
    assert typeinfo_count == len(facts(out, "TYPEINFO")), context

    # Queries.
    assert int(single(out, "COUNT")[0]) == records, context

    rows = facts(out, "ROW")
    assert len(rows) == 5, context
    got = [(r[0], int(r[1])) for r in rows]
    assert got == sorted(got), f"ROW lines not ordered by chrom, start{context}"
    assert got == positions[:5], context

    assert single(out, "PREPARED_PARAMS") == ["1"], context
    assert single(out, "PREPARED_BOUND") == [str(bound)], context
    assert int(single(out, "PREPARED_COUNT")[0]) == expected_prepared, context


def test_jdbc_unknown_table_is_a_clean_error(server: ServerHandle, jdbc_jar: Path) -> None:
    table = "no_such_table_jdbc"
    proc = run_smoke(server.host, server.port, table)
    context = f"\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert proc.returncode == 1, context
    assert "OK" not in proc.stdout.splitlines(), context
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR\t")]
    assert len(errors) == 1, context
    # The metadata walk succeeds (an unknown name just matches no table); the count query fails.
    assert errors[0].startswith("ERROR\tcount query: "), context
    # The first message echoes the SQL; the causes after it carry the server's own error text,
    # which must name the table too.
    server_part = errors[0].split(" <- ", 1)[-1]
    assert table in server_part, context
    assert server.alive(), "the server died on a query for an unknown table"
