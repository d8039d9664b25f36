"""Server configuration: the TOML file, command-line overrides, and the JSON for the Rust core.

The keys are a user-facing contract (see DESIGN.md, "Config (TOML)"). Every unknown key and every
value of the wrong type is a :class:`ConfigError` whose message names the key, dotted
(``limits.query_timeout_s``, ``tables[1].zero_based``), and the file it came from.

Relative paths in a config file resolve against the directory holding that file; paths given on
the command line resolve against the current directory.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "DEFAULT_SCHEMA",
    "AuthConfig",
    "Config",
    "ConfigError",
    "LimitsConfig",
    "PathEntry",
    "ServerConfig",
    "TableEntry",
    "TlsConfig",
    "User",
    "VepCache",
    "load_config",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 50051
DEFAULT_SCHEMA = "public"
DEFAULT_TOKEN_TTL_S = 3600
DEFAULT_SHUTDOWN_GRACE_S = 30

_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ConfigError(ValueError):
    """A configuration problem, with a message that names the key and the file."""


@dataclass(frozen=True)
class ServerConfig:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    admin_port: int | None = None
    pass_view_types: bool = False
    # Listen beyond loopback although no [[auth.users]] are configured.
    allow_remote_without_auth: bool = False
    # On SIGTERM, how long running queries may finish before they are cancelled.
    shutdown_grace_s: float | int = DEFAULT_SHUTDOWN_GRACE_S


@dataclass(frozen=True)
class PathEntry:
    path: Path
    schema: str = DEFAULT_SCHEMA


@dataclass(frozen=True)
class TableEntry:
    name: str
    path: Path
    schema: str = DEFAULT_SCHEMA
    reference: Path | None = None
    zero_based: bool = False
    # GFF/GTF attributes promoted to their own columns.
    attributes: tuple[str, ...] = ()
    # BAM/SAM/CRAM tags as typed columns ("NM", "XS:i").
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class VepCache:
    name: str
    path: Path
    # VEP's --synonyms: a chromosome synonyms file instead of the cache's chr_synonyms.txt.
    synonyms: Path | None = None


@dataclass(frozen=True)
class User:
    name: str
    password_hash: str


@dataclass(frozen=True)
class AuthConfig:
    token_ttl_s: int = DEFAULT_TOKEN_TTL_S
    users: tuple[User, ...] = ()


@dataclass(frozen=True)
class TlsConfig:
    cert: Path
    key: Path
    client_ca: Path | None = None


@dataclass(frozen=True)
class LimitsConfig:
    memory_bytes: int | None = None
    query_timeout_s: float | int | None = None
    max_concurrent_queries: int | None = None
    max_result_rows: int | None = None
    max_result_bytes: int | None = None


@dataclass(frozen=True)
class Config:
    """The whole configuration. ``source`` is the config file it was read from, if any."""

    server: ServerConfig = field(default_factory=ServerConfig)
    paths: tuple[PathEntry, ...] = ()
    tables: tuple[TableEntry, ...] = ()
    vep_caches: tuple[VepCache, ...] = ()
    auth: AuthConfig = field(default_factory=AuthConfig)
    tls: TlsConfig | None = None
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    source: Path | None = None

    def with_overrides(
        self,
        *,
        paths: Iterable[str | Path] = (),
        host: str | None = None,
        port: int | None = None,
        admin_port: int | None = None,
        allow_remote_without_auth: bool | None = None,
        cwd: Path | None = None,
    ) -> Config:
        """Return a copy with command-line values applied; flags win over the file.

        ``paths`` are appended (schema ``public``) after the configured ones, skipping exact
        duplicates; relative ones resolve against ``cwd`` (default: the current directory).
        """
        base = cwd if cwd is not None else Path.cwd()
        server = self.server
        if host is not None:
            server = replace(server, host=_check_host(host, "--host", None))
        if port is not None:
            server = replace(server, port=_check_port(port, "--port", None, allow_zero=True))
        if admin_port is not None:
            server = replace(
                server, admin_port=_check_port(admin_port, "--admin-port", None, allow_zero=False)
            )
        if allow_remote_without_auth is not None:
            server = replace(server, allow_remote_without_auth=allow_remote_without_auth)
        merged = list(self.paths)
        for raw in paths:
            entry = PathEntry(path=_absolute(Path(raw), base))
            if entry not in merged:
                merged.append(entry)
        return replace(self, server=server, paths=tuple(merged))

    def check_paths(self) -> None:
        """Raise :class:`ConfigError` for the first configured path that does not exist."""
        for key, path in self._iter_paths():
            if not path.exists():
                raise ConfigError(
                    f"{key} = {str(path)!r}: no such file or directory{self._where()}"
                )

    def _iter_paths(self) -> Iterable[tuple[str, Path]]:
        for i, p in enumerate(self.paths):
            yield f"paths[{i}].path", p.path
        for i, t in enumerate(self.tables):
            yield f"tables[{i}].path", t.path
            if t.reference is not None:
                yield f"tables[{i}].reference", t.reference
        for i, v in enumerate(self.vep_caches):
            yield f"vep_caches[{i}].path", v.path
            if v.synonyms is not None:
                yield f"vep_caches[{i}].synonyms", v.synonyms
        if self.tls is not None:
            yield "tls.cert", self.tls.cert
            yield "tls.key", self.tls.key
            if self.tls.client_ca is not None:
                yield "tls.client_ca", self.tls.client_ca

    def _where(self) -> str:
        return f" (in {self.source})" if self.source is not None else " (given on the command line)"

    def to_native(self) -> dict[str, Any]:
        """The normalised configuration of docs/native-contract.md, as a dict."""

        def p(path: Path | None) -> str | None:
            return None if path is None else str(path)

        return {
            "server": {
                "host": self.server.host,
                "port": self.server.port,
                "admin_port": self.server.admin_port,
                "pass_view_types": self.server.pass_view_types,
                "allow_remote_without_auth": self.server.allow_remote_without_auth,
                "shutdown_grace_s": self.server.shutdown_grace_s,
            },
            "paths": [{"path": p(e.path), "schema": e.schema} for e in self.paths],
            "tables": [
                {
                    "name": t.name,
                    "path": p(t.path),
                    "schema": t.schema,
                    "reference": p(t.reference),
                    "zero_based": t.zero_based,
                    "attributes": list(t.attributes),
                    "tags": list(t.tags),
                }
                for t in self.tables
            ],
            "vep_caches": [
                {"name": v.name, "path": p(v.path)}
                | ({"synonyms": p(v.synonyms)} if v.synonyms is not None else {})
                for v in self.vep_caches
            ],
            "auth": {
                "token_ttl_s": self.auth.token_ttl_s,
                "users": [
                    {"name": u.name, "password_hash": u.password_hash} for u in self.auth.users
                ],
            },
            "tls": None
            if self.tls is None
            else {
                "cert": p(self.tls.cert),
                "key": p(self.tls.key),
                "client_ca": p(self.tls.client_ca),
            },
            "limits": {
                "memory_bytes": self.limits.memory_bytes,
                "query_timeout_s": self.limits.query_timeout_s,
                "max_concurrent_queries": self.limits.max_concurrent_queries,
                "max_result_rows": self.limits.max_result_rows,
                "max_result_bytes": self.limits.max_result_bytes,
            },
        }

    def to_native_json(self) -> str:
        """The ``config_json`` argument of ``genoflight._native.serve/query/tables``."""
        return json.dumps(self.to_native(), sort_keys=False)


# --------------------------------------------------------------------------------------------
# Loading


def load_config(path: str | Path) -> Config:
    """Read and validate a TOML config file. Raises :class:`ConfigError`."""
    file = Path(path).expanduser()
    try:
        file = file.resolve(strict=True)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror or e}") from None
    if file.is_dir():
        raise ConfigError(f"config file {file} is a directory; give the path of a .toml file")
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{file}: invalid TOML: {e}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{file}: not a UTF-8 text file") from None
    except OSError as e:
        raise ConfigError(f"cannot read config file {file}: {e.strerror or e}") from None
    return parse_config(data, source=file)


def parse_config(data: Mapping[str, Any], *, source: Path | None = None) -> Config:
    """Validate an already-parsed TOML document. Relative paths resolve against
    ``source.parent`` (or the current directory when there is no source file)."""
    return _Parser(source).config(data)


_T = TypeVar("_T")


class _Parser:
    def __init__(self, source: Path | None) -> None:
        self.source = source
        self.base = source.parent if source is not None else Path.cwd()

    # -- helpers ------------------------------------------------------------------------------

    def error(self, key: str, problem: str) -> ConfigError:
        where = f" in {self.source}" if self.source is not None else ""
        return ConfigError(f"config key `{key}`{where}: {problem}")

    def table(self, value: Any, key: str, allowed: Iterable[str]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.error(key, f"expected a table ([{key}]), got {_describe(value)}")
        allowed = tuple(allowed)
        for k in value:
            if k not in allowed:
                dotted = f"{key}.{k}" if key else k
                hint = _suggest(k, allowed)
                raise self.error(dotted, f"unknown key{hint}; allowed here: {', '.join(allowed)}")
        return value

    def array_of_tables(self, value: Any, key: str) -> list[Mapping[str, Any]]:
        if isinstance(value, Mapping):
            raise self.error(key, f"expected an array of tables ([[{key}]]), got a single table")
        if not isinstance(value, list):
            raise self.error(
                key, f"expected an array of tables ([[{key}]]), got {_describe(value)}"
            )
        return value

    def get(
        self,
        tbl: Mapping[str, Any],
        prefix: str,
        name: str,
        check: Callable[[Any, str], _T],
        default: _T,
    ) -> _T:
        if name not in tbl:
            return default
        return check(tbl[name], f"{prefix}.{name}")

    def require(
        self, tbl: Mapping[str, Any], prefix: str, name: str, check: Callable[[Any, str], _T]
    ) -> _T:
        if name not in tbl:
            raise self.error(f"{prefix}.{name}", "missing (this key is required)")
        return check(tbl[name], f"{prefix}.{name}")

    def string(self, value: Any, key: str) -> str:
        if not isinstance(value, str):
            raise self.error(key, f"expected a string, got {_describe(value)}")
        if not value.strip():
            raise self.error(key, "must not be empty")
        return value

    def names(self, value: Any, key: str) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.error(key, f"expected a list of names, got {_describe(value)}")
        names = tuple(self.string(v, f"{key}[{i}]") for i, v in enumerate(value))
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise self.error(key, f"{', '.join(duplicates)} listed more than once")
        return names

    def boolean(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {_describe(value)}")
        return value

    def positive_int(self, value: Any, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"expected an integer, got {_describe(value)}")
        if value <= 0:
            raise self.error(key, f"must be greater than 0, got {value}")
        return value

    def positive_seconds(self, value: Any, key: str) -> float | int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(key, f"expected a number of seconds, got {_describe(value)}")
        if not value > 0 or value == float("inf"):
            raise self.error(key, f"must be a finite number greater than 0, got {value}")
        return value

    def password_hash(self, value: Any, key: str) -> str:
        s = self.string(value, key)
        if not s.startswith("$argon2"):
            raise self.error(
                key,
                "expected an argon2 hash ($argon2id$...), made by `genoflight hash-password`; "
                "never a plain password",
            )
        return s

    def port(self, value: Any, key: str) -> int:
        return _check_port(value, key, self, allow_zero=True)

    def admin_port(self, value: Any, key: str) -> int:
        return _check_port(value, key, self, allow_zero=False)

    def host(self, value: Any, key: str) -> str:
        return _check_host(value, key, self)

    def schema(self, value: Any, key: str) -> str:
        s = self.string(value, key)
        if not _SCHEMA_NAME.match(s):
            raise self.error(
                key, f"{s!r} is not a valid schema name (letters, digits and _; no leading digit)"
            )
        return s

    def path(self, value: Any, key: str) -> Path:
        return _absolute(Path(self.string(value, key)), self.base)

    # -- sections -----------------------------------------------------------------------------

    def config(self, data: Mapping[str, Any]) -> Config:
        doc = self.table(
            data, "", ("server", "paths", "tables", "vep_caches", "auth", "tls", "limits")
        )
        return Config(
            server=self.server(doc["server"]) if "server" in doc else ServerConfig(),
            paths=self.paths(doc["paths"]) if "paths" in doc else (),
            tables=self.tables(doc["tables"]) if "tables" in doc else (),
            vep_caches=self.vep_caches(doc["vep_caches"]) if "vep_caches" in doc else (),
            auth=self.auth(doc["auth"]) if "auth" in doc else AuthConfig(),
            tls=self.tls(doc["tls"]) if "tls" in doc else None,
            limits=self.limits(doc["limits"]) if "limits" in doc else LimitsConfig(),
            source=self.source,
        )

    def server(self, value: Any) -> ServerConfig:
        k = "server"
        t = self.table(
            value,
            k,
            (
                "host",
                "port",
                "admin_port",
                "pass_view_types",
                "allow_remote_without_auth",
                "shutdown_grace_s",
            ),
        )
        return ServerConfig(
            host=self.get(t, k, "host", self.host, DEFAULT_HOST),
            port=self.get(t, k, "port", self.port, DEFAULT_PORT),
            admin_port=self.get(t, k, "admin_port", self.admin_port, None),
            pass_view_types=self.get(t, k, "pass_view_types", self.boolean, False),
            allow_remote_without_auth=self.get(
                t, k, "allow_remote_without_auth", self.boolean, False
            ),
            shutdown_grace_s=self.get(
                t, k, "shutdown_grace_s", self.positive_seconds, DEFAULT_SHUTDOWN_GRACE_S
            ),
        )

    def paths(self, value: Any) -> tuple[PathEntry, ...]:
        out = []
        for i, item in enumerate(self.array_of_tables(value, "paths")):
            k = f"paths[{i}]"
            t = self.table(item, k, ("path", "schema"))
            out.append(
                PathEntry(
                    path=self.require(t, k, "path", self.path),
                    schema=self.get(t, k, "schema", self.schema, DEFAULT_SCHEMA),
                )
            )
        return tuple(out)

    def tables(self, value: Any) -> tuple[TableEntry, ...]:
        out: list[TableEntry] = []
        seen: dict[tuple[str, str], int] = {}
        for i, item in enumerate(self.array_of_tables(value, "tables")):
            k = f"tables[{i}]"
            t = self.table(
                item, k, ("name", "path", "schema", "reference", "zero_based", "attributes", "tags")
            )
            entry = TableEntry(
                name=self.require(t, k, "name", self.string),
                path=self.require(t, k, "path", self.path),
                schema=self.get(t, k, "schema", self.schema, DEFAULT_SCHEMA),
                reference=self.get(t, k, "reference", self.path, None),
                zero_based=self.get(t, k, "zero_based", self.boolean, False),
                attributes=self.get(t, k, "attributes", self.names, ()),
                tags=self.get(t, k, "tags", self.names, ()),
            )
            ident = (entry.schema, entry.name)
            if ident in seen:
                raise self.error(
                    f"{k}.name",
                    f"table {entry.schema}.{entry.name} is already defined "
                    f"by tables[{seen[ident]}]",
                )
            seen[ident] = i
            out.append(entry)
        return tuple(out)

    def vep_caches(self, value: Any) -> tuple[VepCache, ...]:
        out: list[VepCache] = []
        names: dict[str, int] = {}
        for i, item in enumerate(self.array_of_tables(value, "vep_caches")):
            k = f"vep_caches[{i}]"
            t = self.table(item, k, ("name", "path", "synonyms"))
            cache = VepCache(
                name=self.require(t, k, "name", self.string),
                path=self.require(t, k, "path", self.path),
                synonyms=self.get(t, k, "synonyms", self.path, None),
            )
            if cache.name in names:
                raise self.error(
                    f"{k}.name",
                    f"VEP cache {cache.name!r} is already defined "
                    f"by vep_caches[{names[cache.name]}]",
                )
            names[cache.name] = i
            out.append(cache)
        return tuple(out)

    def auth(self, value: Any) -> AuthConfig:
        k = "auth"
        t = self.table(value, k, ("token_ttl_s", "users"))
        users: list[User] = []
        if "users" in t:
            for i, item in enumerate(self.array_of_tables(t["users"], "auth.users")):
                uk = f"auth.users[{i}]"
                u = self.table(item, uk, ("name", "password_hash"))
                user = User(
                    name=self.require(u, uk, "name", self.string),
                    password_hash=self.require(u, uk, "password_hash", self.password_hash),
                )
                if any(other.name == user.name for other in users):
                    raise self.error(f"{uk}.name", f"user {user.name!r} is defined twice")
                users.append(user)
        return AuthConfig(
            token_ttl_s=self.get(t, k, "token_ttl_s", self.positive_int, DEFAULT_TOKEN_TTL_S),
            users=tuple(users),
        )

    def tls(self, value: Any) -> TlsConfig:
        k = "tls"
        t = self.table(value, k, ("cert", "key", "client_ca"))
        return TlsConfig(
            cert=self.require(t, k, "cert", self.path),
            key=self.require(t, k, "key", self.path),
            client_ca=self.get(t, k, "client_ca", self.path, None),
        )

    def limits(self, value: Any) -> LimitsConfig:
        k = "limits"
        t = self.table(
            value,
            k,
            (
                "memory_bytes",
                "query_timeout_s",
                "max_concurrent_queries",
                "max_result_rows",
                "max_result_bytes",
            ),
        )
        return LimitsConfig(
            memory_bytes=self.get(t, k, "memory_bytes", self.positive_int, None),
            query_timeout_s=self.get(t, k, "query_timeout_s", self.positive_seconds, None),
            max_concurrent_queries=self.get(
                t, k, "max_concurrent_queries", self.positive_int, None
            ),
            max_result_rows=self.get(t, k, "max_result_rows", self.positive_int, None),
            max_result_bytes=self.get(t, k, "max_result_bytes", self.positive_int, None),
        )


# --------------------------------------------------------------------------------------------
# Shared checks (also used for command-line flags, where ``parser`` is None)


def _flag_error(key: str, problem: str, parser: _Parser | None) -> ConfigError:
    if parser is not None:
        return parser.error(key, problem)
    return ConfigError(f"{key}: {problem}")


def _check_port(value: Any, key: str, parser: _Parser | None, *, allow_zero: bool) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _flag_error(key, f"expected a port number, got {_describe(value)}", parser)
    low = 0 if allow_zero else 1
    if not low <= value <= 65535:
        raise _flag_error(key, f"port must be between {low} and 65535, got {value}", parser)
    return value


def _check_host(value: Any, key: str, parser: _Parser | None) -> str:
    if not isinstance(value, str):
        raise _flag_error(
            key, f"expected a host name or IP address, got {_describe(value)}", parser
        )
    host = value.strip()
    if not host or any(c.isspace() for c in host) or "/" in host:
        raise _flag_error(key, f"{value!r} is not a host name or IP address", parser)
    return host


def _absolute(path: Path, base: Path) -> Path:
    path = path.expanduser()
    if not path.is_absolute():
        path = base / path
    # Normalise "..", but keep symlinks as the user wrote them (resolve() would follow them).
    return Path(os.path.normpath(path))


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a float ({value})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def _suggest(key: str, allowed: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6)
    return f" (did you mean `{close[0]}`?)" if close else ""
