//! The reference genome behind `annotate_vep(..., 'fasta=<table>')`: a
//! served FASTA table read through its `.fai` (and `.gzi` when
//! BGZF-compressed), a window around each variant at a time, as VEP reads
//! its `--fasta` for HGVS and `--check_ref`.

use std::any::Any;
use std::fs::File;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use datafusion::catalog::Session;
use datafusion::common::{DataFusionError, Result, plan_err};
use genoflight_catalog::text::TextTable;
use genoflight_catalog::vep::layout::AnnotatedChrom;
use genoflight_catalog::vep::model::{MotifFeature, RegulatoryFeature};
use genoflight_catalog::vep::variation::KnownVariant;
use noodles::core::{Position, Region};
use noodles::fasta;

use super::alleles::VepVariant;
use super::hgvs::{Genome, HgvsSettings, Window};
use super::rows::FeatureSource;
use super::transcript::TxView;
use crate::args::{Options, table_arg};

type Reader = fasta::io::IndexedReader<fasta::io::BufReader<File>>;

/// The indexed reader and the chunks it read last (name, chunk index, bases).
struct ChunkedReader {
    reader: Reader,
    chunks: Vec<(String, i64, Arc<Vec<u8>>)>,
}

pub struct FastaGenome {
    display: String,
    reader: Mutex<ChunkedReader>,
    /// Sequence names and lengths from the index.
    lengths: Vec<(String, i64)>,
}

impl std::fmt::Debug for FastaGenome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FastaGenome")
            .field("fasta", &self.display)
            .finish()
    }
}

impl FastaGenome {
    /// The served FASTA table `name` (a `fasta=` option of `function`).
    pub fn from_table(function: &str, session: &dyn Session, name: &str) -> Result<FastaGenome> {
        let exprs = [datafusion::prelude::lit(name)];
        let (_, provider) = table_arg(function, session, &exprs, 0)?;
        let any: &dyn Any = provider.as_ref();
        let Some(table) = any
            .downcast_ref::<TextTable>()
            .filter(|t| t.exec_name() == "FastaExec")
        else {
            return plan_err!(
                "{function}(): fasta={name} is not a FASTA table; serve the genome FASTA \
                 (indexed with `samtools faidx`) and name its table"
            );
        };
        let source = table.source();
        FastaGenome::open(function, source.path.clone(), source.display.clone())
    }

    pub fn open(function: &str, path: PathBuf, display: String) -> Result<FastaGenome> {
        let reader = fasta::io::indexed_reader::Builder::default()
            .build_from_path(&path)
            .map_err(|e| {
                DataFusionError::Plan(format!(
                    "{function}(): {display}: cannot open it with its index ({e}); index it with \
                     `samtools faidx`"
                ))
            })?;
        let lengths = reader
            .index()
            .as_ref()
            .iter()
            .map(|r| {
                (
                    String::from_utf8_lossy(r.name()).into_owned(),
                    r.length() as i64,
                )
            })
            .collect();
        Ok(FastaGenome {
            display,
            reader: Mutex::new(ChunkedReader {
                reader,
                chunks: Vec::new(),
            }),
            lengths,
        })
    }

    /// The FASTA's name for a chromosome: as given, or with `chr` added or
    /// removed (`21` / `chr21`, `MT` / `chrM`), as VEP's synonyms match them.
    fn name_of(&self, names: &[&str]) -> Option<(String, i64)> {
        let has = |n: &str| self.lengths.iter().find(|(x, _)| x == n).cloned();
        for n in names {
            let bare = n.strip_prefix("chr").unwrap_or(n);
            let candidates = [
                n.to_string(),
                bare.to_string(),
                format!("chr{bare}"),
                if bare == "MT" {
                    "chrM".into()
                } else {
                    String::new()
                },
                if bare == "M" {
                    "MT".into()
                } else {
                    String::new()
                },
            ];
            if let Some(found) = candidates
                .iter()
                .filter(|c| !c.is_empty())
                .find_map(|c| has(c))
            {
                return Some(found);
            }
        }
        None
    }
}

/// Sequence is read in aligned chunks of this many bases and the last few
/// kept: input variants come sorted, so neighbours share a chunk instead of
/// each paying a seek and a parse.
const CHUNK: i64 = 1 << 16;
const CHUNKS_KEPT: usize = 8;

