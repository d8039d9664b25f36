"""Progress on stderr: one bar per file being fetched and one for the whole run.

Drawn only on a terminal (and not under ``CI=true`` or ``--quiet``); otherwise silent but for
the final summary line the command prints. Bars are redrawn in place by a background thread a
few times a second, so a fast download does not spend its time printing.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from typing import TextIO

__all__ = ["FileBar", "Progress", "human_bytes", "interactive"]

REFRESH_S = 0.2
BAR_WIDTH = 24


def interactive(stream: TextIO) -> bool:
    """Bars only for a person watching: a terminal, outside CI."""
    ci = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
    try:
        return stream.isatty() and not ci
    except (AttributeError, ValueError):
        return False


def human_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


class FileBar:
    """One file's progress (implements ``download.FileProgress``)."""

    def __init__(self, owner: Progress, name: str) -> None:
        self._owner = owner
        self.name = name
        self.total: int | None = None
        self.done = 0
        self.text = "waiting"

    def start(self, total: int | None, already: int) -> None:
        with self._owner.lock:
            self.total = total
            self.done = already
            self.text = "resuming" if already else "downloading"

    def advance(self, n: int) -> None:
        with self._owner.lock:
            self.done += n
            self._owner.received += n

    def restart(self) -> None:
        with self._owner.lock:
            self.done = 0

    def status(self, text: str) -> None:
        with self._owner.lock:
            self.text = text

    def wait(self, seconds: float) -> None:
        time.sleep(seconds)

    def close(self) -> None:
        self._owner.remove(self)

    def line(self, width: int) -> str:
        if self.total:
            frac = min(1.0, self.done / self.total)
            filled = int(frac * BAR_WIDTH)
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            amount = f"{frac * 100:5.1f}% {human_bytes(self.done)}/{human_bytes(self.total)}"
        else:
            bar = " " * BAR_WIDTH
            amount = human_bytes(self.done)
        name = self.name if len(self.name) <= 36 else "..." + self.name[-33:]
        return f"  {name:<36} [{bar}] {amount}  {self.text}"[:width]


class Progress:
    """The bars of a run. ``enabled`` False: nothing is drawn (the state is still counted)."""

    def __init__(self, stream: TextIO | None = None, *, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = interactive(self.stream) if enabled is None else enabled
        self.lock = threading.RLock()
        self.bars: list[FileBar] = []
        self.received = 0
        self.files_total = 0
        self.files_done = 0
        self.started = time.monotonic()
        self._drawn = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="fetch-progress", daemon=True)
            self._thread.start()

    def file(self, name: str) -> FileBar:
        bar = FileBar(self, name)
        with self.lock:
            self.bars.append(bar)
        return bar

    def remove(self, bar: FileBar) -> None:
        with self.lock:
            if bar in self.bars:
                self.bars.remove(bar)

    def step_done(self) -> None:
        with self.lock:
            self.files_done += 1

    def message(self, text: str) -> None:
        """A line printed above the bars (always, even when bars are off)."""
        with self.lock:
            self._clear()
            self.stream.write(text.rstrip("\n") + "\n")
            self._draw()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self.lock:
            self._clear()

    def _run(self) -> None:
        while not self._stop.wait(REFRESH_S):
            with self.lock:
                self._clear()
                self._draw()

    def _overall(self) -> str:
        elapsed = max(1e-9, time.monotonic() - self.started)
        rate = human_bytes(self.received / elapsed)
        return (
            f"genoflight fetch: {self.files_done}/{self.files_total} steps, "
            f"{human_bytes(self.received)} downloaded, {rate}/s"
        )

    def _clear(self) -> None:
        if self.enabled and self._drawn:
            # Up to the first drawn line, then erase to the end of the screen.
            self.stream.write(f"\x1b[{self._drawn}F\x1b[J")
            self._drawn = 0
            self.stream.flush()

    def _draw(self) -> None:
        if not self.enabled or self._stop.is_set():
            return
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (OSError, ValueError, AttributeError):
            columns = 0
        # A pseudo-terminal may report 0 columns: then $COLUMNS, else 100.
        width = max(40, (columns or shutil.get_terminal_size((100, 24)).columns) - 1)
        lines = [b.line(width) for b in self.bars] + [self._overall()[:width]]
        self.stream.write("\n".join(lines) + "\n")
        self.stream.flush()
        self._drawn = len(lines)
