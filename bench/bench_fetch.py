"""``genoflight fetch`` throughput from a local mirror, and the cost of a rerun.

Serves generated files from tests/_mirror.py (a stdlib HTTP server with Range support, in this
process) on 127.0.0.1 and runs ``python -m genoflight fetch --no-parquet`` against it, timing:

- one large file (``--size-mb``, default 200) and the same bytes as ``--files`` files (default 4)
  fetched with ``--jobs`` connections (default 4): download + BSD ``sum`` verification, MB/s;
- ``curl`` downloading the same files one after another (a reference for the server's and the
  loopback's speed; skipped if curl is missing);
- a rerun when everything is present (manifest check only) and a rerun with ``--verify``
  (every file hashed again).

The files are random bytes named like Ensembl's VCFs; CHECKSUMS is written with ``sum -r``.
With ``--vcf PATH`` (default bench/out/medium/variants.vcf.gz when bench_vcf.py made it), that
VCF is also served as one chromosome's file, downloaded, and the conversion to sorted Parquet is
timed on its own (a second run without ``--no-parquet``). Numbers are one run on this machine;
MB = 10^6 bytes.

    uv run python bench/bench_fetch.py [--size-mb 200] [--files 4] [--jobs 4] [--vcf PATH]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from _mirror import Mirror  # noqa: E402

SPECIES = "homo_sapiens"
RELEASE = 115


def write_random(path: Path, size: int) -> None:
    block = 1 << 20
    with path.open("wb") as f:
        left = size
        while left > 0:
            f.write(os.urandom(min(block, left)))
            left -= block


def write_checksums(directory: Path) -> None:
    names = sorted(p.name for p in directory.iterdir() if p.name != "CHECKSUMS")
    out = subprocess.run(
        ["sum", "-r", *names], cwd=directory, capture_output=True, text=True, check=True
    ).stdout
    (directory / "CHECKSUMS").write_text(out)


def fetch(mirror: Mirror, out: Path, *args: str, parquet: bool = False) -> float:
    cmd = [
        sys.executable, "-m", "genoflight", "fetch", str(out), "--mirror", f"{mirror.url}/pub",
        "--release", str(RELEASE), *([] if parquet else ["--no-parquet"]), *args,
    ]  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"genoflight fetch failed:\n{proc.stderr}")
    return seconds


def curl_all(mirror: Mirror, directory: Path, names: list[str], out: Path) -> float | None:
    curl = shutil.which("curl")
    if curl is None:
        return None
    base = f"{mirror.url}/{directory.relative_to(mirror.root).as_posix()}/"
    start = time.perf_counter()
    for name in names:
        subprocess.run(
            [curl, "-sSf", "-o", str(out / name), base + name], check=True, capture_output=True
        )
    return time.perf_counter() - start


def convert_case(vcf: Path, tmp: Path) -> list[tuple[str, float, int]]:
    import pyarrow.parquet as pq

    mirror_root = tmp / "mirror-vcf"
    d = mirror_root / "pub" / f"release-{RELEASE}" / "variation" / "vcf" / SPECIES
    d.mkdir(parents=True)
    name = f"{SPECIES}-chr1.vcf.gz"
    shutil.copyfile(vcf, d / name)
    write_checksums(d)
    out = tmp / "out-vcf"
    size = (d / name).stat().st_size
    with Mirror(mirror_root) as mirror:
        fetched = fetch(mirror, out, "-q")
        converted = fetch(mirror, out, "-q", parquet=True)
    rows = pq.ParquetFile(out / "parquet" / f"{SPECIES}_chr1.parquet").metadata.num_rows
    label = f"{vcf.name}, {size / 1e6:.0f} MB, {rows:,} records"
    print(f"conversion: {rows / converted:,.0f} records/s ({label})")
    return [
        (f"fetch {label}", fetched, size),
        (f"convert to sorted Parquet ({label})", converted, 0),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200, help="total bytes per case (MB)")
    parser.add_argument("--files", type=int, default=4, help="files in the parallel case")
    parser.add_argument("--jobs", type=int, default=4, help="--jobs for the parallel case")
    default_vcf = REPO / "bench" / "out" / "medium" / "variants.vcf.gz"
    parser.add_argument(
        "--vcf",
        type=Path,
        default=default_vcf if default_vcf.is_file() else None,
        help="a VCF whose conversion to Parquet to time (default: bench_vcf.py's medium one)",
    )
    args = parser.parse_args()
    total = args.size_mb * 1_000_000

    with tempfile.TemporaryDirectory(prefix="bench-fetch-", dir=REPO / "bench" / "out") as tmp:
        root = Path(tmp) / "mirror"
        rows: list[tuple[str, float, int]] = []
        cases = {
            "one": [("1", total)],
            "many": [(str(i + 1), total // args.files) for i in range(args.files)],
        }
        for case, files in cases.items():
            d = root / case / "pub" / f"release-{RELEASE}" / "variation" / "vcf" / SPECIES
            d.mkdir(parents=True)
            for chrom, size in files:
                write_random(d / f"{SPECIES}-chr{chrom}.vcf.gz", size)
            write_checksums(d)
        for case, files in cases.items():
            mirror_root = root / case
            d = mirror_root / "pub" / f"release-{RELEASE}" / "variation" / "vcf" / SPECIES
            names = [f"{SPECIES}-chr{c}.vcf.gz" for c, _ in files]
            size = sum(s for _, s in files)
            with Mirror(mirror_root) as mirror:
                out = Path(tmp) / f"out-{case}"
                jobs = "1" if case == "one" else str(args.jobs)
                label = f"{len(files)} x {size // len(files) / 1e6:.0f} MB, --jobs {jobs}"
                rows.append((f"fetch {label}", fetch(mirror, out, "--jobs", jobs, "-q"), size))
                rows.append((f"rerun, all present ({label})", fetch(mirror, out, "-q"), 0))
                rows.append((f"rerun --verify ({label})", fetch(mirror, out, "--verify"), 0))
                curl_out = Path(tmp) / f"curl-{case}"
                curl_out.mkdir()
                seconds = curl_all(mirror, d, names, curl_out)
                if seconds is not None:
                    rows.append((f"curl, one file after another ({label})", seconds, size))
            shutil.rmtree(mirror_root / "pub")  # keep the disk footprint to one case
        if args.vcf is not None:
            rows.extend(convert_case(args.vcf, Path(tmp)))

    print(f"{'case':<52} {'seconds':>8} {'MB/s':>8}")
    for name, seconds, size in rows:
        rate = f"{size / seconds / 1e6:8.1f}" if size else f"{'':>8}"
        print(f"{name:<52} {seconds:8.2f} {rate}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
