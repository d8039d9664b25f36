//! Sereal documents (VEP's `--serialiser_type sereal` caches) decoded into
//! the Perl value arena.
//!
//! Header: magic (`=srl` for protocol 1-2, `=\xF3rl` from 3), a version byte
//! whose high nibble is the body encoding (0 raw, 1 snappy, 2 snappy with a
//! length, 3 zlib, 4 zstd), a varint-sized suffix that is skipped, then the
//! body: one tagged item. Tags with the high "track" bit set may be referred
//! to later by their offset (REFP, ALIAS, OBJECTV, COPY); from protocol 2 on
//! offsets count from 1 at the first body byte.
//!
//! Corrupt input is an error, never a panic: lengths and counts are checked
//! against the bytes left before anything is allocated, recursion is bounded
//! and back-references must point strictly backwards.

use std::collections::HashMap;
use std::io::Read;

use super::perl::{DecodeError, Document, Node, NodeId};

const FORMAT: &str = "Sereal";
const MAGIC_V1: &[u8; 4] = b"=srl";
const MAGIC_V3: &[u8; 4] = b"=\xF3rl";
/// What `MAGIC_V3` becomes when a file went through a UTF-8 encoding layer.
const MAGIC_V3_UTF8: &[u8; 5] = b"=\xC3\xB3rl";
/// VEP objects nest a dozen levels; this only stops hostile input from
/// exhausting the stack.
const MAX_DEPTH: usize = 256;

const TRACK: u8 = 0x80;
const VARINT: u8 = 0x20;
const ZIGZAG: u8 = 0x21;
const FLOAT: u8 = 0x22;
const DOUBLE: u8 = 0x23;
const LONG_DOUBLE: u8 = 0x24;
const UNDEF: u8 = 0x25;
const BINARY: u8 = 0x26;
const STR_UTF8: u8 = 0x27;
const REFN: u8 = 0x28;
const REFP: u8 = 0x29;
const HASH: u8 = 0x2a;
const ARRAY: u8 = 0x2b;
const OBJECT: u8 = 0x2c;
const OBJECTV: u8 = 0x2d;
const ALIAS: u8 = 0x2e;
const COPY: u8 = 0x2f;
const WEAKEN: u8 = 0x30;
const REGEXP: u8 = 0x31;
const OBJECT_FREEZE: u8 = 0x32;
const OBJECTV_FREEZE: u8 = 0x33;
const CANONICAL_UNDEF: u8 = 0x39;
const FALSE: u8 = 0x3a;
const TRUE: u8 = 0x3b;
const PAD: u8 = 0x3f;
const ARRAYREF_0: u8 = 0x40;
const HASHREF_0: u8 = 0x50;
const SHORT_BINARY_0: u8 = 0x60;

fn error(offset: usize, message: impl Into<String>) -> DecodeError {
    DecodeError {
        format: FORMAT,
        offset,
        message: message.into(),
    }
}

/// Decodes one Sereal document (the whole file's bytes).
pub fn decode(bytes: &[u8]) -> Result<Document, DecodeError> {
    let (body, base, compressed) = body(bytes)?;
    let mut decoder = Decoder {
        body: &body,
        base,
        nodes: Vec::new(),
        tracked: HashMap::new(),
        classes: HashMap::new(),
        depth: 0,
        copying: false,
        // COPY can expand earlier bytes again; no real document needs more
        // values than a few per body byte.
        max_nodes: body.len().saturating_mul(8).saturating_add(1024),
        string_bytes: body.len().saturating_mul(8).saturating_add(1 << 20),
    };
    let mut pos = 0;
    let root = decoder.item(&mut pos).map_err(|mut e| {
        if compressed {
            e.message.push_str(" (offset in the decompressed body)");
        }
        e
    })?;
    Ok(Document {
        nodes: decoder.nodes,
        root,
    })
}

