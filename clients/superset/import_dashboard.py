#!/usr/bin/env python3
"""Import the genoflight dashboard (``clients/superset/dashboard/``) into a running Apache
Superset, with its database pointed at a genoflight server.

    python clients/superset/import_dashboard.py --superset http://127.0.0.1:8088 \\
        --genoflight grpc://127.0.0.1:50051 --vcf-table cohort [--bam-table sample]

The dashboard's datasets are SQL over genoflight tables; the table names are filled in here
(defaults: the ``genoflight serve --demo`` catalog). ``--bam-table`` makes the coverage chart
``depth('<bam table>')``; without it (the demo has no alignments) the chart summarises the
genotypes' FORMAT/DP instead. Superset's REST API does the import: login, CSRF token,
``POST /api/v1/dashboard/import/`` (the genoflight password, if any, goes in its ``passwords``
field, never in the bundle), then each chart's saved query context is pointed at the imported
dataset so that ``GET /api/v1/chart/<id>/data`` answers.

Standard library only: it runs in any Python 3.11 environment.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path
from string import Template
from typing import Any

BUNDLE_DIR = Path(__file__).resolve().parent / "dashboard"
DATABASE_FILE = "databases/genoflight.yaml"
DASHBOARD_SLUG = "genoflight"


# --------------------------------------------------------------------------------------------
# What the datasets select


@dataclass(frozen=True)
class Target:
    """Which genoflight tables the dashboard reads."""

    sqlalchemy_uri: str
    schema: str = "public"
    vcf_table: str = "cohort"
    genotypes_table: str | None = None  # default: <vcf_table>_genotypes
    bam_table: str | None = None
    qual_bin_width: float = 50.0


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def table_ref(schema: str, table: str) -> str:
    return f"{quote_ident(schema)}.{quote_ident(table)}"


def depth_table_arg(schema: str, table: str) -> str:
    """depth()'s first argument: the table name, schema-qualified unless it is ``public``."""
    return quote_literal(table if schema == "public" else f"{schema}.{table}")


def dataset_sql(target: Target) -> dict[str, str]:
    """The SQL of each dataset, by dataset name (``table_name`` in the bundle)."""
    if not target.qual_bin_width > 0:
        raise ValueError(f"--qual-bin-width must be positive, not {target.qual_bin_width}")
    variants = table_ref(target.schema, target.vcf_table)
    width = repr(float(target.qual_bin_width))
    if target.bam_table:
        # depth() blocks are 1-based closed on a default (not zero_based) table: a block
        # covers "end" - start + 1 positions of equal depth.
        length = '("end" - start + 1)'
        coverage = (
            f"SELECT chrom,\n"
            f"       sum({length}) AS positions,\n"
            f"       sum({length} * depth) AS total_depth,\n"
            f"       round(sum({length} * depth) * 1.0 / sum({length}), 2) AS mean_depth,\n"
            f"       max(depth) AS max_depth\n"
            f"FROM depth({depth_table_arg(target.schema, target.bam_table)})\n"
            f"GROUP BY chrom"
        )
    else:
        genotypes = table_ref(
            target.schema, target.genotypes_table or f"{target.vcf_table}_genotypes"
        )
        coverage = (
            "SELECT chrom,\n"
            "       count(dp) AS positions,\n"
            "       sum(dp) AS total_depth,\n"
            "       round(avg(dp), 2) AS mean_depth,\n"
            "       max(dp) AS max_depth\n"
            f"FROM {genotypes}\n"
            "GROUP BY chrom"
        )
    return {
        "genoflight_variants": f"SELECT chrom, start, qual, filter FROM {variants}",
        "genoflight_qual_histogram": (
            f"SELECT floor(qual / {width}) * {width} AS qual_bin, count(*) AS variants\n"
            f"FROM {variants}\n"
            "WHERE qual IS NOT NULL\n"
            f"GROUP BY floor(qual / {width}) * {width}"
        ),
        "genoflight_coverage": coverage,
    }


def coverage_title(target: Target) -> str:
    if target.bam_table:
        return f"Read depth: depth('{target.bam_table}')"
    genotypes = target.genotypes_table or f"{target.vcf_table}_genotypes"
    return f"Depth at variant sites: FORMAT/DP of {genotypes}"


