"""``genoflight annotate IN.vcf --cache DIR [-o OUT]``: Ensembl VEP's consequences for a VCF.

The output format follows ``-o``'s name, as Ensembl VEP writes it: ``.vcf`` / ``.vcf.gz``
(``--vcf``: every record with a ``CSQ`` INFO field; ``.vcf.gz`` is BGZF with a tabix index),
``.txt`` / ``.tsv`` (``--tab``), ``.parquet`` (the ``annotate_vep`` table). Without ``-o`` the
VCF (or, with ``--format tab``, the tab format) goes to standard output. The work is the native
module's ``annotate`` (docs/native-contract.md); this module checks the arguments and reports.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from genoflight.config import Config, TableEntry, VepCache

__all__ = ["AnnotateSummary", "add_arguments", "annotate", "output_format", "vep_options"]

# The names the cache and the FASTA are served under for the run (annotate_vep's arguments).
CACHE_NAME = "annotate_cache"
FASTA_TABLE = "annotate_fasta"

SUFFIXES = {
    ".vcf.gz": "vcf.gz",
    ".vcf.bgz": "vcf.gz",
    ".vcf": "vcf",
    ".txt": "tab",
    ".tsv": "tab",
    ".parquet": "parquet",
}


def output_format(output: Path | None, requested: str | None) -> str:
    """The native format name for ``output`` (``None``: standard output)."""
    if output is None:
        if requested in (None, "vcf"):
            return "vcf"
        if requested == "tab":
            return "tab"
        raise ValueError(f"--format {requested}: standard output takes vcf or tab; give -o FILE")
    name = output.name.lower()
    for suffix, fmt in SUFFIXES.items():
        if name.endswith(suffix):
            if requested is not None and requested != fmt.removesuffix(".gz"):
                raise ValueError(f"-o {output}: the name says {fmt}, --format says {requested}")
            return fmt
    known = ", ".join(SUFFIXES)
    raise ValueError(f"-o {output}: unknown output type (name it {known})")


def _usage_error(message: str) -> NoReturn:
    # The command's errors are one ``genoflight: error:`` line, argparse's too.
    print(
        f"genoflight: error: annotate: {message} (see genoflight annotate --help)", file=sys.stderr
    )
    raise SystemExit(2)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.error = _usage_error  # type: ignore[method-assign]
    p.add_argument("input", metavar="IN.vcf", help="the VCF to annotate (.vcf, .vcf.gz)")
    p.add_argument(
        "--cache",
        metavar="DIR",
        required=True,
        help="Ensembl VEP cache: its <version>_<assembly> directory (or the species directory "
        "holding one), as [[vep_caches]] path",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="OUT.vcf.gz | OUT.vcf | OUT.txt | OUT.tsv | OUT.parquet (default: VCF on stdout)",
    )
    p.add_argument(
        "--format",
        choices=("vcf", "tab", "parquet"),
        help="the output format when -o does not say it (standard output: vcf or tab)",
    )
    p.add_argument("--everything", action="store_true", help="VEP's --everything")
    p.add_argument("--pick", action="store_true", help="one row per variant (VEP's --pick)")
    p.add_argument("--per-gene", action="store_true", help="one row per gene (VEP's --per_gene)")
    p.add_argument("--canonical-only", action="store_true", help="canonical transcripts only")
    p.add_argument(
        "--distance",
        metavar="N",
        type=int,
        help="up/downstream distance in bases (VEP's --distance; default 5000)",
    )
    p.add_argument(
        "--check-existing",
        action="store_true",
        help="co-located known variants (VEP's --check_existing; on with --everything)",
    )
    p.add_argument(
        "--regulatory",
        action="store_true",
        help="regulatory and motif features (VEP's --regulatory; on with --everything)",
    )
    p.add_argument(
        "--fasta", metavar="FA", help="reference FASTA (HGVS notations, as VEP's --fasta)"
    )
    p.add_argument(
        "--synonyms",
        metavar="FILE",
        help="chromosome synonyms (VEP's --synonyms; default: the cache's chr_synonyms.txt)",
    )


def vep_options(args: argparse.Namespace) -> list[str]:
    """annotate_vep's ``name=value`` options for the command's flags."""
    options: list[str] = []
    flags = {
        "everything": args.everything,
        "pick": args.pick,
        "per_gene": args.per_gene,
        "canonical_only": args.canonical_only,
        "check_existing": args.check_existing,
        "regulatory": args.regulatory,
    }
    options.extend(f"{name}=true" for name, on in flags.items() if on)
    if args.distance is not None:
        options.append(f"distance={args.distance}")
    if args.fasta is not None:
        options.append(f"fasta={FASTA_TABLE}")
    return options


@dataclass(frozen=True)
class AnnotateSummary:
    """What the native annotate reports."""

    records: int
    written: int
    annotated: int
    rows: int
    skipped_chromosomes: dict[str, int]
    warnings: list[str]

    @classmethod
    def from_json(cls, text: str) -> AnnotateSummary:
        d: dict[str, Any] = json.loads(text)
        return cls(
            records=int(d["records"]),
            written=int(d["written"]),
            annotated=int(d["annotated"]),
            rows=int(d["rows"]),
            skipped_chromosomes={str(k): int(v) for k, v in d["skipped_chromosomes"].items()},
            warnings=[str(w) for w in d["warnings"]],
        )

    def describe(self, output: Path | None, fmt: str) -> str:
        where = "standard output" if output is None else str(output)
        if fmt in ("vcf", "vcf.gz"):
            what = f"{self.written} records ({self.annotated} with CSQ)"
        else:
            what = f"{self.written} rows"
        return f"annotated {self.records} records: wrote {what} to {where}"

    def skipped_note(self) -> str | None:
        if not self.skipped_chromosomes:
            return None
        chroms = ", ".join(f"{c} ({n})" for c, n in self.skipped_chromosomes.items())
        return (
            f"records on chromosomes the cache does not hold were left out, as Ensembl VEP "
            f"leaves them out: {chroms}"
        )


def command_line(args: argparse.Namespace, options: Sequence[str]) -> str:
    """The run as a command, for the output's header (VEP writes its command line there)."""
    words = ["genoflight", "annotate", args.input, "--cache", args.cache]
    if args.synonyms:
        words += ["--synonyms", args.synonyms]
    if args.output:
        words += ["-o", args.output]
    if args.format:
        words += ["--format", args.format]
    for option in options:
        name, _, value = option.partition("=")
        flag = "--" + name.replace("_", "-")
        if name == "fasta":
            words += [flag, args.fasta]
        else:
            words += [flag] if value == "true" else [flag, value]
    return " ".join(shlex.quote(w) for w in words)


