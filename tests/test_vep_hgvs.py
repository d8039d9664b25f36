"""annotate_vep(..., 'fasta=<table>', 'hgvs=true') (issue 8): HGVSc / HGVSp / HGVS_OFFSET / HGVSg.

The shared cache's FASTA is not available, so this builds a genome consistent with two of the
cache's coding transcripts (one per strand): each transcript's cached cDNA (5' UTR + CDS + 3' UTR)
is written at its exon coordinates, introns and flanks are seeded random bases, the rest is N.
Variants are then placed on those transcripts and the expected notation is worked out here from the
HGVS rules (c. numbering relative to the A of ATG, `-`/`*` UTR positions, `+`/`-` intron offsets,
3' rule for deletions and duplications, fsTer counting from the first changed residue, three-letter
amino acids, `=` written `%3D`), not from annotate_vep's output.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from _servers import Served, serve, write_config
from _support import SHARED_DATA, flight_sql_error, flight_sql_query, unavailable

CACHE = SHARED_DATA / "vep" / "cache" / "homo_sapiens" / "84_GRCh38"
CHROM = "21"

BASES = "TCAG"
AMINO = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
CODE = {
    a + b + c: AMINO[16 * i + 4 * j + k]
    for i, a in enumerate(BASES)
    for j, b in enumerate(BASES)
    for k, c in enumerate(BASES)
}
THREE = dict(
    zip(
        "ARNDCQEGHILKMFPSTWYV*",
        [
            *("Ala", "Arg", "Asn", "Asp", "Cys", "Gln", "Glu", "Gly", "His", "Ile"),
            *("Leu", "Lys", "Met", "Phe", "Pro", "Ser", "Thr", "Trp", "Tyr", "Val", "Ter"),
        ],
        strict=True,
    )
)
COMPLEMENT = str.maketrans("ACGTN", "TGCAN")


def revcomp(s: str) -> str:
    return s.translate(COMPLEMENT)[::-1]


def translate(s: str) -> str:
    return "".join(CODE.get(s[i : i + 3], "X") for i in range(0, len(s) - 2, 3))


@dataclass
class Tx:
    id: str
    protein: str
    strand: int
    start: int
    end: int
    exons: list[tuple[int, int]]  # transcript order
    utr5: str
    cds: str
    utr3: str
    peptide: str

    @property
    def cdna(self) -> str:
        return self.utr5 + self.cds + self.utr3

    def genomic(self, c: int) -> int:
        """Genomic position of cDNA position c (1-based)."""
        for s, e in self.exons:
            n = e - s + 1
            if c <= n:
                return s + c - 1 if self.strand > 0 else e - c + 1
            c -= n
        raise AssertionError("cDNA position past the transcript")

    def c_of(self, cdna: int) -> str:
        """c. coordinate of a cDNA position: -N in the 5' UTR, *N in the 3' UTR."""
        first, last = len(self.utr5) + 1, len(self.utr5) + len(self.cds)
        if cdna < first:
            return str(cdna - first)
        if cdna > last:
            return f"*{cdna - last}"
        return str(cdna - first + 1)

    def exon_cdna_ends(self) -> list[tuple[int, int]]:
        out, c = [], 0
        for s, e in self.exons:
            out.append((c + 1, c + e - s + 1))
            c += e - s + 1
        return out


def query(served: Served, sql: str) -> list[dict]:
    return flight_sql_query(served.uri, sql).to_pylist()


def pick_transcripts(served: Served) -> list[Tx]:
    """One complete coding transcript per strand, without sequence edits.

    Its cached cDNA (5' UTR + CDS + 3' UTR) then fills its exons exactly.
    """
    rows = query(
        served,
        'SELECT t.stable_id, t.version, t.strand, t.start, t."end", t.translateable_seq, '
        "t.five_prime_utr, t.three_prime_utr, t.peptide, p.stable_id AS protein, "
        "p.version AS protein_version "
        "FROM vep.transcripts t JOIN vep.translations p ON p.transcript_id = t.stable_id "
        f"WHERE t.chrom = '{CHROM}' AND t.biotype = 'protein_coding' "
        "AND t.translateable_seq IS NOT NULL AND t.five_prime_utr IS NOT NULL "
        "AND t.three_prime_utr IS NOT NULL ORDER BY t.stable_id",
    )
    exons: dict[str, list[tuple[int, int]]] = {}
    for e in query(
        served,
        'SELECT transcript_id, start, "end", exon_number FROM vep.exons ORDER BY exon_number',
    ):
        exons.setdefault(e["transcript_id"], []).append((e["start"], e["end"]))
    chosen: dict[int, Tx] = {}
    for r in rows:
        ex = exons.get(r["stable_id"], [])
        cds, utr5, utr3 = (
            r["translateable_seq"].upper(),
            r["five_prime_utr"].upper(),
            r["three_prime_utr"].upper(),
        )
        if (
            r["strand"] in chosen
            or len(ex) < 3
            or len(utr5) < 5
            or len(utr3) < 5
            or sum(e - s + 1 for s, e in ex) != len(utr5) + len(cds) + len(utr3)
            or len(cds) % 3
            or not cds.startswith("ATG")
            or translate(cds) != (r["peptide"] or "") + "*"
            or any(
                chosen_tx.start - 3000 < r["end"] and r["start"] < chosen_tx.end + 3000
                for chosen_tx in chosen.values()
            )
        ):
            continue
        chosen[r["strand"]] = Tx(
            id=f"{r['stable_id']}.{r['version']}",
            protein=f"{r['protein']}.{r['protein_version']}",
            strand=r["strand"],
            start=r["start"],
            end=r["end"],
            exons=ex,
            utr5=utr5,
            cds=cds,
            utr3=utr3,
            peptide=r["peptide"],
        )
    if set(chosen) != {1, -1}:
        pytest.fail("the shared cache has no complete coding transcript on each strand")
    return [chosen[1], chosen[-1]]


def build_genome(path: Path, txs: list[Tx]) -> bytearray:
    rng = random.Random(8)
    length = max(t.end for t in txs) + 5000
    genome = bytearray(b"N" * length)
    for t in txs:
        for p in range(t.start - 1500, t.end + 1501):
            genome[p - 1] = ord(rng.choice("ACGT"))
        for i, base in enumerate(t.cdna):
            genome[t.genomic(i + 1) - 1] = ord(base if t.strand > 0 else base.translate(COMPLEMENT))
    width = 60
    with open(path, "wb") as f:
        header = f">{CHROM}\n".encode()
        f.write(header)
        for i in range(0, length, width):
            f.write(genome[i : i + width] + b"\n")
    Path(str(path) + ".fai").write_text(
        f"{CHROM}\t{length}\t{len(header)}\t{width}\t{width + 1}\n", encoding="utf-8"
    )
    return genome


@dataclass
class Case:
    id: str
    pos: int
    ref: str
    alt: str
    tx: Tx
    hgvsc: str
    hgvsp: str | None
    offset: int | None
    hgvsg: str | None = None


def fs_protein(t: Tx, edited_cds: str, first_codon: int) -> str:
    """p. of a frameshift: the first residue that differs, then the residues up to the new stop."""
    alt = translate(edited_cds + t.utr3)
    ref = t.peptide + "*"
    j = first_codon
    while alt[j - 1] == ref[j - 1]:
        j += 1
    if alt[j - 1] == "*":
        return f"p.{THREE[ref[j - 1]]}{j}Ter"
    stop = alt.index("*") + 1
    return f"p.{THREE[ref[j - 1]]}{j}{THREE[alt[j - 1]]}fsTer{stop - j + 1}"


def cases(genome: bytearray, t: Tx) -> list[Case]:
    g = lambda p: chr(genome[p - 1])  # noqa: E731
    fwd = lambda s: s if t.strand > 0 else s.translate(COMPLEMENT)  # noqa: E731
    u = len(t.utr5)
    out: list[Case] = []
    name = t.id.split(".")[0]

    def snv(tag: str, cdna: int, alt: str, c: str, p: str | None, hgvsg: bool = False) -> None:
        pos = t.genomic(cdna)
        ref_t = t.cdna[cdna - 1]
        galt = fwd(alt)
        out.append(
            Case(
                f"{name}_{tag}",
                pos,
                g(pos),
                galt,
                t,
                f"{t.id}:c.{c}{ref_t}>{alt}",
                p and f"{t.protein}:{p}",
                None,
                f"{CHROM}:g.{pos}{g(pos)}>{galt}" if hgvsg else None,
            )
        )

    # Missense at the first base of codon 2.
    codon = t.cds[3:6]
    alt = next(b for b in "ACGT" if b != codon[0] and CODE[b + codon[1:]] not in ("*", CODE[codon]))
    snv(
        "missense",
        u + 4,
        alt,
        "4",
        f"p.{THREE[CODE[codon]]}2{THREE[CODE[alt + codon[1:]]]}",
        hgvsg=True,
    )
    # Synonymous: the first codon (from 2) whose third base can change silently.
    for k in range(2, len(t.cds) // 3):
        codon = t.cds[3 * k - 3 : 3 * k]
        silent = [b for b in "ACGT" if b != codon[2] and CODE[codon[:2] + b] == CODE[codon]]
        if silent:
            snv("synonymous", u + 3 * k, silent[0], str(3 * k), f"p.{THREE[CODE[codon]]}{k}%3D")
            break
    # UTR ends: the first cDNA base and the last.
    first = t.cdna[0]
    snv("utr5", 1, next(b for b in "ACGT" if b != first), f"-{u}", None)
    last = t.cdna[-1]
    snv("utr3", len(t.cdna), next(b for b in "ACGT" if b != last), f"*{len(t.utr3)}", None)
    # Intron 1: 3 bases after exon 1's last base and 3 before exon 2's first (transcript
    # orientation).
    (_, e1_last), (e2_first, _) = t.exon_cdna_ends()[:2]
    for tag, base_cdna, step, sign in (
        ("donor3", e1_last, 3, "+"),
        ("acceptor3", e2_first, -3, "-"),
    ):
        anchor = t.genomic(base_cdna)
        pos = anchor + step * t.strand
        ref_t = fwd(g(pos))
        alt = next(b for b in "ACGT" if b != ref_t)
        out.append(
            Case(
                f"{name}_{tag}",
                pos,
                g(pos),
                fwd(alt),
                t,
                f"{t.id}:c.{t.c_of(base_cdna)}{sign}3{ref_t}>{alt}",
                None,
                None,
            )
        )
    # Homopolymer runs inside one exon, away from its ends, from CDS 10 on.
    inside = set()
    for cs, ce in t.exon_cdna_ends():
        inside.update(range(max(cs + 5, u + 10), min(ce - 5, u + len(t.cds) - 10)))
    runs = []  # (first, last) cDNA positions of maximal runs of one base
    c = u + 10
    while c < u + len(t.cds) - 10:
        d = c
        while t.cdna[d] == t.cdna[c - 1]:  # t.cdna[d] is cDNA position d + 1
            d += 1
        if t.cdna[c - 2] != t.cdna[c - 1] and all(x in inside for x in range(c - 1, d + 2)):
            runs.append((c, d))
        c = d + 1
    single = next(r for r in runs if r[0] == r[1])
    run = next(r for r in runs if r[1] - r[0] >= 1)

    def cds_of(cdna: int) -> int:
        return cdna - u

    # A one-base deletion with nothing to shift: c.<n>del, a frameshift.
    c = single[0]
    pos = t.genomic(c)
    anchor = pos - 1
    edited = t.cds[: cds_of(c) - 1] + t.cds[cds_of(c) :]
    out.append(
        Case(
            f"{name}_del",
            anchor,
            g(anchor) + g(pos),
            g(anchor),
            t,
            f"{t.id}:c.{cds_of(c)}del",
            f"{t.protein}:{fs_protein(t, edited, (cds_of(c) + 2) // 3)}",
            None,
        )
    )
    # The first base of a run deleted: HGVS names the run's last base (3' rule), HGVS_OFFSET
    # the move.
    a, b = run
    edited = t.cds[: cds_of(a) - 1] + t.cds[cds_of(a) :]
    # On the forward strand the deleted base is the run's first in transcript order.
    pos = t.genomic(a)
    anchor = pos - 1
    out.append(
        Case(
            f"{name}_rundel",
            anchor,
            g(anchor) + g(pos),
            g(anchor),
            t,
            f"{t.id}:c.{cds_of(b)}del",
            f"{t.protein}:{fs_protein(t, edited, (cds_of(b) + 2) // 3)}",
            (b - a) * t.strand,
        )
    )
    # The run's base inserted before the run: a duplication of its last base.
    x = t.cdna[a - 1]
    edited = t.cds[: cds_of(a) - 1] + x + t.cds[cds_of(a) - 1 :]
    before, at = t.genomic(a - 1), t.genomic(a)
    left = min(before, at)
    out.append(
        Case(
            f"{name}_dup",
            left,
            g(left),
            g(left) + fwd(x),
            t,
            f"{t.id}:c.{cds_of(b)}dup",
            f"{t.protein}:{fs_protein(t, edited, (cds_of(b) + 1 + 2) // 3)}",
            (b - a + 1) * t.strand,
        )
    )
    return out


@dataclass
class Setup:
    served: Served
    cases: list[Case]
    bad_ref: str


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    if not CACHE.is_dir():
        unavailable(f"shared VEP cache not found at {CACHE} (set GENOFLIGHT_SHARED_DATA)")
    tmp = tmp_path_factory.mktemp("vep_hgvs")
    caches = [{"name": "vep", "path": str(CACHE)}]
    with serve(write_config(tmp / "cache.toml", {"vep_caches": caches}), tmp) as served:
        txs = pick_transcripts(served)
    genome = build_genome(tmp / "genome.fa", txs)
    all_cases = [c for t in txs for c in cases(genome, t)]
    # A record whose REF is not the genome's (skipped with check_ref=true).
    bad = all_cases[0]
    wrong = next(b for b in "ACGT" if b != bad.ref)
    lines = [
        "##fileformat=VCFv4.2",
        f"##contig=<ID={CHROM},length={len(genome)}>",
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
    ]
    records = [(c.pos, c.id, c.ref, c.alt) for c in all_cases]
    records.append((bad.pos, "badref", wrong, bad.ref))
    for pos, vid, ref, alt in sorted(records):
        lines.append(f"{CHROM}\t{pos}\t{vid}\t{ref}\t{alt}\t.\t.\t.")
    (tmp / "hgvs.vcf").write_text("\n".join(lines) + "\n", encoding="utf-8")
    tables = [
        {"name": "v_hgvs", "path": str(tmp / "hgvs.vcf")},
        {"name": "genome", "path": str(tmp / "genome.fa")},
    ]
    config = write_config(tmp / "vep.toml", {"tables": tables, "vep_caches": caches})
    with serve(config, tmp) as served:
        yield Setup(served, all_cases, "badref")


def rows(setup: Setup, *options: str) -> list[dict]:
    opts = "".join(f", '{o}'" for o in options)
    return query(setup.served, f"SELECT * FROM annotate_vep('v_hgvs', 'vep'{opts})")


def test_hgvs_notation_by_the_rules(setup: Setup) -> None:
    got = {
        (r["Uploaded_variation"], r["Feature"]): r
        for r in rows(setup, "fasta=genome", "hgvs=true", "hgvsg=true")
    }
    failures = []
    for c in setup.cases:
        r = got.get((c.id, c.tx.id.split(".")[0]))
        if r is None:
            failures.append(f"{c.id}: no row on {c.tx.id}")
            continue
        seen = (r["HGVSc"], r["HGVSp"], r["HGVS_OFFSET"])
        want = (c.hgvsc, c.hgvsp, c.offset)
        if seen != want:
            failures.append(f"{c.id}: got {seen}, want {want}")
        if c.hgvsg is not None and r["HGVSg"] != c.hgvsg:
            failures.append(f"{c.id}: HGVSg {r['HGVSg']}, want {c.hgvsg}")
    assert not failures, "\n".join(failures)


def test_consequences_do_not_change_with_a_fasta(setup: Setup) -> None:
    key = (
        "Uploaded_variation",
        "Allele",
        "Feature",
        "Consequence",
        "Protein_position",
        "Amino_acids",
    )
    plain = sorted(tuple(r[k] for k in key) for r in rows(setup))
    with_fasta = rows(setup, "fasta=genome", "everything=true")
    assert plain == sorted(tuple(r[k] for k in key) for r in rows(setup, "fasta=genome"))
    # everything=true includes hgvs (VEP's --everything), never HGVSg.
    assert any(r["HGVSc"] for r in with_fasta)
    assert not any(r["HGVSg"] for r in with_fasta)
    # Without a FASTA, VEP (offline) disables HGVS.
    assert not any(r["HGVSc"] or r["HGVSp"] for r in rows(setup, "everything=true"))


def test_check_ref_and_errors(setup: Setup) -> None:
    ids = {r["Uploaded_variation"] for r in rows(setup, "fasta=genome")}
    assert setup.bad_ref in ids
    ids = {r["Uploaded_variation"] for r in rows(setup, "fasta=genome", "check_ref=true")}
    assert setup.bad_ref not in ids and len(ids) == len(setup.cases)
    message = flight_sql_error(
        setup.served.uri, "SELECT * FROM annotate_vep('v_hgvs', 'vep', 'hgvs=true')"
    )
    assert "fasta=" in message
    message = flight_sql_error(
        setup.served.uri, "SELECT * FROM annotate_vep('v_hgvs', 'vep', 'fasta=v_hgvs')"
    )
    assert "not a FASTA table" in message
