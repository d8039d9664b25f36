"""The HTTP admin API, served by uvicorn beside the Flight SQL port (``genoflight serve
--admin-port A``). A plain ASGI app over ``genoflight._native``'s view of the running server:

- ``GET /healthz``: 200 while the process is up.
- ``GET /readyz``: 200 once the Flight server listens; 503 before, and while shutting down.
- ``GET /metrics``: Prometheus text (queries by outcome, latency histogram, rows/bytes sent,
  active/queued queries, memory pool use, peak and cap).
- ``GET /api/status``, ``GET /api/catalog``, ``GET /api/queries`` (running and recent).
- ``DELETE /api/queries/{id}``: cancel a query. ``POST /api/reload``: rebuild the catalog from
  the configuration (same as SIGHUP).

When users are configured every path but ``/healthz`` and ``/readyz`` needs
``Authorization: Basic`` (a configured user) or ``Bearer`` (a token from the Flight handshake).
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

__all__ = ["AdminApp", "bind", "start_admin"]

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_QUERY = re.compile(r"^/api/queries/(\d+)$")
_OPEN = ("/healthz", "/readyz")


class AdminApp:
    """ASGI app; ``reload_config`` returns the fresh native config JSON for ``/api/reload``."""

    def __init__(self, native: ModuleType, reload_config: Callable[[], str] | None = None) -> None:
        self.native = native
        self.reload_config = reload_config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan is off; websockets are not served
        status, body, headers = await self._route(scope)
        if isinstance(body, (dict, list)):
            payload = json.dumps(body).encode()
            headers = [(b"content-type", b"application/json"), *headers]
        else:
            payload = body.encode()
            headers = headers or [(b"content-type", b"text/plain; charset=utf-8")]
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*headers, (b"content-length", str(len(payload)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    async def _route(self, scope: Scope) -> tuple[int, Any, list[tuple[bytes, bytes]]]:
        path, method = scope["path"], scope["method"]
        native = self.native
        if path == "/healthz":
            return 200, "ok\n", []
        if path == "/readyz":
            status = native.server_status()
            ready = status is not None and json.loads(status)["ready"]
            return (200, "ready\n", []) if ready else (503, "not ready\n", [])
        if native.server_status() is None:
            return 503, {"error": "the Flight SQL server is not running yet"}, []
        header = dict(scope["headers"]).get(b"authorization")
        try:
            # Argon2 checks take tens of milliseconds: keep them off the event loop.
            await asyncio.to_thread(
                native.server_authenticate, header.decode("latin-1") if header else None
            )
        except PermissionError as e:
            return 401, {"error": str(e)}, [(b"www-authenticate", b'Basic realm="genoflight"')]

        if path == "/metrics" and method == "GET":
            text = native.server_metrics()
            return 200, text, [(b"content-type", b"text/plain; version=0.0.4; charset=utf-8")]
        if path == "/api/status" and method == "GET":
            return 200, json.loads(native.server_status()), []
        if path == "/api/catalog" and method == "GET":
            return 200, json.loads(await asyncio.to_thread(native.server_catalog)), []
        if path == "/api/queries" and method == "GET":
            return 200, json.loads(native.server_queries()), []
        if (m := _QUERY.match(path)) and method == "DELETE":
            query_id = int(m.group(1))
            if native.server_cancel(query_id):
                return 200, {"cancelled": query_id}, []
            return 404, {"error": f"query {query_id} is not running"}, []
        if path == "/api/reload" and method == "POST":
            return await self._reload()
        known = {"/metrics", "/api/status", "/api/catalog", "/api/queries", "/api/reload"}
        if path in known or _QUERY.match(path):
            return 405, {"error": f"{method} is not allowed on {path}"}, []
        return 404, {"error": f"no such endpoint: {path}"}, []

    async def _reload(self) -> tuple[int, Any, list[tuple[bytes, bytes]]]:
        try:
            config_json = self.reload_config() if self.reload_config else None
            summary = await asyncio.to_thread(self.native.server_reload, config_json)
        except (ValueError, RuntimeError, OSError) as e:
            return 400, {"error": f"reload failed, the catalog is unchanged: {e}"}, []
        return 200, {"reloaded": True, **json.loads(summary)}, []


def bind(host: str, port: int) -> socket.socket:
    """The admin listening socket, bound now so a busy port fails before the server starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise OSError(
            e.errno, f"cannot listen on {host}:{port} for the admin API: {e.strerror}"
        ) from None
    sock.listen(128)
    return sock


def start_admin(
    native: ModuleType, sock: socket.socket, reload_config: Callable[[], str] | None = None
) -> threading.Thread:
    """Serve the admin API on ``sock`` from a daemon thread (uvicorn installs no signal
    handlers off the main thread, so SIGTERM/SIGHUP stay with the Flight server)."""
    import uvicorn

    config = uvicorn.Config(
        AdminApp(native, reload_config), lifespan="off", log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="genoflight-admin", daemon=True
    )
    thread.start()
    return thread
