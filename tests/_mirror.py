"""A local Ensembl-style HTTP mirror for ``genoflight fetch`` tests and its benchmark.

Serves a directory tree on 127.0.0.1 with directory listing pages (Apache-like, with sort links
and a parent link), ``Range: bytes=N-`` requests (206 + Content-Range, 416 past the end), and
faults injected per file name: drop the connection midway through the first N answers, serve
corrupt bytes once, ignore Range (answer 200 with the whole file), answer 503 once. Every request
is recorded (path, Range header, status, body bytes sent) so tests can count them.
"""

from __future__ import annotations

import html
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["Fault", "Mirror", "Request"]

CHUNK = 1 << 20


@dataclass
class Fault:
    drop_first: int = 0  # answers cut midway (after half of the body), the first N times
    corrupt_once: bool = False  # the first full answer has one byte flipped
    ignore_range: bool = False  # Range is ignored: always 200 with the whole file
    unavailable_once: bool = False  # the first request gets 503
    corrupt_always: bool = False


@dataclass(frozen=True)
class Request:
    path: str
    range: str | None
    status: int
    sent: int  # body bytes written


@dataclass
class Mirror:
    root: Path
    faults: dict[str, Fault] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Mirror:
        mirror = self

        class Handler(_Handler):
            owner = mirror

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> Mirror:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def log(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def file_requests(self, name: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path.rsplit("/", 1)[-1] == name]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()


class _Handler(BaseHTTPRequestHandler):
    owner: Mirror
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _finish(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.owner.log(Request(self.path, self.headers.get("Range"), status, len(body)))

    def do_GET(self) -> None:
        rel = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
        target = (self.owner.root / rel).resolve()
        if not target.is_relative_to(self.owner.root.resolve()) or not target.exists():
            self._finish(404, b"not found\n")
            return
        if target.is_dir():
            if not self.path.endswith("/"):
                self.send_response(301)
                self.send_header("Location", self.path + "/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                self.owner.log(Request(self.path, None, 301, 0))
                return
            self._finish(200, _listing(target, self.path).encode(), "text/html")
            return
        fault = self.owner.faults.get(target.name) or Fault()
        if fault.unavailable_once:
            fault.unavailable_once = False
            self._finish(503, b"try later\n")
            return
        size = target.stat().st_size
        start = 0
        wanted = self.headers.get("Range")
        if wanted and not fault.ignore_range:
            first = wanted.removeprefix("bytes=").split("-", 1)[0]
            start = int(first)
            if start >= size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                self.owner.log(Request(self.path, wanted, 416, 0))
                return
        length = size - start
        corrupt = start == 0 and length > 0 and (fault.corrupt_once or fault.corrupt_always)
        fault.corrupt_once = False if corrupt else fault.corrupt_once
        status = 206 if start else 200
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        cut = length
        if fault.drop_first > 0:
            fault.drop_first -= 1
            cut = length // 2
            self.close_connection = True
        flip = length // 3 if corrupt else -1  # offset of the one byte sent wrong
        sent = 0
        with target.open("rb") as f:
            f.seek(start)
            while sent < cut:
                chunk = f.read(min(CHUNK, cut - sent))
                if not chunk:
                    break
                if sent <= flip < sent + len(chunk):
                    i = flip - sent
                    chunk = chunk[:i] + bytes([chunk[i] ^ 0x5A]) + chunk[i + 1 :]
                self.wfile.write(chunk)
                sent += len(chunk)
        self.wfile.flush()
        self.owner.log(Request(self.path, wanted, status, sent))


def _listing(directory: Path, url_path: str) -> str:
    """An index page like Apache's mod_autoindex (what ftp.ensembl.org serves)."""
    rows = ['<tr><td><a href="../">Parent Directory</a></td></tr>']
    for p in sorted(directory.iterdir()):
        name = p.name + ("/" if p.is_dir() else "")
        href = urllib.parse.quote(name)
        rows.append(f'<tr><td><a href="{href}">{html.escape(name)}</a></td></tr>')
    return (
        f"<html><head><title>Index of {html.escape(url_path)}</title></head><body>"
        f"<h1>Index of {html.escape(url_path)}</h1><table>"
        '<tr><th><a href="?C=N;O=D">Name</a></th><th><a href="?C=M;O=A">Last modified</a></th>'
        f"</tr>{''.join(rows)}</table></body></html>"
    )
