//! VEP's two text outputs of the annotated rows: the `CSQ` INFO field of
//! `--vcf` (OutputFactory::VCF) and the columns of `--tab`
//! (OutputFactory::Tab). Which fields appear follows VEP 115's flag table
//! (Constants::FLAG_FIELDS, filtered by the options in effect); the values
//! are [`OutRow`]'s, written as each format writes them.

use super::output::{OutRow, find_field};

/// The options that decide VEP's field list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FieldFlags {
    pub everything: bool,
    pub check_existing: bool,
    pub regulatory: bool,
    /// HGVSc/HGVSp computed (`--everything` or `hgvs` with a FASTA: VEP
    /// turns HGVS off when offline without one, as in the shared outputs).
    pub hgvs: bool,
    /// HGVSg computed (`hgvsg` with a FASTA).
    pub hgvsg: bool,
    /// A RefSeq cache (`--refseq`): REFSEQ_MATCH, REFSEQ_OFFSET.
    pub refseq: bool,
    /// A merged cache (`--merged`): REFSEQ_MATCH, SOURCE, REFSEQ_OFFSET.
    pub merged: bool,
}

impl FieldFlags {
    /// From `annotate_vep`'s `name=value` options (already validated by it)
    /// and the cache's species directory (`homo_sapiens_refseq`, `_merged`).
    pub fn new<'a>(options: impl IntoIterator<Item = &'a str>, species_dir: &str) -> FieldFlags {
        let mut values: Vec<(String, String)> = Vec::new();
        for text in options {
            for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                if let Some((k, v)) = item.split_once('=') {
                    values.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
                }
            }
        }
        let get = |key: &str| {
            values
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        let flag = |key: &str, default: bool| match get(key).map(str::to_ascii_lowercase) {
            Some(v) => matches!(v.as_str(), "true" | "1" | "yes"),
            None => default,
        };
        let everything = flag("everything", false);
        let fasta = get("fasta").is_some_and(|f| !f.is_empty());
        let species = species_dir.to_ascii_lowercase();
        FieldFlags {
            everything,
            check_existing: flag("check_existing", everything),
            regulatory: flag("regulatory", everything),
            hgvs: fasta && flag("hgvs", everything),
            hgvsg: fasta && flag("hgvsg", false),
            refseq: species.ends_with("_refseq"),
            merged: species.ends_with("_merged"),
        }
    }
}

/// VEP's fixed leading columns of `--tab` (Constants::DEFAULT_OUTPUT_COLS).
const TAB_COLS: &[&str] = &[
    "Uploaded_variation",
    "Location",
    "Allele",
    "Gene",
    "Feature",
    "Feature_type",
    "Consequence",
    "cDNA_position",
    "CDS_position",
    "Protein_position",
    "Amino_acids",
    "Codons",
    "Existing_variation",
];

/// VEP's fixed leading CSQ fields of `--vcf` (OutputFactory::VCF's @VCF_COLS):
/// HGVSc/HGVSp are always listed, empty when HGVS is off.
const VCF_COLS: &[&str] = &[
    "Allele",
    "Consequence",
    "IMPACT",
    "SYMBOL",
    "Gene",
    "Feature_type",
    "Feature",
    "BIOTYPE",
    "EXON",
    "INTRON",
    "HGVSc",
    "HGVSp",
    "cDNA_position",
    "CDS_position",
    "Protein_position",
    "Amino_acids",
    "Codons",
    "Existing_variation",
];

/// A VEP flag (or a set of them) and the fields it adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flag {
    /// Always on (VEP's `user` entry).
    Always,
    Everything,
    /// symbol, biotype, numbers: on with --everything and always in --vcf.
    EverythingOrVcf,
    Refseq,
    Merged,
    Hgvs,
    Hgvsg,
    CheckExisting,
    Regulatory,
}

