"""GFF3/GTF attributes promoted to columns by the table's `attributes` option.

Each promoted column must equal the attribute as the `attributes` map gives it, NULL
where a record lacks it; the number of non-NULL values must equal the number of
records whose attribute text names the key (counted here from the file).
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest
from _servers import Served, serve, write_config
from _support import SHARED_DATA, flight_sql_query

ANNOTATION_DIR = SHARED_DATA / "htslib" / "annotation"
PROMOTED = {
    "gtf": ("example.gtf.gz", ["gene_id", "transcript_id", "gene_name"]),
    "gff": ("gff_file.gff", ["ID", "Parent", "Name"]),
}


def records(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [line for line in f if line.strip() and not line.startswith("#")]


def has_key(line: str, key: str, gtf: bool) -> bool:
    text = line.rstrip("\n").split("\t")[8]
    items = [i.strip() for i in text.split(";") if i.strip()]
    keys = [i.split(" ", 1)[0] if gtf else i.split("=", 1)[0] for i in items]
    return key in keys


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    work = tmp_path_factory.mktemp("gff-attributes")
    tables = [
        {"name": name, "path": ANNOTATION_DIR / file, "attributes": keys}
        for name, (file, keys) in PROMOTED.items()
        if (ANNOTATION_DIR / file).is_file()
    ]
    if not tables:
        pytest.skip("the shared annotation files are not there")
    # An attribute named like a fixed column cannot be promoted: that table is unreadable.
    tables.append(
        {"name": "clash", "path": ANNOTATION_DIR / "gff_file.gff", "attributes": ["start"]}
    )
    config = write_config(work / "genoflight.toml", {"tables": tables})
    with serve(config, work) as s:
        yield s


@pytest.mark.parametrize("name", sorted(PROMOTED))
def test_promoted_columns_equal_the_attributes_map(served: Served, name: str) -> None:
    file, keys = PROMOTED[name]
    lines = records(ANNOTATION_DIR / file)
    for key in keys:
        sql = (
            f'SELECT count("{key}") AS present, '
            f"sum(CASE WHEN \"{key}\" IS DISTINCT FROM attributes['{key}'] THEN 1 ELSE 0 END) "
            f"AS differ FROM {name}"
        )
        row = flight_sql_query(served.uri, sql).to_pylist()[0]
        expected = sum(has_key(line, key, name == "gtf") for line in lines)
        assert row == {"present": expected, "differ": 0}, f"{name}.{key}"


def test_a_promoted_column_is_projected_alone(served: Served) -> None:
    got = flight_sql_query(served.uri, 'SELECT "ID" FROM gff WHERE "ID" IS NOT NULL LIMIT 1')
    assert got.column_names == ["ID"] and got.num_rows == 1


def test_a_clashing_attribute_makes_a_clear_error(served: Served) -> None:
    from _support import flight_sql_error

    err = flight_sql_error(served.uri, "SELECT * FROM clash")
    assert "'start'" in err and "already has" in err, err
    assert flight_sql_query(served.uri, "SELECT count(*) FROM gff").num_rows == 1
