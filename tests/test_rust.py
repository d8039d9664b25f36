"""The Rust unit and integration tests (`cargo test`), as part of the one test command.

Runs in the same profile and target directory as the maturin build, so no
dependency is compiled twice.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_cargo_test_workspace() -> None:
    cargo = shutil.which("cargo")
    if cargo is None:
        if os.environ.get("CI"):
            pytest.fail("cargo is not installed")
        pytest.skip("cargo is not installed")
    proc = subprocess.run(
        [cargo, "test", "--release", "--workspace", "--color", "never"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    summary = "\n".join(
        line for line in proc.stdout.splitlines() if line.startswith(("test result", "failures"))
    )
    assert proc.returncode == 0, f"{summary}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    assert "test result: ok" in proc.stdout