/// VEP 115's FLAG_FIELDS for the flags genoflight's options reach, in
/// order; a field listed twice (BIOTYPE) keeps its first place.
const FLAG_FIELDS: &[(Flag, &[&str])] = &[
    (Flag::Always, &["IMPACT", "DISTANCE", "STRAND", "FLAGS"]),
    (Flag::Everything, &["VARIANT_CLASS"]),
    (
        Flag::EverythingOrVcf,
        &["SYMBOL", "SYMBOL_SOURCE", "HGNC_ID"],
    ),
    (Flag::EverythingOrVcf, &["BIOTYPE"]),
    (
        Flag::Everything,
        &[
            "CANONICAL",
            "MANE",
            "MANE_SELECT",
            "MANE_PLUS_CLINICAL",
            "TSL",
            "APPRIS",
            "CCDS",
            "ENSP",
            "SWISSPROT",
            "TREMBL",
            "UNIPARC",
            "UNIPROT_ISOFORM",
        ],
    ),
    (Flag::Refseq, &["REFSEQ_MATCH", "REFSEQ_OFFSET"]),
    (Flag::Merged, &["REFSEQ_MATCH", "SOURCE", "REFSEQ_OFFSET"]),
    (Flag::Everything, &["GENE_PHENO", "SIFT", "PolyPhen"]),
    (Flag::EverythingOrVcf, &["EXON", "INTRON"]),
    (Flag::Everything, &["DOMAINS", "miRNA"]),
    (Flag::Hgvs, &["HGVSc", "HGVSp", "HGVS_OFFSET"]),
    (Flag::Hgvsg, &["HGVSg"]),
    (
        Flag::Everything,
        &[
            "AF",
            "AFR_AF",
            "AMR_AF",
            "EAS_AF",
            "EUR_AF",
            "SAS_AF",
            "gnomADe_AF",
            "gnomADe_AFR_AF",
            "gnomADe_AMR_AF",
            "gnomADe_ASJ_AF",
            "gnomADe_EAS_AF",
            "gnomADe_FIN_AF",
            "gnomADe_MID_AF",
            "gnomADe_NFE_AF",
            "gnomADe_REMAINING_AF",
            "gnomADe_SAS_AF",
            "gnomADg_AF",
            "gnomADg_AFR_AF",
            "gnomADg_AMI_AF",
            "gnomADg_AMR_AF",
            "gnomADg_ASJ_AF",
            "gnomADg_EAS_AF",
            "gnomADg_FIN_AF",
            "gnomADg_MID_AF",
            "gnomADg_NFE_AF",
            "gnomADg_REMAINING_AF",
            "gnomADg_SAS_AF",
            "MAX_AF",
            "MAX_AF_POPS",
        ],
    ),
    (Flag::CheckExisting, &["CLIN_SIG", "SOMATIC", "PHENO"]),
    (Flag::Everything, &["PUBMED"]),
    (
        Flag::Regulatory,
        &[
            "BIOTYPE",
            "MOTIF_NAME",
            "MOTIF_POS",
            "HIGH_INF_POS",
            "MOTIF_SCORE_CHANGE",
            "TRANSCRIPTION_FACTORS",
        ],
    ),
];

/// OutputFactory::flag_fields: the fields of the flags in effect, unique.
fn flag_fields(flags: &FieldFlags, vcf: bool) -> Vec<&'static str> {
    let on = |f: Flag| match f {
        Flag::Always => true,
        Flag::Everything => flags.everything,
        Flag::EverythingOrVcf => flags.everything || vcf,
        Flag::Refseq => flags.refseq,
        Flag::Merged => flags.merged,
        Flag::Hgvs => flags.hgvs,
        Flag::Hgvsg => flags.hgvsg,
        Flag::CheckExisting => flags.check_existing,
        Flag::Regulatory => flags.regulatory,
    };
    let mut out: Vec<&'static str> = Vec::new();
    for (flag, fields) in FLAG_FIELDS {
        if on(*flag) {
            for f in *fields {
                if !out.contains(f) {
                    out.push(f);
                }
            }
        }
    }
    out
}

/// The columns of VEP's `--tab` output.
pub fn tab_fields(flags: &FieldFlags) -> Vec<&'static str> {
    let mut out = TAB_COLS.to_vec();
    out.extend(flag_fields(flags, false));
    out
}

/// The fields of a `CSQ` entry in VEP's `--vcf` output.
pub fn vcf_fields(flags: &FieldFlags) -> Vec<&'static str> {
    let mut out = VCF_COLS.to_vec();
    out.extend(
        flag_fields(flags, true)
            .into_iter()
            .filter(|f| !VCF_COLS.contains(f)),
    );
    out
}

