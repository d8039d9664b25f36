"""Extra genoflight servers for the serving tests (auth, TLS, limits, admin, load): each starts
from a TOML config written here, on free loopback ports, and is stopped by the test module.
Also: self-signed certificates made with openssl, and small HTTP/Flight helpers."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _support import require_native, require_tool
from conftest import free_port, start_server, stop_server


@dataclass
class Served:
    """A running extra server."""

    proc: subprocess.Popen[bytes]
    host: str
    port: int
    admin_port: int | None
    stderr_path: Path
    scheme: str = "grpc"

    @property
    def uri(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def admin(self) -> str:
        return f"http://{self.host}:{self.admin_port}"

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return json.dumps(str(v))


def write_config(path: Path, sections: dict[str, Any]) -> Path:
    """``{"limits": {...}, "auth.users": [{...}], "paths": [{...}]}`` as TOML."""
    lines: list[str] = []
    for name, body in sections.items():
        if isinstance(body, list):
            for item in body:
                lines.append(f"[[{name}]]")
                lines += [f"{k} = {toml_value(v)}" for k, v in item.items()]
        else:
            lines.append(f"[{name}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in body.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_vcf(path: Path, header: str, records: list[str]) -> Path:
    """Tab-separated data ``records`` under ``header``, sorted by chromosome and position."""
    body = sorted(records, key=lambda r: (r.split("\t")[0], int(r.split("\t")[1])))
    path.write_text(header + "\n".join(body) + "\n", encoding="utf-8")
    return path


@contextmanager
def serve_with_vep_cache(
    log_dir: Path, cache: Path, tables: dict[str, Path] | None = None
) -> Iterator[Served]:
    """A server for the VEP cache at ``cache`` (named ``vep``) and the files in ``tables``."""
    sections: dict[str, Any] = {}
    if tables:
        sections["tables"] = [{"name": n, "path": str(p)} for n, p in tables.items()]
    sections["vep_caches"] = [{"name": "vep", "path": str(cache)}]
    with serve(write_config(log_dir / "c.toml", sections), log_dir) as served:
        yield served


@contextmanager
def serve(
    config: Path, log_dir: Path, *, admin: bool = False, scheme: str = "grpc", extra: tuple = ()
) -> Iterator[Served]:
    require_native()
    host = "127.0.0.1"
    port = free_port(host)
    args = ["--config", str(config), *extra]
    admin_port = None
    if admin:
        admin_port = free_port(host)
        args += ["--admin-port", str(admin_port)]
    proc, stderr_path = start_server(args, host=host, port=port, log_dir=log_dir)
    served = Served(proc, host, port, admin_port, stderr_path, scheme)
    if admin:
        wait_ready(served)
    try:
        yield served
    finally:
        stop_server(proc)


def wait_ready(served: Served, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if http(served, "GET", "/readyz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"admin API not ready; server stderr:\n{served.stderr()}")


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def http(
    served: Served, method: str, path: str, *, auth: str | None = None, timeout: float = 30.0
) -> tuple[int, str, dict[str, str]]:
    """(status, body text, headers) of one admin API call."""
    request = urllib.request.Request(served.admin + path, method=method)
    if auth:
        request.add_header("Authorization", auth)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


def http_json(served: Served, method: str, path: str, **kw: Any) -> Any:
    status, body, _ = http(served, method, path, **kw)
    assert status == 200, f"{method} {path}: {status} {body}"
    return json.loads(body)


def hash_password(password: str) -> str:
    """``genoflight hash-password`` with ``password`` on standard input."""
    proc = subprocess.run(
        [sys.executable, "-m", "genoflight", "hash-password"],
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


# --------------------------------------------------------------------------------------------
# Certificates (openssl CLI)


@dataclass
class Certs:
    server_cert: Path  # self-signed, SAN localhost + 127.0.0.1
    server_key: Path
    ca_cert: Path  # a CA for client certificates (mTLS)
    client_cert: Path  # signed by ca_cert
    client_key: Path
    stranger_cert: Path  # a client certificate signed by some other CA
    stranger_key: Path


def _openssl(*args: str | Path, cwd: Path) -> None:
    exe = require_tool("openssl")
    proc = subprocess.run(
        [exe, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, f"openssl {' '.join(map(str, args))}: {proc.stderr}"


def _ca(d: Path, name: str) -> tuple[Path, Path]:
    cert, key = d / f"{name}.pem", d / f"{name}.key"
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", key, "-out", cert, "-subj", f"/CN={name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=d,
    )  # fmt: skip
    return cert, key


def _leaf(d: Path, name: str, ca: tuple[Path, Path], ext: str) -> tuple[Path, Path]:
    cert, key, csr, extfile = (d / f"{name}{s}" for s in (".pem", ".key", ".csr", ".ext"))
    extfile.write_text(ext, encoding="utf-8")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
             "-subj", f"/CN={name}", cwd=d)  # fmt: skip
    _openssl("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial",
             "-days", "2", "-out", cert, "-extfile", extfile, cwd=d)  # fmt: skip
    return cert, key


def make_certs(d: Path) -> Certs:
    d.mkdir(parents=True, exist_ok=True)
    server_cert, server_key = d / "server.pem", d / "server.key"
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", server_key, "-out", server_cert, "-subj", "/CN=localhost",
        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        cwd=d,
    )  # fmt: skip
    client_ext = (
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=clientAuth\n"
    )
    ca = _ca(d, "client-ca")
    client = _leaf(d, "client", ca, client_ext)
    other_ca = _ca(d, "other-ca")
    stranger = _leaf(d, "stranger", other_ca, client_ext)
    return Certs(server_cert, server_key, ca[0], client[0], client[1], stranger[0], stranger[1])


# --------------------------------------------------------------------------------------------
# Flight with credentials


def flight_client(served: Served, certs: Certs | None = None, **kw: Any) -> Any:
    from pyarrow import flight

    if certs is not None and served.scheme == "grpc+tls":
        kw.setdefault("tls_root_certs", certs.server_cert.read_bytes())
    return flight.connect(served.uri, **kw)


def flight_query(client: Any, sql: str, headers: list | None = None) -> Any:
    import pyarrow as pa
    from _support import CALL_TIMEOUT_S, pack_statement_query
    from pyarrow import flight

    options = flight.FlightCallOptions(timeout=CALL_TIMEOUT_S, headers=headers or [])
    info = client.get_flight_info(
        flight.FlightDescriptor.for_command(pack_statement_query(sql)), options
    )
    tables = [client.do_get(e.ticket, options).read_all() for e in info.endpoints]
    return pa.concat_tables(tables) if tables else info.schema.empty_table()


def adbc_connect_as(
    uri: str, user: str | None = None, password: str | None = None, root_certs: Path | None = None
) -> Any:
    import adbc_driver_flightsql.dbapi as flightsql_dbapi
    from adbc_driver_flightsql import DatabaseOptions

    kwargs: dict[str, str] = {DatabaseOptions.TIMEOUT_QUERY.value: "120"}
    if user is not None:
        kwargs["username"] = user
        kwargs["password"] = password or ""
    if root_certs is not None:
        kwargs[DatabaseOptions.TLS_ROOT_CERTS.value] = root_certs.read_text()
    return flightsql_dbapi.connect(uri, db_kwargs=kwargs, autocommit=True)