/// Reads a varint at `bytes[*pos..]`, advancing `pos`.
fn varint(bytes: &[u8], pos: &mut usize, at: usize) -> Result<u64, DecodeError> {
    let mut value: u64 = 0;
    for shift in (0..70).step_by(7) {
        let Some(&b) = bytes.get(*pos) else {
            return Err(error(at + *pos, "truncated varint"));
        };
        *pos += 1;
        if shift == 63 && b > 1 {
            return Err(error(at + *pos - 1, "varint overflows 64 bits"));
        }
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(error(at + *pos, "varint longer than 10 bytes"))
}

/// The document body, decompressed, with the offset base its back-references
/// use, and whether it was compressed.
fn body(bytes: &[u8]) -> Result<(Vec<u8>, usize, bool), DecodeError> {
    if bytes.starts_with(MAGIC_V3_UTF8) {
        return Err(error(
            0,
            "the document was re-encoded as UTF-8 (magic =\\xC3\\xB3rl): its bytes are mangled",
        ));
    }
    if bytes.len() < 6 {
        return Err(error(bytes.len(), "too short for a Sereal header"));
    }
    let magic = &bytes[..4];
    let version = bytes[4] & 0x0f;
    let encoding = bytes[4] >> 4;
    let magic_ok = match version {
        1 | 2 => magic == MAGIC_V1,
        3..=5 => magic == MAGIC_V3,
        _ => false,
    };
    if !magic_ok {
        if magic != MAGIC_V1 && magic != MAGIC_V3 {
            return Err(error(0, "not a Sereal document (bad magic)"));
        }
        return Err(error(
            4,
            format!("unsupported Sereal protocol version {version}"),
        ));
    }
    let mut pos = 5;
    let suffix = varint(bytes, &mut pos, 0)?;
    let body_start = usize::try_from(suffix)
        .ok()
        .and_then(|s| pos.checked_add(s))
        .filter(|&s| s <= bytes.len())
        .ok_or_else(|| error(5, "header suffix runs past the end of the file"))?;
    let rest = &bytes[body_start..];
    // Protocol 1 offsets count from the start of the document, later ones
    // from 1 at the first body byte.
    let base = if version == 1 { body_start } else { 1 };
    let body = match encoding {
        0 => rest.to_vec(),
        1 => snappy(rest, body_start)?,
        2 => {
            let mut p = 0;
            let block = sized_block(rest, &mut p, body_start, "snappy")?;
            snappy(block, body_start + p)?
        }
        3 => {
            let mut p = 0;
            let raw_len = varint(rest, &mut p, body_start)?;
            let block = sized_block(rest, &mut p, body_start, "zlib")?;
            inflate(block, raw_len, body_start + p)?
        }
        4 => {
            let mut p = 0;
            let block = sized_block(rest, &mut p, body_start, "zstd")?;
            unzstd(block, body_start + p)?
        }
        other => {
            return Err(error(4, format!("unknown Sereal body encoding {other}")));
        }
    };
    if body.is_empty() {
        return Err(error(body_start, "empty document body"));
    }
    Ok((body, base, encoding != 0))
}

/// A compressed block preceded by its varint length; `pos` ends at its first byte.
fn sized_block<'a>(
    rest: &'a [u8],
    pos: &mut usize,
    at: usize,
    what: &str,
) -> Result<&'a [u8], DecodeError> {
    let len = varint(rest, pos, at)?;
    let p = *pos;
    usize::try_from(len)
        .ok()
        .and_then(|l| rest.get(p..p.checked_add(l)?))
        .ok_or_else(|| error(at, format!("{what} block of {len} bytes is truncated")))
}

fn snappy(block: &[u8], at: usize) -> Result<Vec<u8>, DecodeError> {
    let len = snap::raw::decompress_len(block).map_err(|e| error(at, format!("snappy: {e}")))?;
    // Snappy expands at most ~22x (a 64-byte copy in 3 bytes): a larger
    // declared length is corruption, not a reason to allocate.
    if len > block.len().saturating_mul(22).saturating_add(64) {
        return Err(error(
            at,
            format!("snappy block claims {len} bytes from {}", block.len()),
        ));
    }
    snap::raw::Decoder::new()
        .decompress_vec(block)
        .map_err(|e| error(at, format!("snappy: {e}")))
}

fn inflate(block: &[u8], raw_len: u64, at: usize) -> Result<Vec<u8>, DecodeError> {
    // Deflate expands at most 1032x; the declared length bounds the buffer.
    let cap = (block.len() as u64).saturating_mul(1032).saturating_add(64);
    if raw_len > cap {
        return Err(error(
            at,
            format!("zlib block claims {raw_len} bytes from {}", block.len()),
        ));
    }
    let mut out = Vec::with_capacity(raw_len as usize);
    flate2::read::ZlibDecoder::new(block)
        .take(raw_len + 1)
        .read_to_end(&mut out)
        .map_err(|e| error(at, format!("zlib: {e}")))?;
    if out.len() as u64 != raw_len {
        return Err(error(
            at,
            format!(
                "zlib block holds {} bytes, the header says {raw_len}",
                out.len()
            ),
        ));
    }
    Ok(out)
}

