"""``genoflight build-cache`` (issue 8): a VEP cache converted to Parquet serves the same tables
with the same rows, and annotate_vep over it gives the same output (Ensembl VEP 115's, see
test_vep_annotate.py) as over the original.

Every shared cache (Storable, Sereal with tabix all_vars.gz, RefSeq, merged) is converted once
per session into a temporary directory and served next to its original as ``c_<name>``. Reruns
must write nothing; a deleted, truncated or corrupted output file is rebuilt alone; an
interrupted build resumes; bad input is a clear error naming the file.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _servers import Served, serve, write_config
from _support import flight_sql_query, genoflight_cli, require_native, unavailable
from test_vep_annotate import (
    CACHES,
    CASES,
    KINDS,
    as_vep,
    expected_path,
    keyed,
    read_vep_tab,
    vcf_path,
)

TABLES = ["transcripts", "exons", "translations", "regulatory", "motifs", "variation"]
MANIFEST = "genoflight-cache.json"


def build(source: Path, out: Path, progress: Any = None) -> dict[str, Any]:
    native = require_native()
    return json.loads(native.build_cache(str(source), str(out), progress))


def mtimes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each shared cache converted once: name -> converted directory."""
    if not CACHES["vep"].is_dir():
        unavailable("shared VEP caches not found (set GENOFLIGHT_SHARED_DATA)")
    tmp = tmp_path_factory.mktemp("converted")
    out = {}
    for name, path in CACHES.items():
        if path.is_dir():
            report = build(path, tmp / name)
            assert report["converted"] == report["parts"] > 0
            out[name] = tmp / name
    return out