def sqlalchemy_uri(genoflight_uri: str, user: str | None = None) -> str:
    """flightsql-dbapi's SQLAlchemy URI for a genoflight Flight SQL address.

    ``grpc://host:port`` is plaintext (``insecure=true``), ``grpc+tls://host:port`` is TLS;
    a ``datafusion://`` URI is used as given. The dialect is registered by flightsql-dbapi's
    entry point under ``datafusion`` (``datafusion+flightsql`` needs an import first)."""
    parsed = urllib.parse.urlsplit(genoflight_uri)
    if parsed.scheme.startswith("datafusion"):
        return genoflight_uri
    if parsed.scheme not in ("grpc", "grpc+tcp", "grpc+tls") or not parsed.hostname:
        raise ValueError(
            f"--genoflight {genoflight_uri!r}: expected grpc://HOST:PORT, grpc+tls://HOST:PORT "
            "or a datafusion:// SQLAlchemy URI"
        )
    host = parsed.hostname if ":" not in parsed.hostname else f"[{parsed.hostname}]"
    netloc = f"{host}:{parsed.port or 50051}"
    if user:
        netloc = f"{urllib.parse.quote(user, safe='')}@{netloc}"
    query = "" if parsed.scheme == "grpc+tls" else "?insecure=true"
    return f"datafusion://{netloc}{query}"


# --------------------------------------------------------------------------------------------
# The bundle


def _indented(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "\n".join(pad + line if line else line for line in text.splitlines()).lstrip()


#: Superset's import endpoints, bottom up: the asset type metadata.yaml must name, the endpoint,
#: and the bundle folders it reads. A dashboard import alone never overwrites the database,
#: datasets and charts it contains (only the dashboard), so re-pointing an existing import at
#: another server or tables takes one import per level, each with overwrite=true.
LEVELS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Database", "database", ("databases",)),
    ("SqlaTable", "dataset", ("databases", "datasets")),
    ("Slice", "chart", ("databases", "datasets", "charts")),
    ("Dashboard", "dashboard", ("databases", "datasets", "charts", "dashboards")),
)


def render_bundle(
    target: Target, asset_type: str = "Dashboard", bundle_dir: Path = BUNDLE_DIR
) -> bytes:
    """An import ZIP of ``bundle_dir``'s YAML files under one top folder, with the ``${...}``
    placeholders filled in (SQL as YAML block scalars, so no quoting is needed): the whole
    dashboard, or the levels below it for ``asset_type`` Database, SqlaTable or Slice."""
    folders = next((f for t, _, f in LEVELS if t == asset_type), None)
    if folders is None:
        raise ValueError(f"unknown asset type {asset_type!r}")
    values = {
        "sqlalchemy_uri": json.dumps(target.sqlalchemy_uri),
        "coverage_title": json.dumps(coverage_title(target)),
    }
    for name, sql in dataset_sql(target).items():
        values[f"{name}_sql"] = _indented(sql, 2)
    metadata = bundle_dir / "metadata.yaml"
    if not metadata.is_file():
        raise FileNotFoundError(f"{bundle_dir} holds no metadata.yaml: not a Superset export")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        meta = metadata.read_text(encoding="utf-8").replace(
            "type: Dashboard", f"type: {asset_type}"
        )
        zf.writestr("genoflight_dashboard/metadata.yaml", meta)
        for folder in folders:
            for path in sorted((bundle_dir / folder).rglob("*.yaml")):
                text = Template(path.read_text(encoding="utf-8")).substitute(values)
                zf.writestr(f"genoflight_dashboard/{path.relative_to(bundle_dir)}", text)
    return out.getvalue()


# --------------------------------------------------------------------------------------------
# Superset's REST API


class SupersetError(RuntimeError):
    pass


class Superset:
    """A logged-in session: bearer token, plus the session cookie the CSRF token belongs to."""

    def __init__(self, base_url: str, username: str, password: str, timeout: float = 120.0):
        self.base = base_url.rstrip("/")
        self.timeout = timeout
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        login = self.request(
            "POST",
            "/api/v1/security/login",
            json_body={"username": username, "password": password, "provider": "db"},
        )
        self.headers = {"Authorization": f"Bearer {login['access_token']}"}
        csrf = self.request("GET", "/api/v1/security/csrf_token/")["result"]
        # Flask-WTF checks the Referer on HTTPS; harmless on HTTP.
        self.headers.update({"X-CSRFToken": csrf, "Referer": self.base + "/"})

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        body: bytes | None = None,
        content_type: str | None = None,
    ) -> Any:
        headers = dict(getattr(self, "headers", {}))
        if json_body is not None:
            body = json.dumps(json_body).encode()
            content_type = "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        try:
            with self.opener.open(req, timeout=self.timeout) as r:
                payload = r.read()
        except urllib.error.HTTPError as e:
            detail = e.read().decode("utf-8", "replace")[:2000]
            raise SupersetError(f"{method} {path}: HTTP {e.code}: {detail}") from e
        except urllib.error.URLError as e:
            raise SupersetError(
                f"{method} {path}: cannot reach Superset at {self.base} ({e.reason}); "
                "is it running (superset run / gunicorn) and is --superset right?"
            ) from e
        return json.loads(payload) if payload else None

    def import_bundle(self, resource: str, bundle: bytes, passwords: Mapping[str, str]) -> None:
        """``POST /api/v1/<resource>/import/`` with overwrite: the bundle replaces what has
        the same UUIDs."""
        fields = {"passwords": json.dumps(dict(passwords)), "overwrite": "true"}
        body, content_type = multipart(fields, "formData", "genoflight_dashboard.zip", bundle)
        self.request("POST", f"/api/v1/{resource}/import/", body=body, content_type=content_type)