fn unzstd(block: &[u8], at: usize) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    // Bounded like deflate: zstd's best ratio on real data is far below this.
    let cap = (block.len() as u64)
        .saturating_mul(1032)
        .saturating_add(1 << 16);
    let decoder =
        zstd::stream::read::Decoder::new(block).map_err(|e| error(at, format!("zstd: {e}")))?;
    decoder
        .take(cap + 1)
        .read_to_end(&mut out)
        .map_err(|e| error(at, format!("zstd: {e}")))?;
    if out.len() as u64 > cap {
        return Err(error(at, "zstd block expands beyond any plausible size"));
    }
    Ok(out)
}

struct Decoder<'a> {
    body: &'a [u8],
    /// What a back-reference offset is for body index 0.
    base: usize,
    nodes: Vec<Node>,
    /// Body index of a tracked tag -> the value it produced.
    tracked: HashMap<usize, NodeId>,
    /// Body index of a class-name string -> the name (for OBJECTV).
    classes: HashMap<usize, String>,
    depth: usize,
    /// Inside a COPY: tracked tags are not registered again, and a COPY in
    /// value position is forbidden (the spec's rule that keeps copies finite).
    copying: bool,
    max_nodes: usize,
    /// String bytes still allowed: COPY can repeat a long string from a
    /// few bytes, so copied text is bounded like copied values.
    string_bytes: usize,
}

impl<'a> Decoder<'a> {
    fn push(&mut self, node: Node, at: usize) -> Result<NodeId, DecodeError> {
        if self.nodes.len() >= self.max_nodes {
            return Err(error(
                at,
                "more values than the document can hold (COPY loop?)",
            ));
        }
        self.nodes.push(node);
        Ok(self.nodes.len() - 1)
    }

    /// A string value, charged against the string budget.
    fn string(&mut self, bytes: &[u8], at: usize) -> Result<Vec<u8>, DecodeError> {
        self.string_bytes = self.string_bytes.checked_sub(bytes.len()).ok_or_else(|| {
            error(
                at,
                "more string data than the document can hold (COPY loop?)",
            )
        })?;
        Ok(bytes.to_vec())
    }

    fn byte(&self, pos: usize) -> Result<u8, DecodeError> {
        self.body
            .get(pos)
            .copied()
            .ok_or_else(|| error(pos, "unexpected end of data"))
    }

