"""Apache Superset on genoflight: a real Superset (its own venv, SQLite metadata, gunicorn on
loopback) imports clients/superset's dashboard pointed at a real genoflight server (the demo
catalog plus a BAM), every chart's data from Superset's API is checked against bcftools /
samtools and against genoflight directly, and headless Chromium screenshots the dashboard
(tests/artifacts/superset-dashboard.png)."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from _support import (
    REPO,
    SHARED_DATA,
    adbc_connect,
    parse_qual,
    require_native,
    require_tool,
    run_bcftools,
    unavailable,
)
from conftest import free_port, start_server, stop_server

pytestmark = pytest.mark.slow

CLIENT_DIR = REPO / "clients" / "superset"
ARTIFACTS = REPO / "tests" / "artifacts"
SCREENSHOT = ARTIFACTS / "superset-dashboard.png"
BAM = SHARED_DATA / "htslib" / "alignment" / "ex1.bam"
BOOTSTRAP_TIMEOUT_S = 300
START_TIMEOUT_S = 180


def load_client(name: str) -> ModuleType:
    """A script of clients/superset as a module (they are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"superset_{name}", CLIENT_DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


importer = load_client("import_dashboard")


# --------------------------------------------------------------------------------------------
# Fixtures: genoflight, the Superset venv, Superset itself


@dataclass
class Genoflight:
    uri: str
    vcf: Path  # the demo VCF behind table "cohort"
    bam: Path  # the BAM behind table "ex1"


@pytest.fixture(scope="module")
def genoflight(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Genoflight]:
    require_native()
    if not BAM.is_file():
        unavailable(f"shared test data not found at {BAM} (set GENOFLIGHT_SHARED_DATA)")
    root = tmp_path_factory.mktemp("superset-genoflight")
    alignments = root / "alignments"
    alignments.mkdir()
    for suffix in ("", ".bai"):  # copies: links out of the served directories are skipped
        shutil.copy(f"{BAM}{suffix}", alignments / f"ex1.bam{suffix}")
    env = {**os.environ, "GENOFLIGHT_DEMO_DIR": str(root / "demo")}
    host, port = "127.0.0.1", free_port()
    proc, _ = start_server(["--demo", str(alignments)], host=host, port=port, log_dir=root, env=env)
    try:
        yield Genoflight(
            f"grpc://{host}:{port}", root / "demo" / "cohort.vcf.gz", alignments / "ex1.bam"
        )
    finally:
        stop_server(proc)


@pytest.fixture(scope="module")
def superset_venv() -> Path:
    builder = load_client("superset_venv")
    try:
        return builder.ensure_superset_venv()
    except (builder.VenvError, subprocess.TimeoutExpired) as e:
        unavailable(f"the Superset venv could not be built: {e}")
        raise AssertionError("unreachable") from e


@dataclass
class SupersetServer:
    url: str
    password: str
    venv: Path
    log: Path

    def env(self) -> dict[str, str]:
        return {**os.environ, "SUPERSET_PASSWORD": self.password}


CONFIG = """\
# Written by tests/test_superset.py.
SECRET_KEY = {secret!r}
SQLALCHEMY_DATABASE_URI = "sqlite:///{home}/superset.db"
DATA_DIR = {home!r}
# genoflight listens on loopback, which Superset refuses by default.
PREVENT_UNSAFE_DB_CONNECTIONS = False
WTF_CSRF_ENABLED = True
# Every chart query reaches genoflight: nothing is answered from a cache.
DATA_CACHE_CONFIG = {{"CACHE_TYPE": "NullCache"}}
CACHE_CONFIG = {{"CACHE_TYPE": "NullCache"}}
FEATURE_FLAGS = {{"DASHBOARD_RBAC": False}}
RATELIMIT_STORAGE_URI = "memory://"
"""


def _superset_cli(venv: Path, env: dict[str, str], log: Path, *args: str) -> None:
    cmd = [str(venv / "bin" / "superset"), *args]
    with log.open("ab") as out:
        proc = subprocess.run(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
            timeout=BOOTSTRAP_TIMEOUT_S, check=False,
        )  # fmt: skip
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        pytest.fail(f"`superset {' '.join(args)}` failed:\n{tail}", pytrace=False)


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"Superset exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    pytest.fail(
        f"Superset did not answer /health in {START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}"
    )


