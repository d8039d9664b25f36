//! The Storable decoder reads what Perl's Storable reads, object for object
//! (tests/perl/storable_oracle.pl prints Perl's view in the same canonical
//! form), and refuses corrupt input with an offset instead of panicking.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use genoflight_catalog::vep::convert::region_features;
use genoflight_catalog::vep::perl::{Document, Node, NodeId};
use genoflight_catalog::vep::storable::decode;
use serde_json::{Value, json};

fn shared_data() -> PathBuf {
    match std::env::var_os("GENOFLIGHT_SHARED_DATA") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
    }
}

fn cache_dir() -> Option<PathBuf> {
    let dir = shared_data().join("vep/cache");
    if dir.exists() {
        Some(dir)
    } else {
        eprintln!("skipped: {} not present", dir.display());
        None
    }
}

fn oracle() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/perl/storable_oracle.pl")
}

fn perl(args: &[&str]) -> String {
    let out = Command::new("perl")
        .arg(oracle())
        .args(args)
        .output()
        .expect("perl runs");
    assert!(
        out.status.success(),
        "oracle {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn read(path: &Path) -> Vec<u8> {
    let raw = std::fs::read(path).unwrap();
    if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        raw
    }
}

/// The oracle's canonical form, built from the decoded arena.
struct Canon<'a> {
    doc: &'a Document,
    ids: HashMap<NodeId, usize>,
}

impl Canon<'_> {
    fn scalar(&self, id: NodeId) -> Value {
        match self.doc.node(id) {
            Node::Undef => Value::Null,
            Node::Str(s) => json!({ "s": hex(s) }),
            Node::Int(i) => json!({ "i": i.to_string() }),
            Node::Float(f) => json!({ "f": f.to_bits().to_string() }),
            other => panic!("not a scalar: {other:?}"),
        }
    }

    fn value(&mut self, id: NodeId) -> Value {
        match self.doc.node(id) {
            Node::Ref(to) => json!({ "ref": self.target(*to) }),
            _ => self.scalar(id),
        }
    }

    fn target(&mut self, id: NodeId) -> Value {
        if let Some(n) = self.ids.get(&id) {
            return json!({ "seen": n });
        }
        let n = self.ids.len();
        self.ids.insert(id, n);
        let (class, body) = match self.doc.node(id) {
            Node::Blessed { class, inner } => (Value::from(class.clone()), *inner),
            _ => (Value::Null, id),
        };
        let v = match self.doc.node(body) {
            Node::Hash(entries) => {
                let mut entries: Vec<_> = entries.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                let h: Vec<Value> = entries
                    .into_iter()
                    .map(|(k, v)| json!([hex(k), self.value(*v)]))
                    .collect();
                json!({ "h": h })
            }
            Node::Array(items) => {
                let a: Vec<Value> = items.iter().map(|i| self.value(*i)).collect();
                json!({ "a": a })
            }
            Node::Ref(to) => json!({ "ref": self.target(*to) }),
            Node::Blessed { .. } => panic!("blessed twice"),
            _ => self.scalar(body),
        };
        json!({ "id": n, "class": class, "v": v })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn canonical(doc: &Document) -> Value {
    Canon {
        doc,
        ids: HashMap::new(),
    }
    .target(doc.root)
}

/// The first place two canonical forms differ, for a readable failure.
fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    Some(w) => {
                        if let Some(d) = first_difference(v, w, &format!("{path}.{k}")) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("{path}.{k}: missing on the right")),
                }
            }
            (x.len() != y.len()).then(|| format!("{path}: keys {x:?} vs {y:?}"))
        }
        (Value::Array(x), Value::Array(y)) => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                if let Some(d) = first_difference(v, w, &format!("{path}[{i}]")) {
                    return Some(d);
                }
            }
            (x.len() != y.len()).then(|| format!("{path}: {} vs {} items", x.len(), y.len()))
        }
        _ => (a != b).then(|| format!("{path}: {a} vs {b}")),
    }
}