    fn take(&self, pos: &mut usize, len: u64) -> Result<&'a [u8], DecodeError> {
        let at = *pos;
        let bytes = usize::try_from(len)
            .ok()
            .and_then(|l| self.body.get(at..at.checked_add(l)?))
            .ok_or_else(|| {
                error(
                    at,
                    format!(
                        "{len} bytes wanted, {} left",
                        self.body.len() - at.min(self.body.len())
                    ),
                )
            })?;
        *pos += bytes.len();
        Ok(bytes)
    }

    fn varint(&self, pos: &mut usize) -> Result<u64, DecodeError> {
        varint(self.body, pos, 0)
    }

    /// A count of items that each take at least one byte: more than the
    /// bytes left is corruption (and would be an unbounded allocation).
    fn count(&self, pos: &mut usize, what: &str) -> Result<usize, DecodeError> {
        let at = *pos;
        let n = self.varint(pos)?;
        let left = self.body.len().saturating_sub(*pos) as u64;
        if n > left {
            return Err(error(
                at,
                format!("{what} of {n} items with {left} bytes left"),
            ));
        }
        Ok(n as usize)
    }

    /// A back-reference offset, as a body index strictly before `tag_pos`.
    fn offset(&self, pos: &mut usize, tag_pos: usize, what: &str) -> Result<usize, DecodeError> {
        let raw = self.varint(pos)?;
        usize::try_from(raw)
            .ok()
            .and_then(|o| o.checked_sub(self.base))
            .filter(|&o| o < tag_pos)
            .ok_or_else(|| {
                error(
                    tag_pos,
                    format!("{what} offset {raw} does not point backwards"),
                )
            })
    }

    fn skip_pad(&self, pos: &mut usize) -> Result<(), DecodeError> {
        while self.byte(*pos)? & !TRACK == PAD {
            *pos += 1;
        }
        Ok(())
    }

    /// A string tag (hash keys, class names): bytes and where the tag was.
    fn stringish(&mut self, pos: &mut usize) -> Result<(Vec<u8>, usize), DecodeError> {
        self.skip_pad(pos)?;
        let tag_pos = *pos;
        let tag = self.byte(*pos)? & !TRACK;
        *pos += 1;
        let bytes = match tag {
            BINARY | STR_UTF8 => {
                let len = self.varint(pos)?;
                let bytes = self.take(pos, len)?;
                self.string(bytes, tag_pos)?
            }
            t if (SHORT_BINARY_0..SHORT_BINARY_0 + 32).contains(&t) => {
                let bytes = self.take(pos, u64::from(t & 0x1f))?;
                self.string(bytes, tag_pos)?
            }
            COPY => {
                let target = self.offset(pos, tag_pos, "COPY")?;
                if self.byte(target)? & !TRACK == COPY {
                    return Err(error(tag_pos, "COPY refers to another COPY"));
                }
                let mut p = target;
                return Ok((self.stringish(&mut p)?.0, target));
            }
            other => {
                return Err(error(
                    tag_pos,
                    format!("expected a string, found tag 0x{other:02x}"),
                ));
            }
        };
        Ok((bytes, tag_pos))
    }

    fn item(&mut self, pos: &mut usize) -> Result<NodeId, DecodeError> {
        if self.depth >= MAX_DEPTH {
            return Err(error(
                *pos,
                format!("nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        self.depth += 1;
        let result = self.item_inner(pos);
        self.depth -= 1;
        result
    }

    fn item_inner(&mut self, pos: &mut usize) -> Result<NodeId, DecodeError> {
        self.skip_pad(pos)?;
        let tag_pos = *pos;
        let raw = self.byte(*pos)?;
        *pos += 1;
        let tag = raw & !TRACK;
        // The node exists before its contents so that a cycle back to it
        // (a translation pointing at its transcript) finds it.
        let id = self.push(Node::Undef, tag_pos)?;
        if raw & TRACK != 0 && !self.copying {
            self.tracked.insert(tag_pos, id);
        }
        let node = match tag {
            0..=15 => Node::Int(i64::from(tag)),
            16..=31 => Node::Int(i64::from(tag) - 32),
            VARINT => {
                let v = self.varint(pos)?;
                // Perl UVs past i64 keep their magnitude as a float.
                i64::try_from(v).map_or(Node::Float(v as f64), Node::Int)
            }
            ZIGZAG => {
                let v = self.varint(pos)?;
                Node::Int((v >> 1) as i64 ^ -((v & 1) as i64))
            }
            FLOAT => {
                let b = self.take(pos, 4)?;
                Node::Float(f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            }
            DOUBLE => {
                let b = self.take(pos, 8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                Node::Float(f64::from_le_bytes(a))
            }
            LONG_DOUBLE => {
                return Err(error(tag_pos, "LONG_DOUBLE values are not supported"));
            }
            UNDEF | CANONICAL_UNDEF => Node::Undef,
            TRUE => Node::Int(1),
            FALSE => Node::Int(0),
            BINARY | STR_UTF8 => {
                let len = self.varint(pos)?;
                let bytes = self.take(pos, len)?;
                Node::Str(self.string(bytes, tag_pos)?)
            }
            t if (SHORT_BINARY_0..SHORT_BINARY_0 + 32).contains(&t) => {
                let bytes = self.take(pos, u64::from(t & 0x1f))?;
                Node::Str(self.string(bytes, tag_pos)?)
            }
            REFN => Node::Ref(self.item(pos)?),
            REFP => {
                let target = self.offset(pos, tag_pos, "REFP")?;
                Node::Ref(self.target(target, tag_pos, "REFP")?)
            }
            ALIAS => {
                // The same Perl value again, not a copy: hand out its id.
                let target = self.offset(pos, tag_pos, "ALIAS")?;
                let same = self.target(target, tag_pos, "ALIAS")?;
                if raw & TRACK != 0 && !self.copying {
                    self.tracked.insert(tag_pos, same);
                }
                return Ok(same);
            }
            WEAKEN => {
                // A weak reference is still a reference; Perl-side lifetime
                // does not matter here.
                let inner = self.item(pos)?;
                if raw & TRACK != 0 && !self.copying {
                    self.tracked.insert(tag_pos, inner);
                }
                return Ok(inner);
            }
            HASH => {
                let n = self.count(pos, "HASH")?;
                self.hash(pos, n)?
            }
            ARRAY => {
                let n = self.count(pos, "ARRAY")?;
                self.array(pos, n)?
            }
            t if (HASHREF_0..HASHREF_0 + 16).contains(&t) => {
                let node = self.hash(pos, usize::from(t & 0x0f))?;
                Node::Ref(self.push(node, tag_pos)?)
            }
            t if (ARRAYREF_0..ARRAYREF_0 + 16).contains(&t) => {
                let node = self.array(pos, usize::from(t & 0x0f))?;
                Node::Ref(self.push(node, tag_pos)?)
            }
            OBJECT | OBJECT_FREEZE => {
                self.skip_pad(pos)?;
                let own = *pos;
                let (name, at) = self.stringish(pos)?;
                let class = String::from_utf8_lossy(&name).into_owned();
                // OBJECTV may name the string or the COPY that repeated it.
                self.classes.insert(at, class.clone());
                self.classes.insert(own, class.clone());
                let item = self.item(pos)?;
                return self.bless(id, item, class);
            }
            OBJECTV | OBJECTV_FREEZE => {
                let target = self.offset(pos, tag_pos, "OBJECTV")?;
                let class = match self.classes.get(&target) {
                    Some(c) => c.clone(),
                    None => {
                        return Err(error(
                            tag_pos,
                            format!("OBJECTV offset {target} is not a class name seen before"),
                        ));
                    }
                };
                let item = self.item(pos)?;
                return self.bless(id, item, class);
            }
            COPY => {
                if self.copying {
                    return Err(error(tag_pos, "COPY inside a COPY"));
                }
                let target = self.offset(pos, tag_pos, "COPY")?;
                let mut p = target;
                self.copying = true;
                let copied = self.item(&mut p);
                self.copying = false;
                return copied;
            }
            REGEXP => {
                let (pattern, _) = self.stringish(pos)?;
                self.stringish(pos)?;
                Node::Str(pattern)
            }
            other => {
                return Err(error(
                    tag_pos,
                    format!("unsupported or invalid tag 0x{other:02x}"),
                ));
            }
        };
        self.nodes[id] = node;
        Ok(id)
    }

    /// The value a back-reference points at; it must have been tracked.
    fn target(&self, offset: usize, tag_pos: usize, what: &str) -> Result<NodeId, DecodeError> {
        self.tracked.get(&offset).copied().ok_or_else(|| {
            error(
                tag_pos,
                format!("{what} to offset {offset}, which is not tracked"),
            )
        })
    }

    fn hash(&mut self, pos: &mut usize, n: usize) -> Result<Node, DecodeError> {
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            let (key, _) = self.stringish(pos)?;
            let value = self.item(pos)?;
            entries.push((key, value));
        }
        Ok(Node::Hash(entries))
    }

    fn array(&mut self, pos: &mut usize, n: usize) -> Result<Node, DecodeError> {
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(self.item(pos)?);
        }
        Ok(Node::Array(items))
    }

    /// Perl blesses the referent, so every reference to it (REFP, cycles)
    /// sees the class: the referent's node becomes `Blessed` and its old
    /// contents move to a new node. `slot` (the OBJECT tag's own node)
    /// becomes the reference.
    fn bless(&mut self, slot: NodeId, item: NodeId, class: String) -> Result<NodeId, DecodeError> {
        match self.nodes[item].clone() {
            Node::Ref(referent) => {
                if let Node::Blessed { class: c, .. } = &mut self.nodes[referent] {
                    *c = class;
                } else {
                    let contents = std::mem::replace(&mut self.nodes[referent], Node::Undef);
                    let moved = self.push(contents, 0)?;
                    self.nodes[referent] = Node::Blessed {
                        class,
                        inner: moved,
                    };
                }
                self.nodes[slot] = Node::Ref(referent);
            }
            _ => {
                // Not a reference (only hostile input): bless the value itself.
                self.nodes[slot] = Node::Blessed { class, inner: item };
            }
        }
        Ok(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(body: &[u8]) -> Vec<u8> {
        let mut doc = MAGIC_V3.to_vec();
        doc.extend([0x03, 0x00]);
        doc.extend(body);
        doc
    }

    #[test]
    fn scalars_and_containers() {
        // {"a" => [1, -1, "xy", undef, 300]}
        let body = [
            HASHREF_0 + 1,
            SHORT_BINARY_0 + 1,
            b'a',
            ARRAYREF_0 + 5,
            1,
            0x1f,
            SHORT_BINARY_0 + 2,
            b'x',
            b'y',
            UNDEF,
            VARINT,
            0xac,
            0x02,
        ];
        let doc = decode(&raw(&body)).unwrap();
        let a = doc.get(doc.root, "a").unwrap();
        let items = doc.array(a).unwrap();
        assert_eq!(doc.int(items[0]), Some(1));
        assert_eq!(doc.int(items[1]), Some(-1));
        assert_eq!(doc.str(items[2]).as_deref(), Some("xy"));
        assert_eq!(doc.node(items[3]), &Node::Undef);
        assert_eq!(doc.int(items[4]), Some(300));
    }

    #[test]
    fn objects_shared_refs_and_cycles() {
        // [ bless({self => <ref to this hash>}, "K"), REFP to the hash, OBJECTV "K" {} ]
        // body offsets are 1-based: body[0] is offset 1.
        let body = [
            ARRAYREF_0 + 3,     // 0
            OBJECT,             // 1
            SHORT_BINARY_0 + 1, // 2: class "K"
            b'K',               // 3
            REFN,               // 4
            HASH | TRACK,       // 5: tracked hash, offset 6
            1,                  // 6: one entry
            SHORT_BINARY_0 + 4, // 7
            b's',
            b'e',
            b'l',
            b'f',
            REFP, // 12
            6,    // -> hash at offset 6
            REFP, // 14
            6,
            OBJECTV, // 16
            3,       // class name tag at offset 3 (body index 2)
            HASHREF_0,
        ];
        let doc = decode(&raw(&body)).unwrap();
        let items = doc.array(doc.root).unwrap();
        assert_eq!(doc.class(items[0]), Some("K"));
        assert_eq!(
            doc.class(items[1]),
            Some("K"),
            "a shared ref sees the blessing"
        );
        let me = doc.get(items[0], "self").unwrap();
        assert_eq!(doc.class(me), Some("K"), "the cycle sees the blessing");
        assert_eq!(doc.deref(me), doc.deref(items[0]));
        assert_eq!(doc.class(items[2]), Some("K"));
    }

    #[test]
    fn corrupt_headers_and_bodies_are_errors() {
        assert!(decode(b"").is_err());
        assert!(decode(b"=srl").is_err());
        assert!(decode(b"xxxx\x03\x00\x01").is_err());
        assert!(decode(b"=\xC3\xB3rl\x03\x00\x01").is_err());
        // An array claiming more items than bytes left.
        let e = decode(&raw(&[ARRAY, 0xff, 0xff, 0x03])).unwrap_err();
        assert!(e.message.contains("ARRAY"), "{e}");
        // A back-reference forwards.
        assert!(decode(&raw(&[REFP, 9])).is_err());
        // COPY of itself.
        assert!(decode(&raw(&[COPY, 1])).is_err());
        // Deep nesting, through each kind of container.
        assert!(decode(&raw(&[REFN; 5000])).is_err());
        assert!(decode(&raw(&[ARRAYREF_0 + 1; 5000])).is_err());
        let hashes: Vec<u8> = (0..5000)
            .flat_map(|_| [HASHREF_0 + 1, SHORT_BINARY_0])
            .collect();
        assert!(decode(&raw(&hashes)).is_err());
        // A long string copied over and over runs out of budget.
        let mut body = vec![ARRAY, 0x90, 0x4e, BINARY, 0x80, 0x20]; // 10000 items, 4096-byte string
        body.extend([b'x'; 4096]);
        for _ in 0..9999 {
            body.extend([COPY, 4]);
        }
        let e = decode(&raw(&body)).unwrap_err();
        assert!(e.message.contains("string data"), "{e}");
    }

    #[test]
    fn compressed_bodies() {
        let body = [ARRAYREF_0 + 2, 7, SHORT_BINARY_0 + 1, b'z'];
        let snappy = snap::raw::Encoder::new().compress_vec(&body).unwrap();
        let mut doc = MAGIC_V3.to_vec();
        doc.extend([0x23, 0x00, snappy.len() as u8]);
        doc.extend(&snappy);
        let d = decode(&doc).unwrap();
        assert_eq!(doc_len(&d), 2);

        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut z, &body).unwrap();
        let z = z.finish().unwrap();
        let mut doc = MAGIC_V3.to_vec();
        doc.extend([0x33, 0x00, body.len() as u8, z.len() as u8]);
        doc.extend(&z);
        assert_eq!(doc_len(&decode(&doc).unwrap()), 2);
        // Wrong declared length.
        let last = doc.len() - z.len() - 2;
        doc[last] = 9;
        assert!(decode(&doc).is_err());
    }

    fn doc_len(d: &Document) -> usize {
        d.array(d.root).unwrap().len()
    }
}