/// A row's value of `name`; `None` for empty and for fields genoflight does
/// not compute (HGVS_OFFSET, or HGVS before it is computed).
pub fn value<'a>(row: &'a OutRow, name: &str) -> Option<&'a str> {
    find_field(name).and_then(|_| row.get(name))
}

/// One `CSQ` entry (OutputFactory::VCF::output_hash_to_vcf_info_chunk):
/// fields joined with `|`, empty and `-` values (but a deleted Allele) as
/// nothing, `,` and `|` as `&`, `;` as `%3B`, whitespace runs as `_`.
pub fn csq_entry(row: &OutRow, fields: &[&str]) -> String {
    let indices: Vec<Option<usize>> = fields.iter().map(|f| find_field(f)).collect();
    let mut out = String::new();
    entry_into(&mut out, row, fields, &indices);
    out
}

/// [`csq_entry`] appended to `out`, the fields looked up among VEP's beforehand
/// (a record's entries share them).
fn entry_into(out: &mut String, row: &OutRow, fields: &[&str], indices: &[Option<usize>]) {
    let values = row.dense();
    for (i, (name, at)) in fields.iter().zip(indices).enumerate() {
        if i > 0 {
            out.push('|');
        }
        match at.and_then(|at| values[at]) {
            Some("-") if *name != "Allele" => {}
            Some(v) => escape_into(out, v),
            None => {}
        }
    }
}

fn escape_into(out: &mut String, value: &str) {
    let mut in_space = false;
    for c in value.chars() {
        if c.is_whitespace() {
            if !in_space {
                out.push('_');
            }
            in_space = true;
            continue;
        }
        in_space = false;
        match c {
            ',' | '|' => out.push('&'),
            ';' => out.push_str("%3B"),
            c => out.push(c),
        }
    }
}

/// The `CSQ` value of one record: its rows' entries joined with `,` in
/// VEP's order; `None` when it has none.
pub fn csq_value<'a>(
    rows: impl IntoIterator<Item = &'a OutRow>,
    fields: &[&str],
) -> Option<String> {
    let indices: Vec<Option<usize>> = fields.iter().map(|f| find_field(f)).collect();
    let mut out = String::new();
    for (i, row) in rows.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        entry_into(&mut out, row, fields, &indices);
    }
    (!out.is_empty()).then_some(out)
}

/// The `##INFO=<ID=CSQ ...>` header line for `fields`.
pub fn csq_header(fields: &[&str]) -> String {
    format!(
        "##INFO=<ID=CSQ,Number=.,Type=String,Description=\"{}\">",
        csq_description(fields)
    )
}

/// The CSQ field's description as VEP writes it, with the field list.
pub fn csq_description(fields: &[&str]) -> String {
    format!(
        "Consequence annotations from Ensembl VEP. Format: {}",
        fields.join("|")
    )
}

/// A record's INFO with `csq` added as VEP does: an existing CSQ key is
/// replaced, `.` becomes the CSQ alone; without CSQ the INFO is unchanged.
pub fn info_with_csq(info: &str, csq: Option<&str>) -> String {
    let kept: Vec<&str> = info
        .split(';')
        .filter(|kv| !kv.is_empty() && *kv != "." && !kv.starts_with("CSQ="))
        .collect();
    let mut out = kept.join(";");
    match csq {
        Some(csq) => {
            if !out.is_empty() {
                out.push(';');
            }
            out.push_str("CSQ=");
            out.push_str(csq);
        }
        None if out.is_empty() => out.push('.'),
        None => {}
    }
    out
}

/// One `--tab` line: the fields tab-separated, `-` for empty.
pub fn tab_line(row: &OutRow, fields: &[&str]) -> String {
    let mut out = String::new();
    for (i, name) in fields.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        out.push_str(value(row, name).unwrap_or("-"));
    }
    out
}

/// The `## Column descriptions:` lines and the `#Uploaded_variation ...`
/// column line of a `--tab` header.
pub fn tab_header_columns(fields: &[&str]) -> Vec<String> {
    let mut out = vec!["## Column descriptions:".to_string()];
    out.extend(
        fields
            .iter()
            .map(|f| format!("## {f} : {}", description(f))),
    );
    out.push(format!("#{}", fields.join("\t")));
    out
}