fn assert_matches_oracle(path: &Path) {
    let doc = decode(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let ours = canonical(&doc);
    let perls: Value = serde_json::from_str(&perl(&["dump", path.to_str().unwrap()])).unwrap();
    if let Some(d) = first_difference(&perls, &ours, "") {
        panic!("{}: Perl vs decoder differ at {d}", path.display());
    }
}

fn storable_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            storable_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "gz")
            && !p.to_string_lossy().ends_with("_var.gz")
            && !p.to_string_lossy().ends_with("all_vars.gz")
        {
            out.push(p);
        }
    }
}

#[test]
fn every_cache_file_decodes_as_perl_reads_it() {
    let Some(dir) = cache_dir() else { return };
    let mut files = Vec::new();
    storable_files(&dir, &mut files);
    files.sort();
    assert!(files.len() >= 8, "{files:?}");
    for f in &files {
        assert_matches_oracle(f);
    }
}

#[test]
fn synthetic_opcodes_in_both_byte_orders() {
    let tmp = tempfile::tempdir().unwrap();
    let net = tmp.path().join("net.storable");
    let native = tmp.path().join("native.storable");
    perl(&["synthetic", net.to_str().unwrap(), native.to_str().unwrap()]);
    // Network order writes numbers as SX_BYTE/SX_NETINT/strings; native order
    // has the byte-order header, SX_INTEGER and SX_DOUBLE.
    assert_eq!(&read(&net)[4..5], &[5]);
    assert_eq!(&read(&native)[4..5], &[4]);
    assert_matches_oracle(&net);
    assert_matches_oracle(&native);

    let doc = decode(&read(&native)).unwrap();
    let floats = doc.get(doc.root, "floats").unwrap();
    let first = doc.array(floats).unwrap()[0];
    assert_eq!(doc.node(first), &Node::Float(0.5));
    let utf8_key = doc.get(doc.root, "\u{263a}").unwrap();
    assert_eq!(doc.str(utf8_key).as_deref(), Some("utf8 key"));
    // A Latin-1 key Perl never flagged UTF-8 stays its bytes.
    let hash = doc.hash(doc.root).unwrap();
    let latin1 = hash
        .iter()
        .find(|(k, _)| k.as_slice() == b"k\xe9y")
        .unwrap();
    assert_eq!(doc.str(latin1.1).as_deref(), Some("latin1 key"));
    // The restricted hash's placeholder key is not a key.
    let restricted = doc.get(doc.root, "restricted").unwrap();
    assert_eq!(doc.hash(restricted).unwrap().len(), 2);
    // A cycle is the same node.
    let blessed = doc.array(doc.get(doc.root, "blessed").unwrap()).unwrap()[0];
    assert_eq!(doc.class(blessed), Some("Bio::EnsEMBL::Transcript"));
    let me = doc.get(blessed, "self").unwrap();
    assert_eq!(doc.deref(me), doc.deref(blessed));
}

#[test]
fn a_real_cache_file_restored_in_native_order() {
    let Some(dir) = cache_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let native = tmp.path().join("native.storable");
    let src = dir.join("homo_sapiens/84_GRCh38/21/25000001-26000000_reg.gz");
    perl(&["native", src.to_str().unwrap(), native.to_str().unwrap()]);
    assert_matches_oracle(&native);
}

#[test]
fn tied_and_code_are_refused_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    for (mode, word) in [("tied", "tied"), ("code", "code reference")] {
        let f = tmp.path().join(mode);
        perl(&[mode, f.to_str().unwrap()]);
        let err = decode(&read(&f)).unwrap_err();
        assert!(err.to_string().contains(word), "{mode}: {err}");
        assert!(err.offset > 4, "{mode}: {err}");
    }
}

