"""What an Ensembl-style mirror directory holds, and which of its files ``fetch`` wants.

A directory is known from its HTML listing (the ``href``s of an Apache/nginx index page, as
https://ftp.ensembl.org/pub/ serves) and its ``CHECKSUMS`` file (``sum`` output, which also
names every file); either one is enough. Variation VCFs are named as Ensembl names them:
``<species>-chr<chrom>.vcf.gz`` (+ ``.csi``/``.tbi``) per chromosome, or one
``<species>.vcf.gz`` for species without per-chromosome files. VEP caches are
``<species>[_refseq|_merged]_vep_<release>_<assembly>.tar.gz``.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from html.parser import HTMLParser

from genoflight.fetch import FetchError
from genoflight.fetch.checksum import Expected, parse_checksums, parse_md5
from genoflight.fetch.download import RetryPolicy, fetch_text

__all__ = [
    "DEFAULT_MIRROR",
    "Listing",
    "RemoteFile",
    "VcfSource",
    "chromosome_key",
    "list_directory",
    "normalise_chromosome",
    "select_vcfs",
    "select_vep_cache",
    "vcf_base_url",
    "vep_base_url",
]

DEFAULT_MIRROR = "https://ftp.ensembl.org/pub"


def vcf_base_url(mirror: str, release: int, species: str) -> str:
    return f"{mirror.rstrip('/')}/release-{release}/variation/vcf/{species}/"


def vep_base_url(mirror: str, release: int) -> str:
    return f"{mirror.rstrip('/')}/release-{release}/variation/indexed_vep_cache/"


@dataclass(frozen=True)
class RemoteFile:
    name: str
    url: str
    expected: Expected | None


@dataclass(frozen=True)
class VcfSource:
    """One VCF to fetch; ``chromosome`` None for a whole-genome file (split when converted)."""

    chromosome: str | None
    vcf: RemoteFile
    index: RemoteFile | None


@dataclass
class Listing:
    """The file names of one mirror directory and the checksums it publishes."""

    url: str
    names: list[str]
    checksums: dict[str, Expected]
    policy: RetryPolicy

    def remote(self, name: str) -> RemoteFile:
        """The file ``name`` with its checksum: ``CHECKSUMS``, else ``<name>.md5`` if listed."""
        expected = self.checksums.get(name)
        if expected is None and f"{name}.md5" in self.names:
            text = fetch_text(self.url + urllib.parse.quote(name + ".md5"), self.policy)
            expected = parse_md5(text or "", name, f"{name}.md5")
        return RemoteFile(name, self.url + urllib.parse.quote(name), expected)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.extend(v for k, v in attrs if k == "href" and v)


def parse_listing(html: str, base_url: str) -> list[str]:
    """File names (not directories, sort links or other sites) linked from a listing page."""
    parser = _Links()
    parser.feed(html)
    base = urllib.parse.urlsplit(base_url)
    names: list[str] = []
    for href in parser.hrefs:
        target = urllib.parse.urlsplit(urllib.parse.urljoin(base_url, href))
        if target.query or (target.scheme, target.netloc) != (base.scheme, base.netloc):
            continue
        if not target.path.startswith(base.path) or target.path.endswith("/"):
            continue
        name = urllib.parse.unquote(target.path[len(base.path) :])
        if name and "/" not in name and name not in names:
            names.append(name)
    return names


def list_directory(url: str, policy: RetryPolicy) -> Listing:
    """Read a mirror directory: its listing page and its ``CHECKSUMS`` (each may be missing)."""
    url = url if url.endswith("/") else url + "/"
    checksums_text = fetch_text(url + "CHECKSUMS", policy, missing_ok=True)
    checksums = parse_checksums(checksums_text or "", f"{url}CHECKSUMS")
    html = fetch_text(url, policy, missing_ok=True)
    names = parse_listing(html, url) if html else []
    for name in checksums:
        if name not in names:
            names.append(name)
    if html is None and checksums_text is None:
        raise FetchError(
            f"{url}: neither a directory listing nor a CHECKSUMS file there (HTTP 404): "
            f"check --base-url, --release and --species"
        )
    if not names:
        raise FetchError(f"{url}: the directory lists no files")
    return Listing(url, names, checksums, policy)


def normalise_chromosome(name: str) -> str:
    """``chr21`` and ``21`` name the same Ensembl chromosome (Ensembl VCFs say ``21``)."""
    name = name.strip()
    return name[3:] if name.lower().startswith("chr") and len(name) > 3 else name


def chromosome_key(name: str) -> tuple[int, int, str]:
    """Karyotype order: 1..22, then X, Y, MT, then the rest by name."""
    if name.isdigit():
        return (0, int(name), "")
    special = {"X": 1, "Y": 2, "MT": 3, "M": 3}
    return (1, special.get(name.upper(), 4), name)


def select_vcfs(listing: Listing, species: str, chromosomes: list[str] | None) -> list[VcfSource]:
    """The VCFs of ``species`` to fetch: the per-chromosome files (those in ``chromosomes``, or
    all), else the species' whole-genome file."""
    pattern = re.compile(rf"^{re.escape(species)}-chr(?P<chrom>[^/]+?)\.vcf\.gz$")
    per_chrom = {
        m.group("chrom"): name for name in listing.names if (m := pattern.match(name)) is not None
    }
    wanted = [normalise_chromosome(c) for c in chromosomes] if chromosomes else None
    if per_chrom:
        if wanted is not None:
            missing = [c for c in wanted if c not in per_chrom]
            if missing:
                available = ",".join(sorted(per_chrom, key=chromosome_key))
                raise FetchError(
                    f"{listing.url}: no VCF for chromosome(s) {','.join(missing)} of {species} "
                    f"(available: {available})"
                )
        chosen = sorted(wanted if wanted is not None else per_chrom, key=chromosome_key)
        return [_source(listing, c, per_chrom[c]) for c in dict.fromkeys(chosen)]
    whole = f"{species}.vcf.gz"
    if whole in listing.names:
        return [_source(listing, None, whole)]
    vcfs = sorted(n for n in listing.names if n.endswith(".vcf.gz"))
    raise FetchError(
        f"{listing.url}: no {species}-chr<N>.vcf.gz or {whole} there"
        + (f" (VCFs there: {', '.join(vcfs[:8])})" if vcfs else "")
        + ": check --species and --base-url"
    )


