"""Seeded mutation fuzzing of every parser, through a real server.

Each source file (one per format and compression) is mutated with a fixed seed:
truncated, bytes flipped, a stretch overwritten, a stretch repeated. All mutants
are served at once; every one is scanned whole. Each scan must either return
rows or fail with an error for that client only, and after each the server must
still answer and still serve an intact table exactly. The seed and the number
of mutants come from ``GENOFLIGHT_FUZZ_SEED`` / ``GENOFLIGHT_FUZZ_MUTANTS``
(fixed defaults keep CI reproducible and bounded).
"""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Iterator

import pytest
from _servers import Served, serve, write_config
from _support import SHARED_DATA, flight_sql_query
from pyarrow import flight

HTSLIB = SHARED_DATA / "htslib"
SOURCES = [
    "vcf/vcf_file.vcf",
    "vcf/vcf_file.vcf.gz",
    "annotation/example.bed",
    "annotation/gff_file.gff",
    "annotation/example.gtf.gz",
    "sequence/ce.fa.gz",
    "sequence/fastqs.fq",
    "sequence/faidx_ex1.fq.gz",
    "alignment/ex1.bam",
    "alignment/ce#5.sam",
    "alignment/range.cram",
]
SEED = int(os.environ.get("GENOFLIGHT_FUZZ_SEED", "20261123"))
MUTANTS = int(os.environ.get("GENOFLIGHT_FUZZ_MUTANTS", "8"))
INTACT = "intact_vcf"


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One mutation of ``data``, named for the failure message."""
    n = len(data)
    kind = rng.choice(["truncate", "flip", "overwrite", "repeat"])
    at = rng.randrange(n)
    if kind == "truncate":
        return f"truncated at {at}", data[:at]
    if kind == "flip":
        out = bytearray(data)
        spots = sorted(rng.randrange(n) for _ in range(rng.randint(1, 8)))
        for i in spots:
            out[i] ^= 1 << rng.randrange(8)
        return f"bits flipped at {spots}", bytes(out)
    length = rng.randint(1, 64)
    if kind == "overwrite":
        junk = bytes(rng.randrange(256) for _ in range(length))
        return f"{length} bytes overwritten at {at}", data[:at] + junk + data[at + length :]
    return f"{length} bytes repeated at {at}", data[:at] + data[at : at + length] + data[at:]


def suffix(name: str) -> str:
    """``.vcf.gz``, ``.bam``, ...: what the catalog recognises the format by."""
    parts = name.split(".")
    return "." + ".".join(parts[1:] if parts[-1] == "gz" else parts[-1:])


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, dict[str, str]]]:
    work = tmp_path_factory.mktemp("fuzz")
    rng = random.Random(SEED)
    tables: list[dict[str, object]] = []
    what: dict[str, str] = {}
    for source in SOURCES:
        path = HTSLIB / source
        if not path.is_file():
            continue
        data = path.read_bytes()
        stem = path.name.split(".")[0].replace("#", "_")
        for i in range(MUTANTS):
            name = f"{stem}_{suffix(path.name)[1:].replace('.', '_')}_{i}"
            how, mutant = mutate(data, rng)
            target = work / f"{name}{suffix(path.name)}"
            target.write_bytes(mutant)
            entry: dict[str, object] = {"name": name, "path": target}
            if path.suffix == ".cram":
                entry["reference"] = HTSLIB / "alignment" / "ce.fa"
            tables.append(entry)
            what[name] = f"{source} {how} (seed {SEED})"
    intact = work / "intact.vcf"
    shutil.copy(HTSLIB / "vcf" / "vcf_file.vcf", intact)
    tables.append({"name": INTACT, "path": intact})
    if not what:
        pytest.skip("the shared htslib files are not there")
    config = write_config(work / "genoflight.toml", {"tables": tables})
    with serve(config, work) as served:
        yield served, what


def test_every_mutant_fails_alone_or_reads(fuzzed: tuple[Served, dict[str, str]]) -> None:
    served, what = fuzzed
    expected = flight_sql_query(served.uri, f"SELECT count(*) AS n FROM {INTACT}").column(0)[0]
    outcomes: dict[str, int] = {"read": 0, "error": 0}
    for name, how in what.items():
        try:
            flight_sql_query(served.uri, f'SELECT * FROM "{name}"')
            outcomes["read"] += 1
        except flight.FlightError as e:
            message = str(e)
            assert message.strip(), f"{how}: an empty error"
            assert "panicked" not in message, f"{how}: a panic reached the client: {message}"
            outcomes["error"] += 1
        assert served.alive(), f"the server died on {how}:\n{served.stderr()[-3000:]}"
        intact = flight_sql_query(served.uri, f"SELECT count(*) AS n FROM {INTACT}").column(0)[0]
        assert intact == expected, f"after {how}, an intact table reads differently"
    print(f"fuzz: {len(what)} mutants, {outcomes}")
