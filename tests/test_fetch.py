"""``genoflight fetch`` against a local Ensembl-style mirror (tests/_mirror.py) that misbehaves.

The mirror is built here from the project's own demo VCF, split per chromosome the way Ensembl
publishes variation VCFs (``homo_sapiens-chr<N>.vcf.gz`` + index, contigs named ``1``, ``2``...),
with a ``CHECKSUMS`` file written by our BSD ``sum`` (checked against coreutils' ``sum``), and a
VEP cache tarball made from the shared test cache. Faults: connections cut midway, a corrupt
answer, a server ignoring Range, 503s. Checks: resume asks for the missing bytes only, every
file is verified, a corrupt one is fetched again, a rerun downloads nothing, the Parquet holds
the VCF's records sorted, and ``genoflight tables OUT`` lists the Parquet and the VEP cache.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from _mirror import Fault, Mirror
from _support import SHARED_DATA, genoflight_cli, require_native, require_tool, unavailable
from genoflight.config import Config, TableEntry
from genoflight.demo import generate_genes, write_vcf_text
from genoflight.fetch import FetchError
from genoflight.fetch.checksum import BsdSum, Expected, bsd_sum_file, parse_checksums, parse_md5
from genoflight.fetch.download import RetryPolicy, download, part_path
from genoflight.fetch.mirror import parse_listing
from genoflight.fetch.progress import Progress
from genoflight.fetch.state import exclusive
from genoflight.fetch.vepcache import unpack_vep_cache

RELEASE = 84
SPECIES = "homo_sapiens"
VEP_CACHE = SHARED_DATA / "vep" / "cache" / SPECIES / f"{RELEASE}_GRCh38"
VEP_TARBALL = f"{SPECIES}_vep_{RELEASE}_GRCh38.tar.gz"


def gnu_sum(path: Path) -> tuple[int, int]:
    out = subprocess.run(
        [require_tool("sum"), "-r", str(path)], capture_output=True, text=True, check=True
    ).stdout.split()
    return int(out[0]), int(out[1])


def python_sum(path: Path) -> tuple[int, int]:
    state = BsdSum()
    data = path.read_bytes()
    for i in range(0, len(data), 7919):  # fed in odd pieces, as a download arrives
        state.update(data[i : i + 7919])
    return state.result()


# --------------------------------------------------------------------------------------------
# Checksums and listings


def test_bsd_sum_is_gnu_sum_r(tmp_path: Path) -> None:
    rng = random.Random(7)
    sizes = [0, 1, 2, 1023, 1024, 1025, 4096, 65_537]
    sizes += [rng.randrange(1, 400_000) for _ in range(6)]
    for size in sizes:
        path = tmp_path / f"r{size}.bin"
        path.write_bytes(rng.randbytes(size))
        expected = gnu_sum(path)
        assert python_sum(path) == expected, size
        assert bsd_sum_file(path, use_tool=False) == expected, size
        assert bsd_sum_file(path) == expected, size
    text = tmp_path / "t.txt"
    text.write_bytes(b"\xff" * 3000 + b"ACGT\n" * 999)  # high bytes: no sign mistakes
    assert python_sum(text) == gnu_sum(text)


def test_checksum_and_listing_parsing() -> None:
    checksums = parse_checksums(
        "29888 168645 homo_sapiens-chr21.vcf.gz\n"
        "00417     2 homo_sapiens-chr21.vcf.gz.csi\n"
        "\n"
        "not a sum line\n"
    )
    assert checksums["homo_sapiens-chr21.vcf.gz"].value == "29888 168645"
    assert checksums["homo_sapiens-chr21.vcf.gz.csi"].value == "417 2"
    assert len(checksums) == 2
    md5 = "d41d8cd98f00b204e9800998ecf8427e"
    assert parse_md5(f"{md5}  x.vcf.gz\n", "x.vcf.gz", "x.md5").value == md5  # type: ignore[union-attr]
    assert parse_md5(f"MD5 (x.vcf.gz) = {md5.upper()}\n", "x.vcf.gz", "m").value == md5  # type: ignore[union-attr]
    assert parse_md5("nothing here", "x", "m") is None
    page = (
        '<a href="?C=N;O=D">Name</a><a href="/pub/release-115/variation/">Parent Directory</a>'
        '<a href="CHECKSUMS">CHECKSUMS</a><a href="homo_sapiens-chr1.vcf.gz">x</a>'
        '<a href="sub/">sub/</a><a href="https://elsewhere.org/a.vcf.gz">a</a>'
        '<a href="/pub/release-115/variation/vcf/homo_sapiens/homo_sapiens-chrX.vcf.gz">X</a>'
        '<a href="homo_sapiens-chr1.vcf.gz.csi">i</a><a href="a%20b.txt">sp</a>'
    )
    base = "https://ftp.ensembl.org/pub/release-115/variation/vcf/homo_sapiens/"
    assert parse_listing(page, base) == [
        "CHECKSUMS",
        "homo_sapiens-chr1.vcf.gz",
        "homo_sapiens-chrX.vcf.gz",
        "homo_sapiens-chr1.vcf.gz.csi",
        "a b.txt",
    ]


# --------------------------------------------------------------------------------------------
# VEP cache unpacking


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _symlink(name: str, target: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    return info, None


@pytest.mark.parametrize(
    ("member", "needle"),
    [
        (_file("../evil.txt"), "path escapes"),
        (_file("/etc/evil.txt"), "path escapes"),
        (_file("homo_sapiens/../../evil.txt"), "path escapes"),
        (_symlink("homo_sapiens/84_GRCh38/link", "/etc"), "not a plain file"),
    ],
)
def test_unpack_refuses_unsafe_members(tmp_path: Path, member: tuple, needle: str) -> None:
    archive = _tar(
        tmp_path / "c.tar.gz",
        [_file("homo_sapiens/84_GRCh38/info.txt", b"version\t84\n"), member],
    )
    dest = tmp_path / "out" / "vep"
    with pytest.raises(FetchError, match=needle):
        unpack_vep_cache(archive, dest)
    assert not (tmp_path / "evil.txt").exists()
    assert not (tmp_path / "out" / "evil.txt").exists()
    assert [p.name for p in dest.iterdir()] == []  # nothing half-unpacked is left


def test_unpack_needs_a_cache(tmp_path: Path) -> None:
    archive = _tar(tmp_path / "c.tar.gz", [_file("README", b"hi")])
    with pytest.raises(FetchError, match="no VEP cache in the archive"):
        unpack_vep_cache(archive, tmp_path / "vep")
    (tmp_path / "bad.tar.gz").write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(FetchError, match=r"not a readable tar\.gz"):
        unpack_vep_cache(tmp_path / "bad.tar.gz", tmp_path / "vep")


# --------------------------------------------------------------------------------------------
# The mirror


@dataclass
class MirrorTree:
    root: Path
    vcf_dir: Path
    vep_dir: Path
    counts: dict[str, int]  # chromosome -> records
    positions: dict[str, list[int]]


def _write_checksums(directory: Path) -> None:
    lines = []
    for p in sorted(directory.iterdir()):
        if p.is_file() and p.name != "CHECKSUMS":
            checksum, blocks = bsd_sum_file(p, use_tool=False)
            assert (checksum, blocks) == gnu_sum(p), p  # our sum is coreutils' sum
            lines.append(f"{checksum:05d} {blocks:5d} {p.name}\n")
    (directory / "CHECKSUMS").write_text("".join(lines))


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> MirrorTree:
    native = require_native()
    if not VEP_CACHE.is_dir():
        unavailable(f"the shared VEP test cache is missing: {VEP_CACHE}")
    root = tmp_path_factory.mktemp("mirror")
    vcf_dir = root / "pub" / f"release-{RELEASE}" / "variation" / "vcf" / SPECIES
    vep_dir = root / "pub" / f"release-{RELEASE}" / "variation" / "indexed_vep_cache"
    vcf_dir.mkdir(parents=True)
    vep_dir.mkdir(parents=True)
    rng = random.Random(11)
    text = root / "all.vcf"
    write_vcf_text(text, rng, generate_genes(rng))
    header: list[str] = []
    records: dict[str, list[str]] = {}
    for line in text.read_text().splitlines(keepends=True):
        # Ensembl names chromosomes "1", not "chr1".
        line = line.replace("##contig=<ID=chr", "##contig=<ID=")
        if line.startswith("#"):
            header.append(line)
        else:
            chrom, rest = line.split("\t", 1)
            records.setdefault(chrom.removeprefix("chr"), []).append(
                chrom.removeprefix("chr") + "\t" + rest
            )
    for chrom, lines in records.items():
        plain = root / f"{chrom}.vcf"
        plain.write_text("".join(header + lines))
        native.bgzip_vcf(str(plain), str(vcf_dir / f"{SPECIES}-chr{chrom}.vcf.gz"))
    (vcf_dir / "README").write_text("variation VCFs\n")
    _write_checksums(vcf_dir)
    # A species published as one whole-genome VCF, verified by .md5 files (no CHECKSUMS).
    mouse = vcf_dir.parent / "mus_musculus"
    mouse.mkdir()
    plain = root / "mouse.vcf"
    plain.write_text("".join(header + [x for c in sorted(records) for x in records[c]]))
    native.bgzip_vcf(str(plain), str(mouse / "mus_musculus.vcf.gz"))
    for name in ("mus_musculus.vcf.gz", "mus_musculus.vcf.gz.tbi"):
        digest = hashlib.md5((mouse / name).read_bytes()).hexdigest()
        (mouse / f"{name}.md5").write_text(f"{digest}  {name}\n")
    with tarfile.open(vep_dir / VEP_TARBALL, "w:gz") as tar:
        tar.add(VEP_CACHE, arcname=f"{SPECIES}/{RELEASE}_GRCh38")
    _write_checksums(vep_dir)
    return MirrorTree(
        root,
        vcf_dir,
        vep_dir,
        {c: len(v) for c, v in records.items()},
        {c: [int(x.split("\t")[1]) for x in v] for c, v in records.items()},
    )


@pytest.fixture
def mirror(tree: MirrorTree) -> Iterator[Mirror]:
    with Mirror(tree.root) as m:
        yield m


def fetch(mirror: Mirror, out: Path, *args: str) -> subprocess.CompletedProcess:
    return genoflight_cli(
        "fetch", out, "--mirror", f"{mirror.url}/pub", "--release", str(RELEASE),
        "--backoff", "0.01", *args,
    )  # fmt: skip


def vcf_name(chrom: str) -> str:
    return f"{SPECIES}-chr{chrom}.vcf.gz"


def assert_ok(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr


def assert_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [x for x in proc.stderr.splitlines() if x.startswith("genoflight: error:")]
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def test_fetch_survives_faults_and_reruns_idempotently(
    tree: MirrorTree, mirror: Mirror, tmp_path: Path
) -> None:
    mirror.faults = {
        vcf_name("1"): Fault(drop_first=2),  # resumed twice with Range
        vcf_name("2"): Fault(corrupt_once=True),  # checksum mismatch -> fetched again
        vcf_name("3"): Fault(drop_first=1, ignore_range=True),  # resume answered by 200
        "CHECKSUMS": Fault(unavailable_once=True),  # 503 -> retried
        vcf_name("3") + ".tbi": Fault(unavailable_once=True),
    }
    out = tmp_path / "out"
    proc = fetch(mirror, out, "--no-parquet", "--vep-cache", "--jobs", "3")
    assert_ok(proc)
    downloads = out / ".download"
    for chrom in tree.counts:
        for name in (vcf_name(chrom), vcf_name(chrom) + ".tbi"):
            assert (downloads / name).read_bytes() == (tree.vcf_dir / name).read_bytes(), name
    assert not list(out.rglob("*.part"))

    # Resume: the second and third requests ask for exactly the bytes still missing.
    size1 = (tree.vcf_dir / vcf_name("1")).stat().st_size
    r1 = mirror.file_requests(vcf_name("1"))
    assert [r.status for r in r1] == [200, 206, 206]
    assert r1[0].range is None
    assert r1[1].range == f"bytes={r1[0].sent}-"
    assert r1[2].range == f"bytes={r1[0].sent + r1[1].sent}-"
    assert sum(r.sent for r in r1) == size1  # no byte sent twice
    # Corrupt once: two whole downloads.
    r2 = mirror.file_requests(vcf_name("2"))
    assert [(r.status, r.range) for r in r2] == [(200, None), (200, None)]
    # A server ignoring Range: the retry restarted from byte 0 and the file is still right.
    r3 = mirror.file_requests(vcf_name("3"))
    assert [r.status for r in r3] == [200, 200] and r3[1].range is not None
    assert [r.status for r in mirror.file_requests("CHECKSUMS")][:2] == [503, 200]

    # The VEP cache is unpacked (tarball removed) and the listing sees it.
    cache = out / "vep" / SPECIES / f"{RELEASE}_GRCh38"
    assert (cache / "info.txt").read_bytes() == (VEP_CACHE / "info.txt").read_bytes()
    assert not (downloads / VEP_TARBALL).exists()
    assert "downloaded" in proc.stderr.splitlines()[-2]

    # A rerun reads the two listings and CHECKSUMS files, and downloads nothing.
    mirror.clear()
    again = fetch(mirror, out, "--no-parquet", "--vep-cache")
    assert_ok(again)
    paths = sorted(r.path.rsplit("/", 1)[-1] for r in mirror.requests)
    assert paths == ["", "", "CHECKSUMS", "CHECKSUMS"], paths
    assert "downloaded 0 files" in again.stderr

    # A truncated file and a same-size corrupt one (found with --verify) are fetched again.
    victim = downloads / vcf_name("2")
    victim.write_bytes(victim.read_bytes()[:-100])
    mirror.clear()
    assert_ok(fetch(mirror, out, "--no-parquet"))
    assert [r.range for r in mirror.file_requests(vcf_name("2"))] == [None]
    assert victim.read_bytes() == (tree.vcf_dir / vcf_name("2")).read_bytes()
    data = bytearray(victim.read_bytes())
    data[100] ^= 1
    stat = victim.stat()
    victim.write_bytes(bytes(data))
    os.utime(victim, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # looks unchanged
    mirror.clear()
    assert_ok(fetch(mirror, out, "--no-parquet"))
    assert mirror.file_requests(vcf_name("2")) == []  # size and mtime unchanged: trusted
    assert_ok(fetch(mirror, out, "--no-parquet", "--verify"))
    assert len(mirror.file_requests(vcf_name("2"))) == 1
    assert victim.read_bytes() == (tree.vcf_dir / vcf_name("2")).read_bytes()


def test_resume_from_a_previous_run(tree: MirrorTree, mirror: Mirror, tmp_path: Path) -> None:
    out = tmp_path / "out"
    name = vcf_name("2")
    full = (tree.vcf_dir / name).read_bytes()
    mirror.faults = {name: Fault(drop_first=1)}
    failed = fetch(mirror, out, "--no-parquet", "--chromosomes", "chr2", "--retries", "1")
    assert_error(failed, name, "gave up after 1 attempts", "resumes from")
    part = out / ".download" / (name + ".part")
    assert part.stat().st_size == len(full) // 2  # what arrived before the cut is kept

    mirror.clear()
    assert_ok(fetch(mirror, out, "--no-parquet", "--chromosomes", "chr2"))
    assert [r.range for r in mirror.file_requests(name)] == [f"bytes={len(full) // 2}-"]
    assert (out / ".download" / name).read_bytes() == full
    assert not part.exists()
    assert mirror.file_requests(vcf_name("1")) == []  # only the chosen chromosome

    # A .part nobody recorded (another file's, another release's) is not trusted.
    stray = out / ".download" / (vcf_name("3") + ".part")
    stray.write_bytes(b"junk" * 100)
    mirror.clear()
    assert_ok(fetch(mirror, out, "--no-parquet", "--chromosomes", "3"))
    assert [r.range for r in mirror.file_requests(vcf_name("3"))] == [None]


def test_whole_genome_vcf_verified_by_md5(tree: MirrorTree, mirror: Mirror, tmp_path: Path) -> None:
    mirror.faults = {"mus_musculus.vcf.gz": Fault(corrupt_once=True)}
    out = tmp_path / "out"
    assert_ok(fetch(mirror, out, "--species", "mus_musculus", "--no-parquet"))
    name = "mus_musculus.vcf.gz"
    source = tree.vcf_dir.parent / "mus_musculus" / name
    assert (out / ".download" / name).read_bytes() == source.read_bytes()
    assert len(mirror.file_requests(name)) == 2  # the corrupt copy failed its .md5
    assert len(mirror.file_requests(name + ".md5")) == 1


def test_clear_errors(tree: MirrorTree, mirror: Mirror, tmp_path: Path) -> None:
    mirror.faults = {vcf_name("1"): Fault(corrupt_always=True)}
    proc = fetch(mirror, tmp_path / "a", "--no-parquet", "--chromosomes", "1")
    assert_error(proc, vcf_name("1"), "checksum never matched", "3 times")
    assert len(mirror.file_requests(vcf_name("1"))) == 3
    assert not (tmp_path / "a" / ".download" / vcf_name("1")).exists()

    assert_error(
        fetch(mirror, tmp_path / "b", "--no-parquet", "--chromosomes", "9,2"),
        "chromosome(s) 9",
        "available: 1,2,3",
    )
    assert_error(
        fetch(mirror, tmp_path / "c", "--no-parquet", "--species", "danio_rerio"), "danio_rerio"
    )
    assert_error(
        fetch(mirror, tmp_path / "d", "--no-vcf", "--vep-cache", "--assembly", "GRCh37"),
        "GRCh37",
        "assemblies: GRCh38",
    )
    dead = genoflight_cli(
        "fetch", tmp_path / "e", "--base-url", "http://127.0.0.1:9/x/", "--retries", "2",
        "--backoff", "0", "--no-parquet",
    )  # fmt: skip
    assert_error(dead, "127.0.0.1:9", "gave up after 2 attempts")
    assert_error(genoflight_cli("fetch", tmp_path / "f", "--base-url", "ftp://x/"), "http")
    small = genoflight_cli("fetch", tmp_path / "g", "--memory", "2M")
    assert small.returncode == 2 and "at least 128M" in small.stderr


# --------------------------------------------------------------------------------------------
# Parquet and serving


def test_parquet_holds_the_vcf_sorted_and_is_served(
    tree: MirrorTree, mirror: Mirror, tmp_path: Path
) -> None:
    native = require_native()
    if not hasattr(native, "export"):
        unavailable("genoflight._native.export is not built yet (VCF -> Parquet)")
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = tmp_path / "out"
    assert_ok(fetch(mirror, out, "--vep-cache", "--chromosomes", "1,3"))
    parquet = out / "parquet"
    assert sorted(p.name for p in parquet.iterdir()) == [
        f"{SPECIES}_chr1.parquet",
        f"{SPECIES}_chr3.parquet",
    ]
    for chrom in ("1", "3"):
        table = pq.read_table(parquet / f"{SPECIES}_chr{chrom}.parquet")
        assert table.num_rows == tree.counts[chrom]
        assert set(table.column("chrom").to_pylist()) == {chrom}
        starts = table.column("start").to_pylist()
        assert starts == sorted(tree.positions[chrom])
        assert {"id", "ref", "alt", "qual", "filter", "DP", "AF"} <= set(table.column_names)

    # Every column of every record, as the VCF table reads it.
    config = Config(tables=(TableEntry(name="v", path=tree.vcf_dir / vcf_name("3")),))
    data = native.query(
        config.to_native_json(), 'SELECT * FROM v ORDER BY "start", "end", "ref", "alt"'
    )
    expected = pa.ipc.open_stream(pa.py_buffer(data)).read_all()
    actual = pq.read_table(parquet / f"{SPECIES}_chr3.parquet")
    assert actual.column_names == expected.column_names
    assert actual.to_pylist() == expected.to_pylist()

    listing = genoflight_cli("tables", out, "--json")
    assert_ok(listing)
    tables = json.loads(listing.stdout)["tables"]
    names = {(t["schema"], t["name"], t["format"]) for t in tables}
    assert ("public", f"{SPECIES}_chr1", "parquet") in names
    assert ("public", f"{SPECIES}_chr3", "parquet") in names
    assert (f"{SPECIES}_{RELEASE}_grch38", "transcripts", "vep_cache") in names
    assert not any(t["format"] == "vcf" for t in tables)  # the downloads are not served twice
    count = genoflight_cli("sql", f'SELECT count(*) AS n FROM "{SPECIES}_chr3"', out)
    assert_ok(count)
    assert str(tree.counts["3"]) in count.stdout

    # A whole-genome VCF becomes one Parquet file per chromosome (sorted within --memory).
    mouse = tmp_path / "mouse"
    assert_ok(fetch(mirror, mouse, "--species", "mus_musculus", "--memory", "256M"))
    for chrom, n in tree.counts.items():
        table = pq.read_table(mouse / "parquet" / f"mus_musculus_chr{chrom}.parquet")
        assert table.num_rows == n
        assert table.column("start").to_pylist() == sorted(tree.positions[chrom])

    assert_error(
        fetch(mirror, mouse, "--species", "mus_musculus", "--chromosomes", "2,Y"),
        "mus_musculus.vcf.gz",
        "chromosome(s) Y",
        "it has: 1,2,3",
    )

    # A rerun converts nothing; a re-downloaded VCF is converted again.
    mirror.clear()
    again = fetch(mirror, out, "--vep-cache", "--chromosomes", "1,3")
    assert_ok(again)
    assert "Parquet: 0 written, 2 up to date" in again.stderr
    (out / ".download" / vcf_name("3")).unlink()
    third = fetch(mirror, out, "--chromosomes", "1,3")
    assert_ok(third)
    assert "Parquet: 1 written, 1 up to date" in third.stderr


def test_progress_bars_draw_and_clear() -> None:
    stream = io.StringIO()
    progress = Progress(stream, enabled=True)
    progress.files_total = 2
    bar = progress.file("homo_sapiens-chr21.vcf.gz")
    bar.start(2_000_000, 500_000)
    bar.advance(500_000)
    with progress.lock:
        progress._draw()  # what the refresh thread does every REFRESH_S
    drawn = stream.getvalue()
    assert "homo_sapiens-chr21.vcf.gz" in drawn and " 50.0% 1.0 MB/2.0 MB  resuming" in drawn
    assert "0/2 steps, 500.0 kB downloaded" in drawn
    progress.message("genoflight: warning: x")
    bar.close()
    progress.close()
    out = stream.getvalue()
    assert out.endswith("\x1b[2F\x1b[J") or out.endswith("\x1b[J")  # bars erased at the end
    assert "genoflight: warning: x\n" in out

    quiet = io.StringIO()
    silent = Progress(quiet, enabled=False)
    silent.file("x").advance(10)
    silent.message("note")
    silent.close()
    assert quiet.getvalue() == "note\n"


class _Quiet:
    """A FileProgress that records what download() reports."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def start(self, total: int | None, already: int) -> None:
        self.events.append(f"start {total} {already}")

    def advance(self, n: int) -> None:
        pass

    def restart(self) -> None:
        self.events.append("restart")

    def status(self, text: str) -> None:
        self.events.append(text)

    def wait(self, seconds: float) -> None:
        pass


def test_a_complete_part_is_verified_not_downloaded(
    tree: MirrorTree, mirror: Mirror, tmp_path: Path
) -> None:
    # An earlier run stopped between the last byte and the rename: Range past the end -> 416.
    name = vcf_name("1")
    source = tree.vcf_dir / name
    dest = tmp_path / name
    part_path(dest).write_bytes(source.read_bytes())
    checksum, blocks = bsd_sum_file(source)
    expected = Expected("bsd", f"{checksum} {blocks}", "CHECKSUMS")
    url = f"{mirror.url}/{source.relative_to(tree.root).as_posix()}"
    result = download(url, dest, expected=expected, policy=RetryPolicy(), progress=_Quiet())
    assert result.bytes_received == 0 and result.verified
    assert [r.status for r in mirror.file_requests(name)] == [416]
    assert dest.read_bytes() == source.read_bytes()


def test_one_fetch_per_directory_at_a_time(tmp_path: Path) -> None:
    with exclusive(tmp_path / ".download" / "lock"):
        proc = genoflight_cli(
            "fetch", tmp_path, "--no-parquet", "--base-url", "http://127.0.0.1:9/"
        )
    assert_error(proc, "another genoflight fetch is writing into", str(tmp_path))