impl FastaGenome {
    /// Chunk `index` of sequence `name` (bases `index * CHUNK + 1` on, up to
    /// CHUNK of them), read once and then served from the kept chunks.
    fn chunk(&self, name: &str, length: i64, index: i64) -> Result<Arc<Vec<u8>>> {
        let mut state = self
            .reader
            .lock()
            .map_err(|_| DataFusionError::Internal("FASTA reader poisoned".into()))?;
        if let Some((_, _, seq)) = state
            .chunks
            .iter()
            .find(|(n, i, _)| n == name && *i == index)
        {
            return Ok(seq.clone());
        }
        let fail = |e: &dyn std::fmt::Display| {
            DataFusionError::Execution(format!("annotate_vep(): {}: {e}", self.display))
        };
        let position = |p: i64| Position::try_from(p as usize).map_err(|e| fail(&e));
        let (start, end) = (index * CHUNK + 1, ((index + 1) * CHUNK).min(length));
        let region = Region::new(name, position(start)?..=position(end)?);
        let record = state.reader.query(&region).map_err(|e| fail(&e))?;
        let seq = Arc::new(record.sequence().as_ref().to_ascii_uppercase());
        if state.chunks.len() >= CHUNKS_KEPT {
            state.chunks.remove(0);
        }
        state.chunks.push((name.to_string(), index, seq.clone()));
        Ok(seq)
    }
}

impl Genome for FastaGenome {
    fn fetch(&self, names: &[&str], start: i64, end: i64) -> Result<Option<Window>> {
        let Some((name, length)) = self.name_of(names) else {
            return Ok(None);
        };
        let (start, end) = (start.max(1), end.min(length));
        let mut seq = Vec::with_capacity((end - start + 1).max(0) as usize);
        if start <= end {
            for index in (start - 1) / CHUNK..=(end - 1) / CHUNK {
                let chunk = self.chunk(&name, length, index)?;
                let first = index * CHUNK + 1;
                let from = (start.max(first) - first) as usize;
                let to = (end.min(first + chunk.len() as i64 - 1) - first) as usize;
                seq.extend_from_slice(&chunk[from..=to]);
            }
        }
        Ok(Some(Window { start, seq }))
    }
}

/// The HGVS options of `annotate_vep` (VEP's `--fasta`, `--hgvs`,
/// `--hgvsg`, `--shift_hgvs`, `--check_ref`): `None` when no notation is
/// wanted. As VEP run offline without a FASTA disables `--hgvs`,
/// `everything=true` alone writes no HGVS; asking for it by name without
/// `fasta=` is an error.
pub fn hgvs_settings(
    function: &str,
    session: &dyn Session,
    opts: &Options,
    everything: bool,
) -> Result<Option<HgvsSettings>> {
    let fasta = opts.str("fasta").filter(|f| !f.is_empty());
    let explicit = |k: &str| opts.str(k).is_some();
    let transcript = opts.bool("hgvs", everything)?;
    let genomic = opts.bool("hgvsg", false)?;
    let check_ref = opts.bool("check_ref", false)?;
    let shift = opts.bool("shift_hgvs", true)?;
    let Some(fasta) = fasta else {
        for k in ["hgvs", "hgvsg", "check_ref"] {
            if explicit(k) && opts.bool(k, false)? {
                return plan_err!(
                    "{function}(): option {k} needs the reference genome: add 'fasta=<served FASTA \
                     table>' (VEP's --fasta)"
                );
            }
        }
        return Ok(None);
    };
    let genome = FastaGenome::from_table(function, session, fasta)?;
    Ok(Some(HgvsSettings {
        genome: Arc::new(genome),
        transcript,
        genomic,
        shift,
        check_ref,
    }))
}

/// A cache with a reference genome attached: features from the cache, HGVS
/// settings for the rows.
pub struct WithGenome {
    pub inner: Arc<dyn FeatureSource>,
    pub hgvs: HgvsSettings,
}

impl FeatureSource for WithGenome {
    fn chromosome(&self, name: &str) -> Option<AnnotatedChrom> {
        self.inner.chromosome(name)
    }
    fn transcripts(&self, chrom: &str, start: i64, end: i64) -> Result<Vec<Arc<TxView>>> {
        self.inner.transcripts(chrom, start, end)
    }
    fn regulatory(&self, chrom: &str, start: i64, end: i64) -> Result<Vec<Arc<RegulatoryFeature>>> {
        self.inner.regulatory(chrom, start, end)
    }
    fn motifs(&self, chrom: &str, start: i64, end: i64) -> Result<Vec<Arc<MotifFeature>>> {
        self.inner.motifs(chrom, start, end)
    }
    fn known_variants(&self, chrom: &str, start: i64, end: i64) -> Result<Vec<KnownVariant>> {
        self.inner.known_variants(chrom, start, end)
    }
    fn hgvs(&self) -> Option<&HgvsSettings> {
        Some(&self.hgvs)
    }
}

/// VEP's `--check_ref`: whether the record's reference allele matches the
/// genome (an insertion has none to check; a chromosome the FASTA lacks
/// cannot be checked and passes).
pub fn reference_matches(h: &HgvsSettings, names: &[&str], v: &VepVariant) -> Result<bool> {
    if v.ref_allele == "-" {
        return Ok(true);
    }
    Ok(match h.genome.fetch(names, v.start, v.end)? {
        Some(w) => w.get(v.start, v.end).eq_ignore_ascii_case(&v.ref_allele),
        None => true,
    })
}