@pytest.fixture(scope="module")
def superset(
    superset_venv: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SupersetServer]:
    home = tmp_path_factory.mktemp("superset-home")
    config = home / "superset_config.py"
    config.write_text(CONFIG.format(secret=secrets.token_urlsafe(42), home=str(home)))
    password = secrets.token_urlsafe(16)
    env = {**os.environ, "SUPERSET_CONFIG_PATH": str(config), "SUPERSET_HOME": str(home)}
    log = home / "superset.log"
    _superset_cli(superset_venv, env, log, "db", "upgrade")
    _superset_cli(
        superset_venv, env, log, "fab", "create-admin", "--username", "admin",
        "--firstname", "Test", "--lastname", "Admin", "--email", "admin@example.org",
        "--password", password,
    )  # fmt: skip
    _superset_cli(superset_venv, env, log, "init")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(superset_venv / "bin" / "gunicorn"), "--bind", f"127.0.0.1:{port}",
             "--workers", "1", "--threads", "8", "--worker-class", "gthread",
             "--timeout", "300", "--graceful-timeout", "5", "superset.app:create_app()"],
            env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    try:
        _wait_healthy(url, proc, log)
        yield SupersetServer(url, password, superset_venv, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


@pytest.fixture(scope="module")
def dashboard(superset: SupersetServer, genoflight: Genoflight) -> dict[str, int]:
    """Chart ids by name, from the import script run as a user would."""
    cmd = [
        sys.executable, str(CLIENT_DIR / "import_dashboard.py"),
        "--superset", superset.url, "--genoflight", genoflight.uri,
        "--vcf-table", "cohort", "--bam-table", "ex1",
    ]  # fmt: skip
    proc = subprocess.run(
        cmd, env=superset.env(), capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, f"{proc.stderr}\nSuperset log:\n{superset.log.read_text()[-3000:]}"
    return json.loads(proc.stdout)["charts"]


# --------------------------------------------------------------------------------------------
# Helpers


TARGET = importer.Target(sqlalchemy_uri="unused", vcf_table="cohort", bam_table="ex1")


def chart_data(superset: SupersetServer, chart_id: int) -> tuple[list[dict[str, Any]], str]:
    """The rows Superset's API returns for a chart's saved query, and the SQL it ran."""
    api = importer.Superset(superset.url, "admin", superset.password)
    body = api.request("GET", f"/api/v1/chart/{chart_id}/data/")
    (result,) = body["result"]
    assert result["status"] == "success", result
    return result["data"], result["query"]


def genoflight_rows(uri: str, sql: str) -> list[dict[str, Any]]:
    with adbc_connect(uri) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetch_arrow_table().to_pylist()


def by_key(rows: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    out = {r[key]: r for r in rows}
    assert len(out) == len(rows), f"duplicate {key} values in {rows}"
    return out


# --------------------------------------------------------------------------------------------
# Tests


def test_variants_per_chromosome(
    superset: SupersetServer, genoflight: Genoflight, dashboard: dict[str, int]
) -> None:
    rows, _ = chart_data(superset, dashboard["Variants per chromosome"])
    shown = {r["chrom"]: r["count"] for r in rows}
    expected = Counter(run_bcftools("query", "-f", "%CHROM\n", genoflight.vcf).split())
    assert shown == dict(expected)
    direct = genoflight_rows(
        genoflight.uri, 'SELECT chrom, count(*) AS n FROM "public"."cohort" GROUP BY chrom'
    )
    assert shown == {r["chrom"]: r["n"] for r in direct}


def test_qual_distribution(
    superset: SupersetServer, genoflight: Genoflight, dashboard: dict[str, int]
) -> None:
    import numpy as np

    rows, _ = chart_data(superset, dashboard["QUAL distribution"])
    shown = {r["qual_bin"]: r["variants"] for r in rows}
    # bcftools' QUAL strings, as the float32 the VCF holds, in the dataset's bins.
    width = TARGET.qual_bin_width
    quals = [parse_qual(q) for q in run_bcftools("query", "-f", "%QUAL\n", genoflight.vcf).split()]
    bins = Counter(math.floor(float(np.float32(q)) / width) * width for q in quals if q is not None)
    assert shown == dict(bins)
    assert sum(shown.values()) == sum(q is not None for q in quals)
    sql = importer.dataset_sql(TARGET)["genoflight_qual_histogram"]
    direct = genoflight_rows(genoflight.uri, sql)
    assert shown == {r["qual_bin"]: r["variants"] for r in direct}


def test_coverage_from_depth(
    superset: SupersetServer, genoflight: Genoflight, dashboard: dict[str, int]
) -> None:
    samtools = require_tool("samtools")
    rows, _ = chart_data(superset, dashboard["Read depth: depth('ex1')"])
    shown = by_key(rows, "chrom")
    out = subprocess.run(
        [samtools, "depth", str(genoflight.bam)], capture_output=True, text=True, check=True
    ).stdout
    depths: dict[str, list[int]] = {}
    for line in out.splitlines():
        chrom, _, depth = line.split("\t")
        depths.setdefault(chrom, []).append(int(depth))
    assert set(shown) == set(depths)
    for chrom, values in depths.items():
        row = shown[chrom]
        assert row["positions"] == len(values), chrom
        assert row["total_depth"] == sum(values), chrom
        assert row["max_depth"] == max(values), chrom
        assert row["mean_depth"] == pytest.approx(sum(values) / len(values), abs=0.005), chrom
    direct = genoflight_rows(genoflight.uri, importer.dataset_sql(TARGET)["genoflight_coverage"])
    assert shown == by_key(direct, "chrom")


def test_table_functions_answer_upper_case_names(genoflight: Genoflight) -> None:
    lower = genoflight_rows(genoflight.uri, "SELECT count(*) AS n FROM depth('ex1')")
    upper = genoflight_rows(genoflight.uri, "SELECT count(*) AS n FROM DEPTH('ex1')")
    assert lower == upper and lower[0]["n"] > 0


def test_dataset_refresh_through_sqlglot(
    superset: SupersetServer, dashboard: dict[str, int]
) -> None:
    """Syncing a dataset's columns runs its SQL re-generated by sqlglot, which upper-cases
    function names: the server must answer DEPTH('ex1') as depth('ex1')."""
    api = importer.Superset(superset.url, "admin", superset.password)
    query = "(filters:!((col:table_name,opr:eq,value:genoflight_coverage)))"
    found = api.request("GET", "/api/v1/dataset/?q=" + urllib.parse.quote(query))["result"]
    assert len(found) == 1, found
    dataset_id = found[0]["id"]
    api.request("PUT", f"/api/v1/dataset/{dataset_id}/refresh")
    detail = api.request("GET", f"/api/v1/dataset/{dataset_id}")["result"]
    columns = {c["column_name"] for c in detail["columns"]}
    assert columns == {"chrom", "positions", "total_depth", "mean_depth", "max_depth"}


PNG_STATS = """
import json, sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
small = im.resize((im.width // 4, im.height // 4))
pixels = list(small.getdata())
background = max(set(pixels), key=pixels.count)
print(json.dumps({
    "width": im.width, "height": im.height,
    "colors": len(set(pixels)),
    "not_background": sum(p != background for p in pixels) / len(pixels),
}))
"""


def test_dashboard_screenshot(superset: SupersetServer, dashboard: dict[str, int]) -> None:
    chromium = require_tool("chromium")
    SCREENSHOT.unlink(missing_ok=True)
    python = str(superset.venv / "bin" / "python")
    cmd = [python, str(CLIENT_DIR / "screenshot_dashboard.py"), "--superset", superset.url,
           "--chromium", chromium, "--out", str(SCREENSHOT)]  # fmt: skip
    proc = subprocess.run(
        cmd, env=superset.env(), capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr
    print(f"dashboard screenshot: {SCREENSHOT}")
    assert SCREENSHOT.stat().st_size > 20_000
    stats = json.loads(
        subprocess.run(
            [python, "-c", PNG_STATS, str(SCREENSHOT)],
            capture_output=True, text=True, check=True, timeout=120,
        ).stdout
    )  # fmt: skip
    assert stats["width"] >= 1000 and stats["height"] >= 600, stats
    # Three rendered charts: bars, axis labels and a table, not a blank or error page.
    assert stats["colors"] >= 50, stats
    assert stats["not_background"] > 0.1, stats


def test_reimport_without_bam_shows_genotype_depth(
    superset: SupersetServer, genoflight: Genoflight, dashboard: dict[str, int]
) -> None:
    """Re-running the import re-points what is there (datasets included): without a BAM
    table the depth chart summarises FORMAT/DP, as bcftools reads it."""
    cmd = [sys.executable, str(CLIENT_DIR / "import_dashboard.py"), "--superset", superset.url,
           "--genoflight", genoflight.uri, "--vcf-table", "cohort"]  # fmt: skip
    proc = subprocess.run(
        cmd, env=superset.env(), capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr
    charts = json.loads(proc.stdout)["charts"]
    title = "Depth at variant sites: FORMAT/DP of cohort_genotypes"
    assert charts[title] == dashboard["Read depth: depth('ex1')"]  # the same chart, updated
    rows, _ = chart_data(superset, charts[title])
    depths: dict[str, list[int]] = {}
    for line in run_bcftools("query", "-f", "[%CHROM\t%DP\n]", genoflight.vcf).splitlines():
        chrom, dp = line.split("\t")
        if dp != ".":
            depths.setdefault(chrom, []).append(int(dp))
    shown = by_key(rows, "chrom")
    assert set(shown) == set(depths)
    for chrom, values in depths.items():
        row = shown[chrom]
        assert (row["positions"], row["total_depth"], row["max_depth"]) == (
            len(values),
            sum(values),
            max(values),
        ), chrom
        assert row["mean_depth"] == pytest.approx(sum(values) / len(values), abs=0.005), chrom
