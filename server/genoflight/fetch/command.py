"""The ``genoflight fetch`` subcommand: reference data from an Ensembl-style mirror, ready to serve.

Output directory layout (``genoflight serve OUT`` serves the Parquet and the VEP cache):

- ``OUT/parquet/<species>_chr<N>.parquet``: one sorted Parquet file per chromosome (table
  ``<species>_chr<N>``);
- ``OUT/vep/<species>/<version>_<assembly>/``: the unpacked VEP cache (schema
  ``<species>_<version>_<assembly>``);
- ``OUT/.download/``: the mirror's files as downloaded and verified (hidden, so the same variants
  are not served twice), ``.part`` files being resumed, and ``state.json`` (see :mod:`.state`).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from genoflight.fetch import FetchError
from genoflight.fetch.checksum import verify
from genoflight.fetch.convert import (
    check_export,
    chromosomes_in,
    export_chromosome,
    parquet_name,
)
from genoflight.fetch.download import RetryPolicy, download, part_path
from genoflight.fetch.mirror import (
    DEFAULT_MIRROR,
    VEP_FLAVOURS,
    RemoteFile,
    VcfSource,
    chromosome_key,
    list_directory,
    normalise_chromosome,
    select_vcfs,
    select_vep_cache,
    vcf_base_url,
    vep_base_url,
)
from genoflight.fetch.progress import Progress, human_bytes
from genoflight.fetch.state import State, exclusive
from genoflight.fetch.vepcache import unpack_vep_cache

__all__ = ["FetchOptions", "Summary", "add_parser", "run_fetch"]

DEFAULT_SPECIES = "homo_sapiens"
DEFAULT_RELEASE = 115
DOWNLOAD_DIR = ".download"


class Cancelled(Exception):
    """Another task failed or the user pressed Ctrl-C: stop this one."""


@dataclass(frozen=True)
class FetchOptions:
    out: Path
    species: str = DEFAULT_SPECIES
    release: int = DEFAULT_RELEASE
    mirror: str = DEFAULT_MIRROR
    base_url: str | None = None
    chromosomes: list[str] | None = None
    vcf: bool = True
    parquet: bool = True
    vep_cache: bool = False
    vep_cache_type: str = "ensembl"
    assembly: str | None = None
    vep_base_url: str | None = None
    keep_archive: bool = False
    jobs: int = 4
    verify_all: bool = False
    memory_bytes: int | None = None
    policy: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass
class Summary:
    downloaded_files: int = 0
    downloaded_bytes: int = 0
    resumed_files: int = 0
    skipped_files: int = 0
    unverified: list[str] = field(default_factory=list)
    parquet_written: int = 0
    parquet_current: int = 0
    parquet_rows: int = 0
    vep_caches: list[str] = field(default_factory=list)
    seconds: float = 0.0
    download_seconds: float = 0.0  # from the start until the last download ended

    def line(self, out: Path) -> str:
        span = self.download_seconds or self.seconds
        rate = self.downloaded_bytes / span if span > 0 else 0.0
        parts = [
            f"downloaded {self.downloaded_files} files ({human_bytes(self.downloaded_bytes)}, "
            f"{human_bytes(rate)}/s"
            + (f", {self.resumed_files} resumed" if self.resumed_files else "")
            + ")",
            f"{self.skipped_files} already complete",
        ]
        if self.parquet_written or self.parquet_current:
            parts.append(
                f"Parquet: {self.parquet_written} written, {self.parquet_current} up to date"
            )
        if self.vep_caches:
            parts.append(f"VEP cache {', '.join(self.vep_caches)}")
        return f"fetch into {out}: {'; '.join(parts)} in {self.seconds:.1f} s"


class _Run:
    """One ``fetch``: the shared state of its download and conversion tasks."""

    def __init__(self, options: FetchOptions, progress: Progress) -> None:
        self.o = options
        self.out = options.out
        self.downloads = self.out / DOWNLOAD_DIR
        self.progress = progress
        self.state = State(self.downloads / "state.json", self.out)
        self.summary = Summary()
        self.lock = threading.Lock()
        self.cancel = threading.Event()
        self.started = time.monotonic()

    # ---- one file --------------------------------------------------------------------------

    def ensure_file(self, remote: RemoteFile) -> Path:
        """``remote`` downloaded to OUT/.download and verified (now or by an earlier run)."""
        if self.cancel.is_set():
            raise Cancelled
        dest = self.downloads / remote.name
        expected = asdict(remote.expected) if remote.expected else None
        keys: dict[str, Any] = {"url": remote.url, "expected": expected}
        # --verify hashes again what has a checksum to compare with; nothing else is refetched.
        recheck = self.o.verify_all and remote.expected is not None
        if not recheck and self.state.is_current(dest, **keys):
            self._count(skipped=True)
            return dest
        if dest.exists() and remote.expected is not None:
            # Unknown to the manifest, changed since, or --verify: hash it once more.
            bar = self.progress.file(remote.name)
            bar.status("verifying")
            try:
                ok = verify(dest, remote.expected) is None
            finally:
                bar.close()
            if ok:
                self.state.record(dest, **keys)
                self._count(skipped=True)
                return dest
            self.progress.message(
                f"genoflight: {remote.name}: does not match {remote.expected.describe()} "
                f"(truncated or corrupt); fetching it again"
            )
        dest.unlink(missing_ok=True)
        self.state.forget(dest)
        # A .part left by an earlier run is resumed only if it was a part of this very file
        # (same URL and checksum); bytes of another version would make a wrong whole.
        part = part_path(dest)
        part_key = self.downloads / ".parts" / remote.name
        if self.state.get(part_key) != keys:
            part.unlink(missing_ok=True)
            self.state.record_value(part_key, **keys)
        bar = self.progress.file(remote.name)
        try:
            result = download(
                remote.url,
                dest,
                expected=remote.expected,
                policy=self.o.policy,
                progress=_Cancellable(bar, self.cancel),
            )
        finally:
            bar.close()
        self.state.record(dest, **keys)
        self.state.forget(part_key)
        with self.lock:
            self.summary.download_seconds = time.monotonic() - self.started
            self.summary.downloaded_files += 1
            self.summary.downloaded_bytes += result.bytes_received
            self.summary.resumed_files += 1 if result.resumed_from else 0
            if not result.verified:
                self.summary.unverified.append(remote.name)
        if not result.verified:
            self.progress.message(
                f"genoflight: warning: {remote.name}: the mirror publishes no checksum for it "
                f"(no CHECKSUMS line, no .md5); only its length was checked"
            )
        self.progress.step_done()
        return dest

    def _count(self, *, skipped: bool) -> None:
        with self.lock:
            self.summary.skipped_files += 1 if skipped else 0
        self.progress.step_done()

    # ---- VCF -> Parquet ------------------------------------------------------------------

    def fetch_vcf(self, source: VcfSource) -> tuple[VcfSource, Path]:
        if source.index is not None:
            self.ensure_file(source.index)
        return source, self.ensure_file(source.vcf)

    def convert(self, source: VcfSource, vcf: Path) -> None:
        if self.cancel.is_set():
            raise Cancelled
        origin = self.state.get(vcf) or {}
        made_from = {"url": origin.get("url"), "stamp": origin.get("stamp")}
        if source.chromosome is not None:
            chromosomes: list[str | None] = [source.chromosome]
        else:
            present = self._whole_genome_chromosomes(vcf)
            if self.o.chromosomes:
                chromosomes = [normalise_chromosome(c) for c in self.o.chromosomes]
                missing = [c for c in chromosomes if c not in present]
                if missing:
                    raise FetchError(
                        f"{vcf.name}: no records on chromosome(s) {','.join(map(str, missing))} "
                        f"(it has: {','.join(present)}); check --chromosomes"
                    )
            else:
                chromosomes = list(present)
                self._add_steps(len(chromosomes))  # not known when the run started
        # A whole-genome file is filtered per chromosome; a per-chromosome file is read whole.
        per_chrom_file = source.chromosome is not None
        for chrom in chromosomes:
            assert chrom is not None
            out = self.out / "parquet" / parquet_name(self.o.species, chrom)
            if self.state.is_current(out, source=made_from):
                with self.lock:
                    self.summary.parquet_current += 1
                self.progress.step_done()
                continue
            bar = self.progress.file(out.name)
            bar.status("converting to Parquet")
            try:
                rows = export_chromosome(
                    vcf, out, None if per_chrom_file else chrom, self.o.memory_bytes
                )
            finally:
                bar.close()
            self.state.record(out, source=made_from, rows=rows)
            with self.lock:
                self.summary.parquet_written += 1
                self.summary.parquet_rows += rows or 0
            self.progress.step_done()

    def _whole_genome_chromosomes(self, vcf: Path) -> list[str]:
        """The chromosomes of a whole-genome VCF: one scan, remembered in the manifest."""
        entry = self.state.get(vcf) or {}
        if entry.get("chromosomes") is not None and self.state.is_current(vcf):
            return list(entry["chromosomes"])
        found = sorted(chromosomes_in(vcf), key=chromosome_key)
        self.state.record(vcf, **{**entry, "chromosomes": found})
        return found

    def _add_steps(self, n: int) -> None:
        with self.progress.lock:
            self.progress.files_total += n

    # ---- VEP cache -------------------------------------------------------------------------

    def fetch_vep_cache(self, remote: RemoteFile) -> None:
        vep_root = self.out / "vep"
        marker_keys = {
            "url": remote.url,
            "expected": asdict(remote.expected) if remote.expected else None,
        }
        # The unpacked files have no published checksums: the cache counts as complete while its
        # directories are there and it came from this very archive (URL and checksum).
        unpacked = self.state.get(vep_root / ".unpacked" / remote.name)
        if unpacked is not None:
            caches = [self.out / p for p in unpacked.get("caches", [])]
            still_there = caches and all((c / "info.txt").is_file() for c in caches)
            if still_there and all(unpacked.get(k) == v for k, v in marker_keys.items()):
                self._count(skipped=True)
                self.progress.step_done()  # the unpacking step
                with self.lock:
                    self.summary.vep_caches += [str(c.relative_to(self.out)) for c in caches]
                return
        archive = self.ensure_file(remote)
        bar = self.progress.file(remote.name)
        bar.status("unpacking")
        try:
            caches = unpack_vep_cache(archive, vep_root)
        finally:
            bar.close()
        rel = [str(c.relative_to(self.out)) for c in caches]
        # The record lives in the manifest under a pseudo-path (no file is stamped).
        self.state.record_value(vep_root / ".unpacked" / remote.name, caches=rel, **marker_keys)
        if not self.o.keep_archive:
            archive.unlink(missing_ok=True)
            self.state.forget(archive)
        with self.lock:
            self.summary.vep_caches += rel
        self.progress.step_done()


class _Cancellable:
    """A progress bar that stops its download when the run is cancelled."""

    def __init__(self, bar: Any, cancel: threading.Event) -> None:
        self._bar = bar
        self._cancel = cancel

    def start(self, total: int | None, already: int) -> None:
        self._bar.start(total, already)

    def advance(self, n: int) -> None:
        if self._cancel.is_set():
            raise Cancelled
        self._bar.advance(n)

    def restart(self) -> None:
        self._bar.restart()

    def status(self, text: str) -> None:
        self._bar.status(text)

    def wait(self, seconds: float) -> None:
        if self._cancel.wait(seconds):
            raise Cancelled


def run_fetch(options: FetchOptions, progress: Progress) -> Summary:
    """Download, verify, convert and unpack what ``options`` ask for into ``options.out``."""
    started = time.monotonic()
    if options.vcf and options.parquet:
        check_export()  # before hours of downloads, not after
    out = options.out
    out.mkdir(parents=True, exist_ok=True)
    with exclusive(out / DOWNLOAD_DIR / "lock"):
        run = _Run(options, progress)
        sources: list[VcfSource] = []
        if options.vcf:
            base = options.base_url or vcf_base_url(
                options.mirror, options.release, options.species
            )
            listing = list_directory(base, options.policy)
            sources = select_vcfs(listing, options.species, options.chromosomes)
        vep: RemoteFile | None = None
        if options.vep_cache:
            vbase = options.vep_base_url or vep_base_url(options.mirror, options.release)
            vlisting = list_directory(vbase, options.policy)
            vep = select_vep_cache(
                vlisting, options.species, options.release, options.assembly, options.vep_cache_type
            )
        steps = sum(1 + (s.index is not None) for s in sources) + (2 if vep else 0)
        if options.parquet:
            steps += sum(1 for s in sources if s.chromosome is not None)
            steps += (
                len(options.chromosomes or []) if any(s.chromosome is None for s in sources) else 0
            )
        progress.files_total = steps
        _execute(run, sources, vep)
        run.summary.seconds = time.monotonic() - started
        return run.summary


def _execute(run: _Run, sources: list[VcfSource], vep: RemoteFile | None) -> None:
    errors: list[BaseException] = []
    # Downloads share --jobs connections; conversions run one at a time beside them (each
    # already uses every core through DataFusion).
    pool = ThreadPoolExecutor(run.o.jobs, thread_name_prefix="fetch")
    converter = ThreadPoolExecutor(1, thread_name_prefix="convert")
    try:
        converts: set[Future[Any]] = set()
        pending: set[Future[Any]] = set()
        if vep is not None:
            pending.add(pool.submit(run.fetch_vep_cache, vep))
        pending |= {pool.submit(run.fetch_vcf, source) for source in sources}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    error = future.exception()
                    if error is not None:
                        if not isinstance(error, Cancelled):
                            errors.append(error)
                        if not isinstance(error, FetchError):
                            run.cancel.set()  # a bug or a local disk error: stop everything
                    elif future not in converts and run.o.parquet and future.result() is not None:
                        # A VCF is there: convert it while the other downloads go on.
                        convert = converter.submit(run.convert, *future.result())
                        converts.add(convert)
                        pending.add(convert)
        except KeyboardInterrupt:
            run.cancel.set()
            raise
    finally:
        # After Ctrl-C or a fatal error, queued tasks are dropped and running ones stop at their
        # next chunk; the .part files stay for the next run to resume.
        pool.shutdown(wait=True, cancel_futures=run.cancel.is_set())
        converter.shutdown(wait=True, cancel_futures=run.cancel.is_set())
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more failures; rerun to resume)" if len(errors) > 1 else ""
        if isinstance(first, FetchError):
            raise FetchError(f"{first}{more}") from None
        raise first


# --------------------------------------------------------------------------------------------
# Command line


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text}")
    return value


_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def _size(text: str) -> int:
    """``512M``, ``4G``, ``1073741824``: bytes."""
    t = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = t[-1:] if t[-1:] in _UNITS else ""
    try:
        value = float(t[: len(t) - len(unit)]) * _UNITS[unit]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 512M, 4G)") from None
    if value < 128 << 20:
        # DataFusion's sort reserves ~10 MB per partition for merging spilled runs.
        raise argparse.ArgumentTypeError(f"{text}: give at least 128M")
    return int(value)


def _chromosomes(text: str) -> list[str]:
    names = [c.strip() for c in text.split(",") if c.strip()]
    if not names:
        raise argparse.ArgumentTypeError("give chromosome names separated by commas, e.g. 21,22,X")
    return names


def _options(args: argparse.Namespace) -> FetchOptions:
    if not args.vcf and not args.vep_cache:
        raise FetchError("--no-vcf without --vep-cache: nothing to fetch")
    for flag, url in (("--base-url", args.base_url), ("--vep-base-url", args.vep_base_url)):
        if url is not None and not url.lower().startswith(("http://", "https://")):
            raise FetchError(f"{flag} {url}: give an http:// or https:// URL")
    out = Path(args.out).expanduser().absolute()
    if out.exists() and not out.is_dir():
        raise FetchError(f"{args.out}: exists and is not a directory; give an output directory")
    return FetchOptions(
        out=out,
        species=args.species,
        release=args.release,
        mirror=args.mirror,
        base_url=args.base_url,
        chromosomes=args.chromosomes,
        vcf=args.vcf,
        parquet=args.parquet,
        vep_cache=args.vep_cache,
        vep_cache_type=args.vep_cache_type,
        assembly=args.assembly,
        vep_base_url=args.vep_base_url,
        keep_archive=args.keep_archive,
        jobs=args.jobs,
        verify_all=args.verify,
        memory_bytes=args.memory,
        policy=RetryPolicy(
            attempts=args.retries,
            backoff_s=args.backoff,
            timeout_s=args.timeout,
            verify_attempts=args.verify_attempts,
        ),
    )


def _cmd_fetch(args: argparse.Namespace) -> int:
    options = _options(args)
    progress = Progress(sys.stderr, enabled=False if args.quiet else None)
    try:
        summary = run_fetch(options, progress)
    finally:
        progress.close()
    print(f"genoflight: {summary.line(options.out)}", file=sys.stderr)
    if options.parquet or options.vep_cache:
        print(f"genoflight: serve it with: genoflight serve {options.out}", file=sys.stderr)
    return 0


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``fetch`` to the ``genoflight`` subcommands (``sub``: argparse's subparsers)."""
    p: argparse.ArgumentParser = sub.add_parser(
        "fetch",
        help="download Ensembl variation VCFs (and a VEP cache) and convert them for serving",
        description="Download per-chromosome variation VCFs (and with --vep-cache the VEP cache) "
        "from an Ensembl mirror into OUT, resuming and verifying against the mirror's CHECKSUMS, "
        "then convert the VCFs to sorted Parquet (OUT/parquet) and unpack the cache (OUT/vep); "
        "`genoflight serve OUT` serves both. A rerun skips what is complete.",
    )
    p.add_argument("out", metavar="OUT", help="output directory (created if missing)")
    p.add_argument(
        "--species", default=DEFAULT_SPECIES, help="Ensembl species (default %(default)s)"
    )
    p.add_argument(
        "--release",
        type=_positive_int,
        default=DEFAULT_RELEASE,
        help="Ensembl release (default %(default)s)",
    )
    p.add_argument(
        "--mirror",
        metavar="URL",
        default=DEFAULT_MIRROR,
        help="root of an Ensembl mirror, holding release-N/ (default %(default)s)",
    )
    p.add_argument(
        "--base-url",
        metavar="URL",
        help="directory of the VCFs (default MIRROR/release-N/variation/vcf/SPECIES/)",
    )
    p.add_argument(
        "--chromosomes",
        metavar="LIST",
        type=_chromosomes,
        help="only these chromosomes, e.g. 21,22,X (default: all the mirror has)",
    )
    p.add_argument("--no-vcf", dest="vcf", action="store_false", help="fetch no VCFs")
    p.add_argument(
        "--no-parquet",
        dest="parquet",
        action="store_false",
        help="only download and verify the VCFs (no Parquet conversion)",
    )
    p.add_argument("--vep-cache", action="store_true", help="also fetch and unpack the VEP cache")
    p.add_argument(
        "--vep-cache-type",
        choices=sorted(VEP_FLAVOURS),
        default="ensembl",
        help="which VEP cache: Ensembl, RefSeq or merged transcripts (default %(default)s)",
    )
    p.add_argument("--assembly", metavar="NAME", help="VEP cache assembly, e.g. GRCh38")
    p.add_argument(
        "--vep-base-url",
        metavar="URL",
        help="directory of the VEP caches (default MIRROR/release-N/variation/indexed_vep_cache/)",
    )
    p.add_argument(
        "--keep-archive",
        action="store_true",
        help="keep the VEP cache tar.gz in OUT/.download after unpacking it",
    )
    p.add_argument(
        "--jobs",
        "-j",
        metavar="N",
        type=_positive_int,
        default=4,
        help="parallel downloads (default %(default)s)",
    )
    p.add_argument(
        "--retries",
        metavar="N",
        type=_positive_int,
        default=6,
        help="attempts in a row without progress before a download fails (default %(default)s)",
    )
    p.add_argument(
        "--backoff",
        metavar="S",
        type=_seconds,
        default=1.0,
        help="first wait before a retry, doubled each time (default %(default)s s)",
    )
    p.add_argument(
        "--timeout",
        metavar="S",
        type=_seconds,
        default=60.0,
        help="network timeout (default %(default)s s)",
    )
    p.add_argument(
        "--verify-attempts",
        metavar="N",
        type=_positive_int,
        default=3,
        help="downloads of a file whose checksum does not match before failing "
        "(default %(default)s)",
    )
    p.add_argument(
        "--verify",
        action="store_true",
        help="re-check every present file's checksum, even if unchanged since it was verified",
    )
    p.add_argument(
        "--memory",
        metavar="SIZE",
        type=_size,
        help="memory for sorting one chromosome, e.g. 2G; beyond it the sort spills to $TMPDIR "
        "(default: half the RAM, at most 4G)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    p.set_defaults(handler=_cmd_fetch)
    return p