@pytest.fixture(scope="module")
def server(
    converted: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("served")
    tables = []
    for stem in {s for s, _, _ in CASES}:
        path = vcf_path(stem)
        if path is not None:
            tables.append({"name": f"v_{stem.lower()}", "path": str(path)})
    caches = [{"name": n, "path": str(p)} for n, p in CACHES.items() if p.is_dir()]
    caches += [{"name": f"c_{n}", "path": str(p)} for n, p in converted.items()]
    config = write_config(tmp / "vep.toml", {"tables": tables, "vep_caches": caches})
    with serve(config, tmp) as served:
        yield served


def sorted_rows(table: Any) -> list[str]:
    return sorted(repr(r) for r in table.to_pylist())


@pytest.mark.parametrize("cache", list(CACHES))
@pytest.mark.parametrize("table", TABLES)
def test_tables_have_the_same_schema_and_rows(server: Served, cache: str, table: str) -> None:
    original = flight_sql_query(server.uri, f"SELECT * FROM {cache}.{table}")
    ours = flight_sql_query(server.uri, f"SELECT * FROM c_{cache}.{table}")
    assert ours.schema.equals(original.schema, check_metadata=True)
    assert ours.num_rows == original.num_rows
    assert sorted_rows(ours) == sorted_rows(original)


@pytest.mark.parametrize("cache", list(CACHES))
def test_region_queries_prune_and_agree(server: Served, cache: str) -> None:
    for table in ("transcripts", "variation", "regulatory"):
        sql = "SELECT * FROM {} WHERE chrom = '21' AND start <= 25600000 AND \"end\" >= 25500000"
        original = flight_sql_query(server.uri, sql.format(f"{cache}.{table}"))
        ours = flight_sql_query(server.uri, sql.format(f"c_{cache}.{table}"))
        assert sorted_rows(ours) == sorted_rows(original)


CASE_IDS = [f"{s}.{k}.{c}" for s, k, c in CASES]


@pytest.mark.parametrize(("stem", "kind", "cache"), CASES, ids=CASE_IDS)
def test_annotate_vep_is_identical(server: Served, stem: str, kind: str, cache: str) -> None:
    options = "".join(f", '{o}'" for o in KINDS[kind])
    sql = "SELECT * FROM annotate_vep('v_{}', '{}'{})"
    original = flight_sql_query(server.uri, sql.format(stem.lower(), cache, options)).to_pylist()
    ours = flight_sql_query(server.uri, sql.format(stem.lower(), f"c_{cache}", options))
    got = [{k: as_vep(v) for k, v in row.items()} for row in ours.to_pylist()]
    # Same rows in the same order as over the original cache ...
    assert ours.to_pylist() == original
    # ... and so Ensembl VEP's rows, every field.
    _, want = read_vep_tab(expected_path(stem, kind, cache))
    want_k, got_k = keyed(want), keyed(got)
    assert set(got_k) == set(want_k)
    for key, w in want_k.items():
        for field, value in w.items():
            assert got_k[key].get(field, "-") == value, (key, field)


def test_rerun_writes_nothing(converted: dict[str, Path]) -> None:
    for name, out in converted.items():
        before = mtimes(out)
        report = build(CACHES[name], out)
        assert report["converted"] == 0 and report["skipped"] == report["parts"]
        assert mtimes(out) == before, name


def test_damaged_outputs_are_rebuilt_alone(tmp_path: Path) -> None:
    out = tmp_path / "c"
    build(CACHES["vep"], out)
    manifest = json.loads((out / MANIFEST).read_text())
    files = [f["path"] for p in manifest["parts"] for f in p["files"]]
    assert {"21/transcripts.parquet", "21/variation.parquet", "22/transcripts.parquet"} <= set(
        files
    )
    rows = {f["path"]: f["rows"] for p in manifest["parts"] for f in p["files"]}
    (out / "21/transcripts.parquet").unlink()
    with open(out / "21/variation.parquet", "r+b") as f:
        f.truncate(100)
    damaged = out / "22/transcripts.parquet"
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    before = mtimes(out)
    report = build(CACHES["vep"], out)
    assert report["converted"] == 3 and report["skipped"] == report["parts"] - 3
    after = mtimes(out)
    changed = {k for k in after if before.get(k) != after[k]}
    assert changed == {
        "21/transcripts.parquet",
        "21/variation.parquet",
        "22/transcripts.parquet",
        MANIFEST,
    }
    again = json.loads((out / MANIFEST).read_text())
    assert {f["path"]: f["rows"] for p in again["parts"] for f in p["files"]} == rows


def test_interrupted_build_resumes(tmp_path: Path) -> None:
    out = tmp_path / "c"
    calls: list[tuple[int, int, str]] = []

    def stop_after_two(done: int, total: int, message: str) -> None:
        calls.append((done, total, message))
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build(CACHES["vep"], out, stop_after_two)
    assert calls[0][1] == calls[1][1] > 2
    assert not list(out.rglob("*.tmp"))
    report = build(CACHES["vep"], out)
    # The part finished before the interruption is kept; the rest is converted.
    assert 0 < report["skipped"] < report["parts"]
    assert report["converted"] == report["parts"] - report["skipped"]
    assert build(CACHES["vep"], out)["converted"] == 0


def test_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    native = require_native()
    no_info = tmp_path / "no_info" / "84_GRCh38"
    (no_info / "21").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"no info\.txt"):
        native.build_cache(str(no_info), str(tmp_path / "o1"), None)
    copy = tmp_path / "homo_sapiens" / "84_GRCh38"
    shutil.copytree(CACHES["vep"], copy)
    with pytest.raises(ValueError, match="inside the VEP cache"):
        native.build_cache(str(copy), str(copy / "converted"), None)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty and not a converted VEP cache"):
        native.build_cache(str(copy), str(foreign), None)
    busy = tmp_path / "busy"
    build(CACHES["vep"], busy)
    (busy / ".genoflight-build.lock").write_text(str(os.getppid()))
    with pytest.raises(ValueError, match="another build"):
        native.build_cache(str(CACHES["vep"]), str(busy), None)
    # A lock whose process is gone (a killed build) is taken over.
    (busy / ".genoflight-build.lock").write_text("999999999")
    assert build(CACHES["vep"], busy)["converted"] == 0
    assert not (busy / ".genoflight-build.lock").exists()
    bad = copy / "21" / "25000001-26000000.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(ValueError, match=r"21/25000001-26000000\.gz"):
        native.build_cache(str(copy), str(tmp_path / "o2"), None)
    other = tmp_path / "o3"
    build(CACHES["vep_refseq"], other)
    with pytest.raises(ValueError, match="converted cache of"):
        native.build_cache(str(copy), str(other), None)


def test_cli_and_directory_scanning(converted: dict[str, Path], tmp_path: Path) -> None:
    require_native()
    proc = genoflight_cli("build-cache", CACHES["vep"], converted["vep"])
    assert proc.returncode == 0, proc.stderr
    assert "already complete" in proc.stdout
    # Not a terminal: no progress bar, only the summary.
    assert "[#" not in proc.stderr
    proc = genoflight_cli("build-cache", tmp_path / "missing", tmp_path / "o")
    assert proc.returncode == 2
    assert "genoflight: error:" in proc.stderr and "missing" in proc.stderr
    # A converted cache met while scanning a served directory is a cache schema.
    scan = tmp_path / "scan"
    scan.mkdir()
    os.symlink(converted["vep_sereal"], scan / "sereal_parquet")
    proc = genoflight_cli("tables", scan, "--json")
    assert proc.returncode == 0, proc.stderr
    listing = json.loads(proc.stdout)
    found = {(t["schema"], t["name"]) for t in listing["tables"]}
    assert {("scan_sereal_parquet", t) for t in TABLES} <= found, found