/// VEP's description of a field (Constants::FIELD_DESCRIPTIONS, 115).
pub fn description(field: &str) -> &'static str {
    DESCRIPTIONS
        .iter()
        .find(|(f, _)| *f == field)
        .map_or("?", |(_, d)| d)
}

const DESCRIPTIONS: &[(&str, &str)] = &[
    ("Uploaded_variation", "Identifier of uploaded variant"),
    (
        "Location",
        "Location of variant in standard coordinate format (chr:start or chr:start-end)",
    ),
    (
        "Allele",
        "The variant allele used to calculate the consequence",
    ),
    ("Gene", "Stable ID of affected gene"),
    ("Feature", "Stable ID of feature"),
    (
        "Feature_type",
        "Type of feature - Transcript, RegulatoryFeature or MotifFeature",
    ),
    ("Consequence", "Consequence type"),
    (
        "cDNA_position",
        "Relative position of base pair in cDNA sequence",
    ),
    (
        "CDS_position",
        "Relative position of base pair in coding sequence",
    ),
    (
        "Protein_position",
        "Relative position of amino acid in protein",
    ),
    ("Amino_acids", "Reference and variant amino acids"),
    ("Codons", "Reference and variant codon sequence"),
    (
        "Existing_variation",
        "Identifier(s) of co-located known variants",
    ),
    (
        "IMPACT",
        "Subjective impact classification of consequence type",
    ),
    ("DISTANCE", "Shortest distance from variant to transcript"),
    ("STRAND", "Strand of the feature (1/-1)"),
    ("FLAGS", "Transcript quality flags"),
    ("VARIANT_CLASS", "SO variant class"),
    ("SYMBOL", "Gene symbol (e.g. HGNC)"),
    ("SYMBOL_SOURCE", "Source of gene symbol"),
    ("HGNC_ID", "Stable identifer of HGNC gene symbol"),
    ("BIOTYPE", "Biotype of transcript or regulatory feature"),
    (
        "CANONICAL",
        "Indicates if transcript is canonical for this gene",
    ),
    (
        "MANE",
        "MANE (Matched Annotation from NCBI and EMBL-EBI) set(s) the transcript belongs to",
    ),
    (
        "MANE_SELECT",
        "MANE Select (Matched Annotation from NCBI and EMBL-EBI) Transcript",
    ),
    (
        "MANE_PLUS_CLINICAL",
        "MANE Plus Clinical (Matched Annotation from NCBI and EMBL-EBI) Transcript",
    ),
    ("TSL", "Transcript support level"),
    (
        "APPRIS",
        "Annotates alternatively spliced transcripts as primary or alternate based on a range of computational methods",
    ),
    ("CCDS", "Indicates if transcript is a CCDS transcript"),
    ("ENSP", "Protein identifer"),
    ("SWISSPROT", "UniProtKB/Swiss-Prot accession"),
    ("TREMBL", "UniProtKB/TrEMBL accession"),
    ("UNIPARC", "UniParc accession"),
    ("UNIPROT_ISOFORM", "Direct mappings to UniProtKB isoforms"),
    ("REFSEQ_MATCH", "RefSeq transcript match status"),
    ("SOURCE", "Source of transcript"),
    (
        "REFSEQ_OFFSET",
        "HGVS adjustment length required due to mismatch between RefSeq transcript and the reference genome",
    ),
    (
        "GENE_PHENO",
        "Indicates if gene is associated with a phenotype, disease or trait",
    ),
    ("SIFT", "SIFT prediction and/or score"),
    ("PolyPhen", "PolyPhen prediction and/or score"),
    ("EXON", "Exon number(s) / total"),
    ("INTRON", "Intron number(s) / total"),
    (
        "DOMAINS",
        "The source and identifer of any overlapping protein domains",
    ),
    (
        "miRNA",
        "SO terms of overlapped miRNA secondary structure feature(s)",
    ),
    ("HGVSc", "HGVS coding sequence name"),
    ("HGVSp", "HGVS protein sequence name"),
    ("HGVSg", "HGVS genomic sequence name"),
    (
        "HGVS_OFFSET",
        "Indicates by how many bases the HGVS notations for this variant have been shifted",
    ),
    (
        "AF",
        "Frequency of existing variant in 1000 Genomes combined population",
    ),
    (
        "AFR_AF",
        "Frequency of existing variant in 1000 Genomes combined African population",
    ),
    (
        "AMR_AF",
        "Frequency of existing variant in 1000 Genomes combined American population",
    ),
    (
        "EAS_AF",
        "Frequency of existing variant in 1000 Genomes combined East Asian population",
    ),
    (
        "EUR_AF",
        "Frequency of existing variant in 1000 Genomes combined European population",
    ),
    (
        "SAS_AF",
        "Frequency of existing variant in 1000 Genomes combined South Asian population",
    ),
    (
        "gnomADe_AF",
        "Frequency of existing variant in gnomAD exomes combined population",
    ),
    (
        "gnomADe_AFR_AF",
        "Frequency of existing variant in gnomAD exomes African/American population",
    ),
    (
        "gnomADe_AMR_AF",
        "Frequency of existing variant in gnomAD exomes American population",
    ),
    (
        "gnomADe_ASJ_AF",
        "Frequency of existing variant in gnomAD exomes Ashkenazi Jewish population",
    ),
    (
        "gnomADe_EAS_AF",
        "Frequency of existing variant in gnomAD exomes East Asian population",
    ),
    (
        "gnomADe_FIN_AF",
        "Frequency of existing variant in gnomAD exomes Finnish population",
    ),
    (
        "gnomADe_MID_AF",
        "Frequency of existing variant in gnomAD exomes Mid-eastern population",
    ),
    (
        "gnomADe_NFE_AF",
        "Frequency of existing variant in gnomAD exomes Non-Finnish European population",
    ),
    (
        "gnomADe_REMAINING_AF",
        "Frequency of existing variant in gnomAD exomes remaining combined populations",
    ),
    (
        "gnomADe_SAS_AF",
        "Frequency of existing variant in gnomAD exomes South Asian population",
    ),
    (
        "gnomADg_AF",
        "Frequency of existing variant in gnomAD genomes combined population",
    ),
    (
        "gnomADg_AFR_AF",
        "Frequency of existing variant in gnomAD genomes African/American population",
    ),
    (
        "gnomADg_AMI_AF",
        "Frequency of existing variant in gnomAD genomes Amish population",
    ),
    (
        "gnomADg_AMR_AF",
        "Frequency of existing variant in gnomAD genomes American population",
    ),
    (
        "gnomADg_ASJ_AF",
        "Frequency of existing variant in gnomAD genomes Ashkenazi Jewish population",
    ),
    (
        "gnomADg_EAS_AF",
        "Frequency of existing variant in gnomAD genomes East Asian population",
    ),
    (
        "gnomADg_FIN_AF",
        "Frequency of existing variant in gnomAD genomes Finnish population",
    ),
    (
        "gnomADg_MID_AF",
        "Frequency of existing variant in gnomAD genomes Mid-eastern population",
    ),
    (
        "gnomADg_NFE_AF",
        "Frequency of existing variant in gnomAD genomes Non-Finnish European population",
    ),
    (
        "gnomADg_REMAINING_AF",
        "Frequency of existing variant in gnomAD genomes remaining combined populations",
    ),
    (
        "gnomADg_SAS_AF",
        "Frequency of existing variant in gnomAD genomes South Asian population",
    ),
    (
        "MAX_AF",
        "Maximum observed allele frequency in 1000 Genomes, ESP and ExAC/gnomAD",
    ),
    (
        "MAX_AF_POPS",
        "Populations in which maximum allele frequency was observed",
    ),
    (
        "CLIN_SIG",
        "ClinVar clinical significance of the dbSNP variant",
    ),
    ("SOMATIC", "Somatic status of existing variant"),
    (
        "PHENO",
        "Indicates if existing variant(s) is associated with a phenotype, disease or trait; multiple values correspond to multiple variants",
    ),
    (
        "PUBMED",
        "Pubmed ID(s) of publications that cite existing variant",
    ),
    (
        "MOTIF_NAME",
        "The stable identifier of a transcription factor binding profile (TFBP) aligned at this position",
    ),
    (
        "MOTIF_POS",
        "The relative position of the variation in the aligned TFBP",
    ),
    (
        "HIGH_INF_POS",
        "A flag indicating if the variant falls in a high information position of the TFBP",
    ),
    (
        "MOTIF_SCORE_CHANGE",
        "The difference in motif score of the reference and variant sequences for the TFBP",
    ),
    (
        "TRANSCRIPTION_FACTORS",
        "List of transcription factors which bind to the transcription factor binding profile",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(options: &[&str], species: &str) -> FieldFlags {
        FieldFlags::new(options.iter().copied(), species)
    }

    // VEP 115's own headers on the shared data (expected/test3.*).
    const VCF_EVERYTHING: &str = "Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|EXON|INTRON|HGVSc|HGVSp|cDNA_position|CDS_position|Protein_position|Amino_acids|Codons|Existing_variation|DISTANCE|STRAND|FLAGS|VARIANT_CLASS|SYMBOL_SOURCE|HGNC_ID|CANONICAL|MANE|MANE_SELECT|MANE_PLUS_CLINICAL|TSL|APPRIS|CCDS|ENSP|SWISSPROT|TREMBL|UNIPARC|UNIPROT_ISOFORM|GENE_PHENO|SIFT|PolyPhen|DOMAINS|miRNA|AF|AFR_AF|AMR_AF|EAS_AF|EUR_AF|SAS_AF|gnomADe_AF|gnomADe_AFR_AF|gnomADe_AMR_AF|gnomADe_ASJ_AF|gnomADe_EAS_AF|gnomADe_FIN_AF|gnomADe_MID_AF|gnomADe_NFE_AF|gnomADe_REMAINING_AF|gnomADe_SAS_AF|gnomADg_AF|gnomADg_AFR_AF|gnomADg_AMI_AF|gnomADg_AMR_AF|gnomADg_ASJ_AF|gnomADg_EAS_AF|gnomADg_FIN_AF|gnomADg_MID_AF|gnomADg_NFE_AF|gnomADg_REMAINING_AF|gnomADg_SAS_AF|MAX_AF|MAX_AF_POPS|CLIN_SIG|SOMATIC|PHENO|PUBMED|MOTIF_NAME|MOTIF_POS|HIGH_INF_POS|MOTIF_SCORE_CHANGE|TRANSCRIPTION_FACTORS";

    const TAB_EVERYTHING: &str = "Uploaded_variation|Location|Allele|Gene|Feature|Feature_type|Consequence|cDNA_position|CDS_position|Protein_position|Amino_acids|Codons|Existing_variation|IMPACT|DISTANCE|STRAND|FLAGS|VARIANT_CLASS|SYMBOL|SYMBOL_SOURCE|HGNC_ID|BIOTYPE|CANONICAL|MANE|MANE_SELECT|MANE_PLUS_CLINICAL|TSL|APPRIS|CCDS|ENSP|SWISSPROT|TREMBL|UNIPARC|UNIPROT_ISOFORM|GENE_PHENO|SIFT|PolyPhen|EXON|INTRON|DOMAINS|miRNA|AF|AFR_AF|AMR_AF|EAS_AF|EUR_AF|SAS_AF|gnomADe_AF|gnomADe_AFR_AF|gnomADe_AMR_AF|gnomADe_ASJ_AF|gnomADe_EAS_AF|gnomADe_FIN_AF|gnomADe_MID_AF|gnomADe_NFE_AF|gnomADe_REMAINING_AF|gnomADe_SAS_AF|gnomADg_AF|gnomADg_AFR_AF|gnomADg_AMI_AF|gnomADg_AMR_AF|gnomADg_ASJ_AF|gnomADg_EAS_AF|gnomADg_FIN_AF|gnomADg_MID_AF|gnomADg_NFE_AF|gnomADg_REMAINING_AF|gnomADg_SAS_AF|MAX_AF|MAX_AF_POPS|CLIN_SIG|SOMATIC|PHENO|PUBMED|MOTIF_NAME|MOTIF_POS|HIGH_INF_POS|MOTIF_SCORE_CHANGE|TRANSCRIPTION_FACTORS";

    #[test]
    fn field_lists_are_vep_115s() {
        let everything = flags(&["everything=true"], "homo_sapiens");
        assert_eq!(vcf_fields(&everything).join("|"), VCF_EVERYTHING);
        assert_eq!(tab_fields(&everything).join("|"), TAB_EVERYTHING);
        let merged = tab_fields(&flags(&["everything=true"], "homo_sapiens_merged"));
        assert!(
            merged
                .windows(4)
                .any(|w| w == ["UNIPROT_ISOFORM", "REFSEQ_MATCH", "SOURCE", "REFSEQ_OFFSET"])
        );
        let refseq = tab_fields(&flags(&["everything=true"], "homo_sapiens_refseq"));
        assert!(
            refseq
                .windows(3)
                .any(|w| w == ["UNIPROT_ISOFORM", "REFSEQ_MATCH", "REFSEQ_OFFSET"])
        );
        let default = flags(&[], "homo_sapiens");
        assert_eq!(
            tab_fields(&default)[12..],
            [
                "Existing_variation",
                "IMPACT",
                "DISTANCE",
                "STRAND",
                "FLAGS"
            ]
        );
        // --vcf alone switches on symbol, biotype and numbers.
        assert_eq!(
            vcf_fields(&default)[17..],
            [
                "Existing_variation",
                "DISTANCE",
                "STRAND",
                "FLAGS",
                "SYMBOL_SOURCE",
                "HGNC_ID"
            ]
        );
        // --regulatory alone: BIOTYPE at its regulatory place.
        let reg = tab_fields(&flags(&["regulatory=true"], "homo_sapiens"));
        assert_eq!(reg[17..19], ["BIOTYPE", "MOTIF_NAME"]);
        let hgvs = tab_fields(&flags(&["everything=true", "fasta=genome"], "homo_sapiens"));
        assert!(
            hgvs.windows(4)
                .any(|w| w == ["miRNA", "HGVSc", "HGVSp", "HGVS_OFFSET"])
        );
        let hgvsg = vcf_fields(&flags(&["fasta=genome", "hgvsg=true"], "homo_sapiens"));
        assert_eq!(hgvsg.last(), Some(&"HGVSg"));
        assert!(
            !vcf_fields(&flags(&["everything=true", "hgvs=true"], "x")).contains(&"HGVS_OFFSET")
        );
        let existing = tab_fields(&flags(&["check_existing=true"], "homo_sapiens"));
        assert_eq!(existing[17..], ["CLIN_SIG", "SOMATIC", "PHENO"]);
    }

    #[test]
    fn entries_escape_as_vep() {
        let mut r = OutRow::new(0);
        r.set_raw("Allele", "-".into());
        r.set(
            "Consequence",
            Some("frameshift_variant,splice_region_variant".into()),
        );
        r.set("DOMAINS", Some("a b;c|d".into()));
        r.set("DISTANCE", Some("0".into()));
        let fields = [
            "Allele",
            "Consequence",
            "DOMAINS",
            "DISTANCE",
            "CANONICAL",
            "HGVS_OFFSET",
        ];
        assert_eq!(
            csq_entry(&r, &fields),
            "-|frameshift_variant&splice_region_variant|a_b%3Bc&d|0||"
        );
        assert_eq!(
            tab_line(&r, &fields[..2]),
            "-\tframeshift_variant,splice_region_variant"
        );
        assert_eq!(csq_value([&r, &r], &fields[..1]).as_deref(), Some("-,-"));
        assert_eq!(csq_value(std::iter::empty(), &fields), None);
    }

    #[test]
    fn info_keeps_other_keys_and_replaces_csq() {
        assert_eq!(info_with_csq(".", Some("x")), "CSQ=x");
        assert_eq!(info_with_csq("DP=3", Some("x")), "DP=3;CSQ=x");
        assert_eq!(info_with_csq("CSQ=old;DP=3", Some("x")), "DP=3;CSQ=x");
        assert_eq!(info_with_csq("DB;CSQ=old", None), "DB");
        assert_eq!(info_with_csq(".", None), ".");
        assert_eq!(info_with_csq("CSQ=old", None), ".");
    }
}