def annotate(native: Any, args: argparse.Namespace) -> tuple[AnnotateSummary, Path | None, str]:
    """Runs the command; ValueError (one line) on bad arguments or input."""
    source = Path(args.input).expanduser()
    if not source.is_file():
        raise ValueError(f"{args.input}: no such file")
    cache = Path(args.cache).expanduser()
    if not cache.is_dir():
        raise ValueError(f"--cache {args.cache}: no such directory")
    output = Path(args.output).expanduser() if args.output else None
    fmt = output_format(output, args.format)
    if output is not None and not output.resolve().parent.is_dir():
        raise ValueError(f"-o {args.output}: directory {output.parent} does not exist")
    if output is not None and output.resolve() == source.resolve():
        raise ValueError(f"-o {args.output}: is the input file")
    options = vep_options(args)
    tables: tuple[TableEntry, ...] = ()
    if args.fasta is not None:
        fasta = Path(args.fasta).expanduser()
        if not fasta.is_file():
            raise ValueError(f"--fasta {args.fasta}: no such file")
        tables = (TableEntry(name=FASTA_TABLE, path=fasta.resolve()),)
    synonyms = None
    if args.synonyms is not None:
        synonyms = Path(args.synonyms).expanduser()
        if not synonyms.is_file():
            raise ValueError(f"--synonyms {args.synonyms}: no such file")
        synonyms = synonyms.resolve()
    served = VepCache(name=CACHE_NAME, path=cache.resolve(), synonyms=synonyms)
    config = Config(tables=tables, vep_caches=(served,))
    command = command_line(args, options)
    report = native.annotate(
        config.to_native_json(),
        str(source),
        CACHE_NAME,
        "" if output is None else str(output),
        fmt,
        options,
        command,
    )
    return AnnotateSummary.from_json(report), output, fmt
