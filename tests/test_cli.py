"""The ``genoflight`` command line, run as a user runs it (``python -m genoflight``)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from _support import (
    VCF_DIR,
    bcftools_record_count,
    expected_table_names,
    genoflight_cli,
    require_native,
    require_shared_vcf_dir,
    run_bcftools,
    vcf_files,
)

VCF_22 = VCF_DIR / "22.vcf.gz"
COUNT_22 = 'SELECT count(*) AS n FROM public."22"'


def assert_clean_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """Exit status 2, one ``genoflight: error:`` line on stderr naming every needle."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("genoflight: error:")]
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0], f"{needle!r} not in {errors[0]!r}"
    return errors[0]


# --------------------------------------------------------------------------------------------
# Without the native module


def test_help() -> None:
    proc = genoflight_cli("--help")
    assert proc.returncode == 0
    for command in ("serve", "sql", "tables"):
        assert command in proc.stdout


def test_no_command_is_a_usage_error() -> None:
    assert genoflight_cli().returncode == 2


def test_bad_config_key_names_key_and_file(tmp_path: Path) -> None:
    config = tmp_path / "genoflight.toml"
    config.write_text("[limits]\nquery_timeout_s = 30\nmax_rows = 5\n", encoding="utf-8")
    for command in (["serve"], ["tables"], ["sql", "SELECT 1"]):
        proc = genoflight_cli(*command, "--config", config)
        assert_clean_error(proc, "limits.max_rows", str(config))


def test_bad_config_type_names_key_and_file(tmp_path: Path) -> None:
    config = tmp_path / "genoflight.toml"
    config.write_text('[server]\nport = "50051"\n', encoding="utf-8")
    assert_clean_error(genoflight_cli("serve", "--config", config), "server.port", str(config))


def test_missing_config_file(tmp_path: Path) -> None:
    assert_clean_error(genoflight_cli("tables", "--config", tmp_path / "nope.toml"), "nope.toml")


def test_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such.vcf"
    assert_clean_error(genoflight_cli("tables", missing), str(missing))
    assert_clean_error(genoflight_cli("serve", missing), str(missing))


def test_missing_path_in_config(tmp_path: Path) -> None:
    config = tmp_path / "genoflight.toml"
    config.write_text('[[paths]]\npath = "gone"\n', encoding="utf-8")
    assert_clean_error(genoflight_cli("tables", "--config", config), "paths[0].path", str(config))


def test_unknown_output_extension(tmp_path: Path) -> None:
    proc = genoflight_cli("sql", "SELECT 1", "--output", tmp_path / "out.xlsx")
    assert_clean_error(proc, "out.xlsx", ".parquet")
    assert not (tmp_path / "out.xlsx").exists()


def test_serve_with_nothing_to_serve() -> None:
    assert_clean_error(genoflight_cli("serve"), "nothing to serve")


# --------------------------------------------------------------------------------------------
# With the native module


@pytest.fixture
def native() -> None:
    require_native()
    require_shared_vcf_dir()


@pytest.mark.usefixtures("native")
def test_tables_lists_the_vcf_dir() -> None:
    proc = genoflight_cli("tables", VCF_DIR)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^public\.22\b", proc.stdout, re.MULTILINE), proc.stdout
    flags = re.MULTILINE | re.IGNORECASE
    assert re.search(r"^\s+chrom\s+(Utf8|string)\b", proc.stdout, flags), proc.stdout
    assert re.search(r"^\s+start\s+Int64\b", proc.stdout, flags), proc.stdout


@pytest.mark.usefixtures("native")
def test_tables_json_follows_the_naming_contract() -> None:
    proc = genoflight_cli("tables", VCF_DIR, "--json")
    assert proc.returncode == 0, proc.stderr
    listing = json.loads(proc.stdout)
    by_name = {t["name"]: t for t in listing["tables"]}
    for path, name in expected_table_names(vcf_files(VCF_DIR)).items():
        assert name in by_name, f"{path.name} -> {name} missing from {sorted(by_name)}"
        assert Path(by_name[name]["path"]) == path
        assert by_name[name]["format"] == "vcf"
        assert by_name[name]["schema"] == "public"
        assert by_name[name]["catalog"] == "genoflight"
    columns = [c["name"] for c in by_name["22"]["columns"]]
    assert columns[:3] == ["chrom", "start", "end"]
    # The vcf_file.vcf / vcf_file.vcf.gz collision is a warning, not a failure.
    assert any("vcf_file" in w for w in listing["warnings"]), listing["warnings"]
    assert "genoflight: warning:" in proc.stderr