def import_all(superset: Superset, target: Target, passwords: Mapping[str, str]) -> None:
    for asset_type, resource, _ in LEVELS:
        superset.import_bundle(resource, render_bundle(target, asset_type), passwords)


def multipart(
    fields: Mapping[str, str], file_field: str, filename: str, data: bytes
) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n".encode()
        )
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
        f'filename="{filename}"\r\nContent-Type: application/zip\r\n\r\n'.encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def repoint_query_contexts(superset: Superset, slug: str = DASHBOARD_SLUG) -> dict[str, int]:
    """Point each chart's saved query context at its dataset in this Superset (an export
    carries the dataset ids of the instance it came from). Returns chart ids by name."""
    charts = superset.request("GET", f"/api/v1/dashboard/{slug}/charts")["result"]
    ids: dict[str, int] = {}
    for chart in charts:
        chart_id = int(chart["id"])
        detail = superset.request("GET", f"/api/v1/chart/{chart_id}")["result"]
        dataset_id = int(str(chart["form_data"]["datasource"]).split("__")[0])
        context = json.loads(detail.get("query_context") or "null")
        if context is None:
            raise SupersetError(
                f"chart {detail['slice_name']!r} was imported without a query context"
            )
        context["datasource"] = {"id": dataset_id, "type": "table"}
        context["form_data"] = {
            **json.loads(detail["params"]),
            "datasource": f"{dataset_id}__table",
        }
        superset.request(
            "PUT",
            f"/api/v1/chart/{chart_id}",
            json_body={"query_context": json.dumps(context), "query_context_generation": True},
        )
        ids[detail["slice_name"]] = chart_id
    return ids


# --------------------------------------------------------------------------------------------
# Command line


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--superset", default="http://127.0.0.1:8088", help="Superset's base URL")
    p.add_argument("--username", default="admin", help="Superset user (an admin)")
    p.add_argument(
        "--password-env",
        default="SUPERSET_PASSWORD",
        help="environment variable holding the Superset password (default SUPERSET_PASSWORD;"
        " 'admin' if unset)",
    )
    p.add_argument(
        "--genoflight",
        default="grpc://127.0.0.1:50051",
        help="genoflight's Flight SQL address as Superset reaches it (grpc://HOST:PORT,"
        " grpc+tls://HOST:PORT) or a datafusion:// SQLAlchemy URI",
    )
    p.add_argument("--genoflight-user", help="genoflight user, when the server has [auth]")
    p.add_argument(
        "--genoflight-password-env",
        default="GENOFLIGHT_PASSWORD",
        help="environment variable holding that user's password",
    )
    p.add_argument("--schema", default="public")
    p.add_argument("--vcf-table", default="cohort", help="VCF table (default: the demo's)")
    p.add_argument("--genotypes-table", help="its genotypes table (default <vcf-table>_genotypes)")
    p.add_argument("--bam-table", help="BAM/SAM/CRAM table for the depth() coverage chart")
    p.add_argument("--qual-bin-width", type=float, default=50.0)
    p.add_argument("--write-zip", type=Path, help="only write the import ZIP here")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        target = Target(
            sqlalchemy_uri=sqlalchemy_uri(args.genoflight, args.genoflight_user),
            schema=args.schema,
            vcf_table=args.vcf_table,
            genotypes_table=args.genotypes_table,
            bam_table=args.bam_table,
            qual_bin_width=args.qual_bin_width,
        )
        bundle = render_bundle(target)
    except (ValueError, KeyError, FileNotFoundError) as e:
        print(f"import_dashboard: {e}", file=sys.stderr)
        return 2
    if args.write_zip:
        args.write_zip.write_bytes(bundle)
        print(f"wrote {args.write_zip}")
        return 0
    passwords = {}
    if args.genoflight_user:
        secret = os.environ.get(args.genoflight_password_env)
        if secret is None:
            print(
                f"import_dashboard: set {args.genoflight_password_env} to the password of"
                f" {args.genoflight_user!r}",
                file=sys.stderr,
            )
            return 2
        passwords[DATABASE_FILE] = secret
    try:
        superset = Superset(
            args.superset, args.username, os.environ.get(args.password_env, "admin")
        )
        import_all(superset, target, passwords)
        charts = repoint_query_contexts(superset)
    except SupersetError as e:
        print(f"import_dashboard: {e}", file=sys.stderr)
        return 1
    print(
        json.dumps(
            {
                "dashboard": f"{args.superset.rstrip('/')}/superset/dashboard/{DASHBOARD_SLUG}/",
                "charts": charts,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
