"""The ``genoflight`` command: ``serve``, ``sql``, ``tables``, ``hash-password`` and ``fetch``.

Every expected failure (bad config, missing path, bad SQL, native module not built) is one line
on stderr starting with ``genoflight: error:`` and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from genoflight.config import DEFAULT_HOST, DEFAULT_PORT, Config, ConfigError, load_config
from genoflight.native import NativeModuleMissing, load_native

__all__ = ["main"]

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """An error to show as ``genoflight: error: <message>`` (exit status 2)."""


def main(argv: Sequence[str] | None = None) -> int:
    parser, commands = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in commands:
        # Options may come after PATHs: `genoflight sql "SELECT ..." data/ --output x.parquet`.
        args = commands[argv[0]].parse_intermixed_args(argv[1:])
    else:
        args = parser.parse_args(argv)
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except (CliError, ConfigError, NativeModuleMissing) as e:
        return _fail(str(e))
    except (ValueError, RuntimeError) as e:  # raised by genoflight._native with its message
        return _fail(str(e))
    except OSError as e:
        where = f": {e.filename}" if e.filename else ""
        return _fail(f"{e.strerror or e}{where}")


# --------------------------------------------------------------------------------------------
# Commands


def _serve_config(args: argparse.Namespace) -> Config:
    config = _config(
        args,
        host=args.host,
        port=args.port,
        admin_port=args.admin_port,
        allow_remote_without_auth=True if args.allow_remote_without_auth else None,
    )
    if not config.paths and not config.tables and not config.vep_caches:
        raise CliError(
            "nothing to serve: give file or directory PATHs, a --config FILE with [[paths]] "
            "or [[tables]], or --demo"
        )
    return config


def _cmd_serve(args: argparse.Namespace) -> int:
    config = _serve_config(args)
    native = load_native()
    config_json = config.to_native_json()
    native.check_exposure(config_json)  # before the admin port binds too

    def reload_config() -> str:
        # SIGHUP and POST /api/reload: the config file and PATHs as they are now.
        return _serve_config(args).to_native_json()

    if config.server.admin_port is not None:
        from genoflight.admin import bind, start_admin

        sock = bind(config.server.host, config.server.admin_port)
        start_admin(native, sock, reload_config)
        host, port = sock.getsockname()[:2]
        _note(f"admin API on http://{host}:{port}")
    native.serve(config_json, reload_config)
    return 0


def _cmd_hash_password(args: argparse.Namespace) -> int:
    if sys.stdin.isatty():
        import getpass

        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise CliError("the passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise CliError("the password is empty (give it on standard input)")
    print(load_native().hash_password(password))
    return 0


def _cmd_sql(args: argparse.Namespace) -> int:
    fmt_target: Path | None = None
    if args.output is not None:
        from genoflight.output import output_format

        try:
            output_format(args.output)  # fail before running the query
        except ValueError as e:
            raise CliError(str(e)) from None
        fmt_target = Path(args.output)
        if not fmt_target.parent.is_dir():
            raise CliError(f"--output {args.output}: directory {fmt_target.parent} does not exist")
    if not args.query.strip():
        raise CliError("the SQL query is empty")
    config = _config(args)
    native = load_native()
    table = _read_ipc(native.query(config.to_native_json(), args.query))
    if fmt_target is not None:
        from genoflight.output import write_table

        try:
            write_table(table, fmt_target)
        except ValueError as e:
            raise CliError(str(e)) from None
        _note(f"wrote {table.num_rows} rows to {fmt_target}")
        return 0
    from genoflight.output import format_table

    print(format_table(table, max_rows=args.max_rows))
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from genoflight.export import export, export_format

    out = Path(args.output)
    try:
        export_format(out)  # fail before building the catalog
    except ValueError as e:
        raise CliError(str(e)) from None
    if not out.parent.is_dir():
        raise CliError(f"-o {args.output}: directory {out.parent} does not exist")
    if not args.query.strip():
        raise CliError("the SQL query is empty")
    config = _config(args)
    summary = export(load_native(), config.to_native_json(), args.query, out)
    _note(summary.describe(out))
    return 0


def _cmd_annotate(args: argparse.Namespace) -> int:
    from genoflight.annotate import annotate

    summary, output, fmt = annotate(load_native(), args)
    for warning in summary.warnings:
        _warn(warning)
    skipped = summary.skipped_note()
    if skipped is not None:
        _warn(skipped)
    _note(summary.describe(output, fmt))
    return 0


def _cmd_tables(args: argparse.Namespace) -> int:
    config = _config(args)
    native = load_native()
    listing = json.loads(native.tables(config.to_native_json()))
    for warning in listing.get("warnings", []):
        _warn(str(warning))
    if args.json:
        json.dump(listing, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    _print_tables(listing.get("tables", []), sys.stdout)
    return 0


def _cmd_build_cache(args: argparse.Namespace) -> int:
    from genoflight.build_cache import ProgressBar, build_cache, summary

    bar = ProgressBar(sys.stderr, enabled=ProgressBar.wanted(sys.stderr) and not args.quiet)
    report = build_cache(args.cache_dir, args.out_dir, bar)
    print(summary(report))
    return 0


def _print_tables(tables: list[dict[str, Any]], out: TextIO) -> None:
    if not tables:
        out.write("(no tables)\n")
        return
    for i, t in enumerate(tables):
        if i:
            out.write("\n")
        out.write(f"{t['schema']}.{t['name']}  ({t.get('format', '?')})  {t.get('path', '')}\n")
        columns = t.get("columns", [])
        name_w = max((len(c["name"]) for c in columns), default=0)
        type_w = min(max((len(str(c["type"])) for c in columns), default=0), 24)
        for c in columns:
            null = "" if c.get("nullable", True) else "not null"
            desc = c.get("description") or ""
            line = f"    {c['name']:<{name_w}}  {c['type']!s:<{type_w}}  {null:<8}  {desc}"
            out.write(line.rstrip() + "\n")


# --------------------------------------------------------------------------------------------
# Helpers


def _config(
    args: argparse.Namespace,
    *,
    host: str | None = None,
    port: int | None = None,
    admin_port: int | None = None,
    allow_remote_without_auth: bool | None = None,
) -> Config:
    config = load_config(args.config) if args.config is not None else Config()
    paths: list[Path] = []
    for raw in args.paths:
        path = Path(raw).expanduser()
        if not path.exists():
            raise CliError(f"path does not exist: {raw}")
        paths.append(path)
    if args.demo:
        from genoflight.demo import ensure_demo

        paths.append(ensure_demo(log=_note))
    config = config.with_overrides(
        paths=paths,
        host=host,
        port=port,
        admin_port=admin_port,
        allow_remote_without_auth=allow_remote_without_auth,
    )
    config.check_paths()
    return config


def _read_ipc(data: bytes) -> Any:
    import pyarrow as pa

    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()


def _one_line(message: str) -> str:
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return " ".join(lines) if lines else "unknown error"


def _fail(message: str) -> int:
    print(f"genoflight: error: {_one_line(message)}", file=sys.stderr)
    return EXIT_ERROR


def _warn(message: str) -> None:
    print(f"genoflight: warning: {_one_line(message)}", file=sys.stderr)


def _note(message: str) -> None:
    print(f"genoflight: {message}", file=sys.stderr)


def _version() -> str:
    import genoflight

    return str(genoflight.__version__)


class _VersionAction(argparse.Action):
    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> NoReturn:
        print(f"genoflight {_version()}")
        parser.exit()


def _parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = argparse.ArgumentParser(
        prog="genoflight",
        description="Arrow Flight SQL server for genomic data (VCF, Parquet, CSV, ...).",
    )
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def catalog_args(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "paths",
            nargs="*",
            metavar="PATH",
            help="files or directories to serve as tables (schema 'public')",
        )
        p.add_argument("--config", metavar="FILE", help="TOML configuration file")
        p.add_argument(
            "--demo",
            action="store_true",
            help="also serve the demo dataset (generated once into a cache directory)",
        )

    serve = sub.add_parser(
        "serve",
        help="run the Flight SQL server",
        description="Serve PATHs (and/or a config's paths and tables) over Arrow Flight SQL.",
    )
    catalog_args(serve)
    serve.add_argument("--host", metavar="H", help=f"address to listen on (default {DEFAULT_HOST})")
    serve.add_argument(
        "--port", metavar="P", type=int, help=f"Flight SQL port (default {DEFAULT_PORT}; 0 = any)"
    )
    serve.add_argument(
        "--admin-port", metavar="A", type=int, help="HTTP admin API port (off by default)"
    )
    serve.add_argument(
        "--allow-remote-without-auth",
        action="store_true",
        help="listen on a non-loopback address although no [[auth.users]] are configured",
    )
    serve.set_defaults(handler=_cmd_serve)

    sql = sub.add_parser(
        "sql",
        help="run one SQL query in-process and print or save the result",
        description="Run one SQL query against PATHs without a server.",
    )
    sql.add_argument("query", metavar="SQL", help='the query, e.g. "SELECT count(*) FROM t"')
    catalog_args(sql)
    sql.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the result to FILE (.parquet, .csv or .arrow) instead of printing it",
    )
    sql.add_argument(
        "--max-rows",
        metavar="N",
        type=int,
        default=100,
        help="rows to print (default 100; -1 prints all)",
    )
    sql.set_defaults(handler=_cmd_sql)

    export = sub.add_parser(
        "export",
        help="run one SQL query in-process and write the result as a genomic file",
        description="Run one SQL query against PATHs and write the result as VCF (.vcf.gz + "
        ".tbi), BAM (+ .bai), FASTQ (.fastq.gz), BED (.bed.gz + .tbi) or Parquet, reusing the "
        "source file's header.",
    )
    export.add_argument("query", metavar="SQL", help='the query, e.g. "SELECT * FROM sample"')
    catalog_args(export)
    export.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        required=True,
        help="file to write: .vcf.gz, .bam, .fastq.gz, .bed.gz or .parquet (overwritten)",
    )
    export.set_defaults(handler=_cmd_export)

    annotate = sub.add_parser(
        "annotate",
        help="annotate a VCF with Ensembl VEP's consequences from a VEP cache",
        description="Annotate IN.vcf against an Ensembl VEP cache and write it as VEP 115 "
        "does: VCF with the CSQ INFO field (.vcf, .vcf.gz + .tbi), VEP's tab format (.txt, "
        ".tsv), or the annotate_vep table (.parquet).",
    )
    from genoflight.annotate import add_arguments as add_annotate_arguments

    add_annotate_arguments(annotate)
    annotate.set_defaults(handler=_cmd_annotate)

    tables = sub.add_parser(
        "tables",
        help="list the tables PATHs would be served as, with their columns",
        description="List the tables that would be registered, with column names and types.",
    )
    catalog_args(tables)
    tables.add_argument("--json", action="store_true", help="print the listing as JSON")
    tables.set_defaults(handler=_cmd_tables)

    hash_password = sub.add_parser(
        "hash-password",
        help="print an argon2 hash of a password for [[auth.users]] password_hash",
        description="Read a password from standard input (prompted twice on a terminal) and "
        "print its argon2id hash, for password_hash in [[auth.users]].",
    )
    hash_password.set_defaults(handler=_cmd_hash_password)

    from genoflight.fetch.command import add_parser as add_fetch_parser

    fetch = add_fetch_parser(sub)
    build_cache = sub.add_parser(
        "build-cache",
        help="convert an Ensembl VEP cache to Parquet once (faster annotate_vep)",
        description="Convert the VEP cache CACHE_DIR (<species>/<version>_<assembly>) to sorted "
        "Parquet in OUT_DIR, served like the cache itself (same tables; annotate_vep gives the "
        "same rows, faster). A rerun skips what is complete and verified, so an interrupted "
        "build resumes.",
    )
    build_cache.add_argument("cache_dir", metavar="CACHE_DIR", help="the VEP cache directory")
    build_cache.add_argument(
        "out_dir", metavar="OUT_DIR", help="where to write the converted cache (new or previous)"
    )
    build_cache.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar, only the summary"
    )
    build_cache.set_defaults(handler=_cmd_build_cache)
    return parser, {
        "serve": serve,
        "sql": sql,
        "export": export,
        "annotate": annotate,
        "tables": tables,
        "hash-password": hash_password,
        "build-cache": build_cache,
        "fetch": fetch,
    }