fn net(body: &[u8]) -> Vec<u8> {
    let mut v = b"pst0\x05\x0b".to_vec();
    v.extend_from_slice(body);
    v
}

#[test]
fn corrupt_input_names_the_offset() {
    let cases: &[(&[u8], usize, &str)] = &[
        (b"", 0, "no \"pst0\""),
        (b"\x1f\x8b\x08", 0, "gzip"),
        (b"pst0", 4, "truncated"),
        (b"pst0\x07\x0b\x03", 4, "major version 3"),
        (&net(b"\x02\x00\x00\x00\x02\x0a\x02ab"), 15, "truncated"),
        (
            &net(b"\x03\x00\x00\x00\x02\x0a"),
            7,
            "hash length 2 exceeds",
        ),
        (&net(b"\x63"), 6, "unknown opcode 99"),
        (
            &net(b"\x02\x00\x00\x00\x01\x00\x00\x00\x00\x05"),
            11,
            "back-reference to object #5",
        ),
        (
            &net(b"\x02\x7f\xff\xff\xff\x05"),
            7,
            "array length 2147483647 exceeds",
        ),
        (&net(b"\x01\xff\xff\xff\xf0"), 7, "negative string length"),
        (&net(b"\x12\x03\x03"), 7, "class index 3, only 0"),
        (&net(b"\x0c"), 6, "tied"),
    ];
    for (bytes, offset, text) in cases {
        let err = decode(bytes).unwrap_err();
        assert!(
            err.to_string().contains(text) && err.offset == *offset,
            "{bytes:?}: {err} (offset {})",
            err.offset
        );
    }
    // Deep nesting is refused, not a stack overflow.
    let deep = net(&[4u8; 100_000]);
    assert!(decode(&deep).unwrap_err().to_string().contains("nesting"));
}

/// xorshift64*: a fixed-seed generator so a failure replays.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn mutated_cache_files_never_panic() {
    let Some(dir) = cache_dir() else { return };
    let files = [
        dir.join("homo_sapiens/84_GRCh38/LRG_485/1-1000000.gz"),
        dir.join("homo_sapiens/84_GRCh38/21/25000001-26000000_reg.gz"),
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // A longer local run: VEP_FUZZ_SECONDS=120 VEP_FUZZ_SEED=7.
    let seconds = std::env::var("VEP_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    if let Some(seed) = std::env::var("VEP_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        rng = Rng(seed);
    }
    let rounds = if seconds > 4 { usize::MAX } else { 3000 };
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (mut ok, mut err, mut runs) = (0, 0, 0);
    for round in 0..rounds {
        if Instant::now() > deadline {
            break;
        }
        let original = read(&files[round % files.len()]);
        let mut bytes = original.clone();
        match rng.below(4) {
            0 => bytes.truncate(rng.below(bytes.len())),
            1 => {
                for _ in 0..1 + rng.below(8) {
                    let i = rng.below(bytes.len());
                    bytes[i] ^= 1 << rng.below(8);
                }
            }
            2 => {
                // Lengths and tags gone absurd.
                let i = rng.below(bytes.len().saturating_sub(4)) + 1;
                bytes[i..i + 3].copy_from_slice(&[0x7f, 0xff, 0xff]);
            }
            _ => {
                let i = rng.below(bytes.len());
                bytes[i] = rng.below(40) as u8;
            }
        }
        // What decodes must also convert (or fail) without panicking.
        let run = || decode(&bytes).map(|doc| region_features(&doc).map(|f| f.transcripts.len()));
        match std::panic::catch_unwind(run) {
            Ok(Ok(_)) => ok += 1,
            Ok(Err(e)) => {
                assert!(e.offset <= bytes.len(), "{e}");
                err += 1
            }
            Err(_) => panic!("decoder panicked in round {round}"),
        }
        runs += 1;
    }
    assert!(runs >= 50, "only {runs} mutations in the time box");
    assert!(err > 0, "{ok} ok, {err} errors");
}