def _source(listing: Listing, chromosome: str | None, name: str) -> VcfSource:
    index = next((name + x for x in (".csi", ".tbi") if name + x in listing.names), None)
    return VcfSource(
        chromosome, listing.remote(name), listing.remote(index) if index is not None else None
    )


VEP_FLAVOURS = {"ensembl": "", "refseq": "_refseq", "merged": "_merged"}


def select_vep_cache(
    listing: Listing, species: str, release: int, assembly: str | None, flavour: str
) -> RemoteFile:
    """The VEP cache tarball of ``species``/``release`` (and ``assembly``, if given)."""
    prefix = f"{species}{VEP_FLAVOURS[flavour]}_vep_{release}_"
    pattern = re.compile(rf"^{re.escape(prefix)}(?P<assembly>[^/]+?)\.tar\.gz$")
    found = {m.group("assembly"): n for n in listing.names if (m := pattern.match(n)) is not None}
    if assembly is not None:
        match = next((n for a, n in found.items() if a.lower() == assembly.lower()), None)
        if match is None:
            raise FetchError(
                f"{listing.url}: no {prefix}{assembly}.tar.gz there"
                + (f" (assemblies: {', '.join(sorted(found))})" if found else "")
                + ": check --assembly, --release, --species and --vep-base-url"
            )
        return listing.remote(match)
    if len(found) != 1:
        what = (
            f"several ({', '.join(sorted(found))}); choose one with --assembly"
            if found
            else ("none: check --species, --release, --vep-cache-type and --vep-base-url")
        )
        raise FetchError(f"{listing.url}: VEP caches {prefix}<assembly>.tar.gz: {what}")
    return listing.remote(next(iter(found.values())))
