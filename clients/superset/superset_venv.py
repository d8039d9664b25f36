#!/usr/bin/env python3
"""Build (once) the isolated Apache Superset environment that tests/test_superset.py and CI use.

    python clients/superset/superset_venv.py          # prints the venv's directory

Superset cannot share the project's environment (its pins conflict with the project's pandas,
numpy and pyarrow; see requirements.txt), so it gets a venv of its own, by default
``$XDG_CACHE_HOME`` (or ``~/.cache``)``/genoflight/superset-venv`` (``$GENOFLIGHT_SUPERSET_VENV``
overrides), installed with uv from the pinned requirements.txt beside this file. The venv is
reused while its marker holds the hash of requirements.txt; a changed file or an interrupted
build is rebuilt from scratch. Standard library only.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REQUIREMENTS = Path(__file__).resolve().parent / "requirements.txt"
MARKER = ".genoflight-superset-venv"
INSTALL_TIMEOUT_S = 1800


class VenvError(RuntimeError):
    pass


def default_venv_dir() -> Path:
    env = os.environ.get("GENOFLIGHT_SUPERSET_VENV")
    if env:
        return Path(env).expanduser().absolute()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser().absolute() / "genoflight" / "superset-venv"


def requirements_hash(requirements: Path = REQUIREMENTS) -> str:
    """What the venv was built from: the pins and this interpreter's version (the pinned
    wheels are per Python version)."""
    digest = hashlib.sha256(requirements.read_bytes())
    digest.update(f"python{sys.version_info.major}.{sys.version_info.minor}".encode())
    return digest.hexdigest()


def is_complete(venv: Path, requirements: Path = REQUIREMENTS) -> bool:
    try:
        recorded = (venv / MARKER).read_text(encoding="utf-8").strip()
    except OSError:
        return False
    return recorded == requirements_hash(requirements) and (venv / "bin" / "superset").is_file()


def _run(cmd: list[str], log: Path) -> None:
    with log.open("ab") as out:
        out.write(f"$ {' '.join(cmd)}\n".encode())
        out.flush()
        proc = subprocess.run(
            cmd, stdout=out, stderr=subprocess.STDOUT, timeout=INSTALL_TIMEOUT_S, check=False
        )
    if proc.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise VenvError(f"`{' '.join(cmd)}` failed (exit {proc.returncode}); log {log}:\n{tail}")


def ensure_superset_venv(
    venv: Path | None = None, requirements: Path = REQUIREMENTS, python: str | None = None
) -> Path:
    """The venv directory, built first unless complete. Concurrent callers wait on a lock."""
    venv = (venv or default_venv_dir()).absolute()
    if is_complete(venv, requirements):
        return venv
    uv = shutil.which("uv")
    if uv is None:
        raise VenvError("uv is not installed (python3 -m pip install uv); it builds the venv")
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f".{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_complete(venv, requirements):  # built by whoever held the lock
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        log = venv.parent / f"{venv.name}.build.log"
        log.write_text("", encoding="utf-8")
        env_python = python or sys.executable
        # Superset 6.1 supports Python 3.10-3.12: the venv uses this interpreter (3.11 here).
        _run([uv, "venv", "--quiet", "--python", env_python, str(venv)], log)
        _run(
            [uv, "pip", "install", "--python", str(venv / "bin" / "python"),
             "--requirement", str(requirements)],
            log,
        )  # fmt: skip
        (venv / MARKER).write_text(requirements_hash(requirements) + "\n", encoding="utf-8")
    return venv


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--venv", type=Path, help="where to build it (default: see above)")
    p.add_argument("--python", help="interpreter for the venv (default: this one)")
    args = p.parse_args(argv)
    started = time.monotonic()
    try:
        venv = ensure_superset_venv(args.venv, python=args.python)
    except (VenvError, subprocess.TimeoutExpired) as e:
        print(f"superset_venv: {e}", file=sys.stderr)
        return 1
    print(venv)
    print(f"superset_venv: ready in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
