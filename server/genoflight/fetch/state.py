"""The manifest of a fetch output directory: what is complete and verified, so a rerun is cheap.

``OUT/.download/state.json`` maps a local file (relative to OUT) to the URL it came from, its
size and modification time when it was verified, and the checksum it matched. A file whose
record still matches (same URL, same expected checksum, same size and mtime) is skipped without
reading it; any difference means it is checked again (hashed), and fetched again if it fails.
Derived outputs (Parquet, an unpacked VEP cache) record the source record they were made from.
The file is rewritten atomically after every change, so an interrupted run loses nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from genoflight.fetch import FetchError

__all__ = ["FileStamp", "State", "exclusive"]

STATE_VERSION = 1


@dataclass(frozen=True)
class FileStamp:
    """How a file looked when it was last verified."""

    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> FileStamp | None:
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        return cls(st.st_size, st.st_mtime_ns)


class State:
    def __init__(self, path: Path, root: Path) -> None:
        self.path = path
        self.root = root
        self._lock = threading.Lock()
        self._entries: dict[str, dict[str, Any]] = {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError):
            return  # unreadable: everything is re-verified, which rewrites it
        if isinstance(data, dict) and data.get("version") == STATE_VERSION:
            entries = data.get("files")
            if isinstance(entries, dict):
                self._entries = {k: v for k, v in entries.items() if isinstance(v, dict)}

    def _key(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def get(self, path: Path) -> dict[str, Any] | None:
        with self._lock:
            entry = self._entries.get(self._key(path))
            return dict(entry) if entry is not None else None

    def is_current(self, path: Path, **expect: Any) -> bool:
        """True when ``path`` is recorded with these values and is unchanged on disk since."""
        entry = self.get(path)
        if entry is None or any(entry.get(k) != v for k, v in expect.items()):
            return False
        stamp = FileStamp.of(path)
        return stamp is not None and entry.get("stamp") == asdict(stamp)

    def record(self, path: Path, **values: Any) -> None:
        """Remember ``path`` as it is now, with ``values`` (URL, checksum, source ...)."""
        stamp = FileStamp.of(path)
        if stamp is None:
            raise FileNotFoundError(path)
        with self._lock:
            self._entries[self._key(path)] = {**values, "stamp": asdict(stamp)}
            self._save()

    def record_value(self, path: Path, **values: Any) -> None:
        """Remember ``values`` under ``path`` without stamping a file (a derived result)."""
        with self._lock:
            self._entries[self._key(path)] = dict(values)
            self._save()

    def forget(self, path: Path) -> None:
        with self._lock:
            if self._entries.pop(self._key(path), None) is not None:
                self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        data = {"version": STATE_VERSION, "files": self._entries}
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)


@contextlib.contextmanager
def exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path``: two fetches into one directory would overwrite
    each other's ``.part`` files."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a+") as f:
        try:
            import fcntl
        except ImportError:  # not POSIX: no locking
            yield
            return
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FetchError(
                f"another genoflight fetch is writing into {lock_path.parent.parent}; wait for "
                f"it to finish (or stop it) and rerun"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
