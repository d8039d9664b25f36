"""What the benchmarks share: running a tool under GNU time, a `genoflight serve`
subprocess with its peak RSS, a timed Flight SQL query through ADBC, and
make_data.py's BAM per scale."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
MAKE_DATA = REPO.parent / "shared" / "bench" / "make_data.py"


def gnu_time() -> str | None:
    for candidate in ("/usr/bin/time", shutil.which("gtime") or ""):
        if candidate and Path(candidate).exists():
            probe = subprocess.run(
                [candidate, "-f", "%M", "true"], capture_output=True, text=True, check=False
            )
            if probe.returncode == 0:
                return candidate
    return None


def run_tool(cmd: list[str], cwd: Path) -> tuple[float, float | None, str]:
    """Wall seconds, peak RSS (MiB, GNU time) and stdout of ``cmd``."""
    time_bin = gnu_time()
    with tempfile.NamedTemporaryFile("r") as rss:
        full = [time_bin, "-f", "%M", "-o", rss.name, *cmd] if time_bin else cmd
        start = time.perf_counter()
        proc = subprocess.run(full, cwd=cwd, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr[-2000:]}")
        peak = None
        lines = rss.read().strip().splitlines()
        if time_bin and lines:
            peak = int(lines[-1]) / 1024
    return seconds, peak, proc.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def vm_hwm_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def reset_hwm(pid: int) -> None:
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


class Server:
    """``genoflight serve`` on a free port; ``args`` are paths to serve or ``--config FILE``."""

    def __init__(self, args: list[str | Path], log: Path) -> None:
        self.port = free_port()
        self.log = log.open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "genoflight",
                "serve",
                "--port",
                str(self.port),
                *map(str, args),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: see {log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start") from None
                time.sleep(0.1)
        self.uri = f"grpc://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def flight(server: Server, sql: str) -> tuple[float, float | None, Any]:
    import adbc_driver_flightsql.dbapi as dbapi

    with dbapi.connect(server.uri, autocommit=True) as conn, conn.cursor() as cur:
        reset_hwm(server.proc.pid)
        start = time.perf_counter()
        cur.execute(sql)
        table = cur.fetch_arrow_table()
        seconds = time.perf_counter() - start
    return seconds, vm_hwm_mib(server.proc.pid), table


def ensure_data(scale: str, data_dir: Path) -> Path:
    bam = data_dir / scale / "reads.bam"
    if not (bam.exists() and Path(f"{bam}.bai").exists()):
        print(f"making {scale} data (make_data.py --only bam) ...", flush=True)
        subprocess.run(
            [
                sys.executable,
                str(MAKE_DATA),
                str(data_dir / scale),
                "--scale",
                scale,
                "--only",
                "bam",
            ],
            check=True,
        )
    return bam