@pytest.mark.usefixtures("native")
def test_sql_prints_the_count() -> None:
    expected = bcftools_record_count(VCF_22)
    proc = genoflight_cli("sql", COUNT_22, VCF_DIR)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].strip() == "n"
    assert [int(x) for x in re.findall(r"^\s*(\d+)\s*$", proc.stdout, re.MULTILINE)] == [expected]


@pytest.mark.usefixtures("native")
def test_sql_options_after_paths(tmp_path: Path) -> None:
    out = tmp_path / "count.csv"
    proc = genoflight_cli("sql", COUNT_22, VCF_DIR, "--output", out)
    assert proc.returncode == 0, proc.stderr
    import pyarrow.csv as pacsv

    assert pacsv.read_csv(out).to_pylist() == [{"n": bcftools_record_count(VCF_22)}]


@pytest.mark.usefixtures("native")
@pytest.mark.parametrize("ext", ["parquet", "csv", "arrow"])
def test_sql_output_file(tmp_path: Path, ext: str) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    expected = run_bcftools("query", "-f", "%POS\n", VCF_22).split()
    out = tmp_path / f"result.{ext}"
    proc = genoflight_cli(
        "sql", 'SELECT chrom, start, ref, alt, qual FROM public."22"', "--output", out, VCF_DIR
    )
    assert proc.returncode == 0, proc.stderr
    if ext == "parquet":
        table = pq.read_table(out)
    elif ext == "csv":
        table = pacsv.read_csv(out)
    else:
        with pa.memory_map(str(out)) as source:
            table = pa.ipc.open_file(source).read_all()
    assert table.schema.names == ["chrom", "start", "ref", "alt", "qual"]
    assert sorted(table.column("start").to_pylist()) == sorted(int(p) for p in expected)


@pytest.mark.usefixtures("native")
def test_sql_bad_sql_is_one_clean_line() -> None:
    assert_clean_error(genoflight_cli("sql", "SELEC 1", VCF_DIR))


@pytest.mark.usefixtures("native")
def test_sql_unknown_table() -> None:
    assert_clean_error(genoflight_cli("sql", "SELECT * FROM nope_table", VCF_DIR), "nope_table")


@pytest.mark.usefixtures("native")
def test_sql_refuses_writes(tmp_path: Path) -> None:
    target = tmp_path / "x.csv"
    proc = genoflight_cli("sql", f"COPY (SELECT 1) TO '{target}'", VCF_DIR)
    assert_clean_error(proc)
    assert not target.exists()


@pytest.mark.usefixtures("native")
def test_serve_on_a_busy_port_fails_cleanly() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = genoflight_cli("serve", "--host", "127.0.0.1", "--port", port, VCF_DIR, timeout=60)
    assert_clean_error(proc, str(port))


@pytest.mark.usefixtures("native")
def test_demo_dataset(tmp_path: Path) -> None:
    env = dict(os.environ, GENOFLIGHT_DEMO_DIR=str(tmp_path / "demo"))
    run = [sys.executable, "-m", "genoflight"]
    proc = subprocess.run(
        [*run, "tables", "--demo", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    names = {t["name"] for t in json.loads(proc.stdout)["tables"]}
    assert {"cohort", "cohort_genotypes", "genes", "samples"} <= names, names

    vcf = tmp_path / "demo" / "cohort.vcf.gz"
    expected = bcftools_record_count(vcf)
    proc = subprocess.run(
        [*run, "sql", "SELECT count(*) AS n FROM cohort", "--demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert [int(x) for x in re.findall(r"^\s*(\d+)\s*$", proc.stdout, re.MULTILINE)] == [expected]
    assert "generating" not in proc.stderr, "the demo dataset was generated twice"
