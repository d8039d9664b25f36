//! Perl Storable (`nstore`/`store`, as VEP writes its cache region files)
//! decoded into a [`Document`].
//!
//! The format is Storable.xs's: a `pst0` header, then one object written
//! depth-first as opcodes. Every retrieved object (scalars included) takes the
//! next tag number; `SX_OBJECT <tag>` later refers back to it, which is how a
//! shared reference or a cycle is written. Blessing is a prefix on the blessed
//! thing (the hash, not the reference to it), so the tag of a blessed object
//! names its [`Node::Blessed`] wrapper.

use super::perl::{DecodeError, Document, Node, NodeId};

const FORMAT: &str = "Storable";

// Opcodes, from Storable.xs.
const SX_OBJECT: u8 = 0;
const SX_LSCALAR: u8 = 1;
const SX_ARRAY: u8 = 2;
const SX_HASH: u8 = 3;
const SX_REF: u8 = 4;
const SX_UNDEF: u8 = 5;
const SX_INTEGER: u8 = 6;
const SX_DOUBLE: u8 = 7;
const SX_BYTE: u8 = 8;
const SX_NETINT: u8 = 9;
const SX_SCALAR: u8 = 10;
const SX_TIED_ARRAY: u8 = 11;
const SX_TIED_HASH: u8 = 12;
const SX_TIED_SCALAR: u8 = 13;
const SX_SV_UNDEF: u8 = 14;
const SX_SV_YES: u8 = 15;
const SX_SV_NO: u8 = 16;
const SX_BLESS: u8 = 17;
const SX_IX_BLESS: u8 = 18;
const SX_HOOK: u8 = 19;
const SX_OVERLOAD: u8 = 20;
const SX_TIED_KEY: u8 = 21;
const SX_TIED_IDX: u8 = 22;
const SX_UTF8STR: u8 = 23;
const SX_LUTF8STR: u8 = 24;
const SX_FLAG_HASH: u8 = 25;
const SX_CODE: u8 = 26;
const SX_WEAKREF: u8 = 27;
const SX_WEAKOVERLOAD: u8 = 28;
const SX_VSTRING: u8 = 29;
const SX_LVSTRING: u8 = 30;
const SX_SVUNDEF_ELEM: u8 = 31;
const SX_REGEXP: u8 = 32;
const SX_LOBJECT: u8 = 33;
const SX_BOOLEAN_TRUE: u8 = 34;
const SX_BOOLEAN_FALSE: u8 = 35;

// SX_FLAG_HASH per-key flags.
const SHV_K_WASUTF8: u8 = 0x02;
const SHV_K_ISSV: u8 = 0x08;
const SHV_K_PLACEHOLDER: u8 = 0x10;

/// Deeper nesting than any VEP object has; bounds the recursion on hostile input.
const MAX_DEPTH: usize = 2000;

/// Decodes a whole Storable file (already gunzipped).
pub fn decode(bytes: &[u8]) -> Result<Document, DecodeError> {
    let mut d = Decoder {
        buf: bytes,
        pos: 0,
        big_endian: true,
        iv_size: 8,
        nv_size: 8,
        nodes: Vec::new(),
        tags: Vec::new(),
        classes: Vec::new(),
        depth: 0,
    };
    d.header()?;
    let root = d.object(None)?;
    Ok(Document {
        nodes: d.nodes,
        root,
    })
}

struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Byte order of lengths and native numbers: network order, or the writer's.
    big_endian: bool,
    iv_size: usize,
    nv_size: usize,
    nodes: Vec<Node>,
    /// Tag number -> node.
    tags: Vec<NodeId>,
    /// SX_BLESS class names, indexed by SX_IX_BLESS.
    classes: Vec<String>,
    depth: usize,
}

impl Decoder<'_> {
    fn err(&self, offset: usize, message: impl Into<String>) -> DecodeError {
        DecodeError {
            format: FORMAT,
            offset,
            message: message.into(),
        }
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| self.err(self.pos, "truncated: expected 1 more byte"))?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let remaining = self.buf.len() - self.pos;
        if n > remaining {
            return Err(self.err(
                self.pos,
                format!("truncated: {n} bytes needed, {remaining} left"),
            ));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// An I32 in the file's byte order (Storable's RLEN).
    fn i32(&mut self) -> Result<i32, DecodeError> {
        let b: [u8; 4] = self.take(4)?.try_into().expect("4 bytes");
        Ok(if self.big_endian {
            i32::from_be_bytes(b)
        } else {
            i32::from_le_bytes(b)
        })
    }

    /// A length, checked against what is left so a corrupt one cannot make
    /// us allocate more than the input could describe (`min_each` bytes per item).
    fn len(&mut self, min_each: usize, what: &str) -> Result<usize, DecodeError> {
        let at = self.pos;
        let n = self.i32()?;
        let n =
            usize::try_from(n).map_err(|_| self.err(at, format!("negative {what} length {n}")))?;
        self.check_len(at, n, min_each, what)
    }

    fn check_len(
        &self,
        at: usize,
        n: usize,
        min_each: usize,
        what: &str,
    ) -> Result<usize, DecodeError> {
        let remaining = self.buf.len() - self.pos;
        if n.saturating_mul(min_each) > remaining {
            return Err(self.err(
                at,
                format!("{what} length {n} exceeds the {remaining} bytes left"),
            ));
        }
        Ok(n)
    }

    fn header(&mut self) -> Result<(), DecodeError> {
        if !self.buf.starts_with(b"pst0") {
            let msg = if self.buf.starts_with(b"perl-store") {
                "Storable binary format 1 (\"perl-store\") is not supported"
            } else if self.buf.starts_with(&[0x1f, 0x8b]) {
                "still gzip-compressed"
            } else {
                "not a Storable file (no \"pst0\" magic)"
            };
            return Err(self.err(0, msg));
        }
        self.pos = 4;
        let at = self.pos;
        let b = self.byte()?;
        let major = b >> 1;
        let network = b & 1 == 1;
        if major != 2 {
            return Err(self.err(
                at,
                format!("Storable binary major version {major} (only 2 is supported)"),
            ));
        }
        let minor = self.byte()?;
        if network {
            self.big_endian = true;
            return Ok(());
        }
        // Native order: the writer's byte order string and type sizes.
        let at = self.pos;
        let n = self.byte()? as usize;
        let order = self.take(n)?.to_vec();
        let (big, iv_size) = match order.as_slice() {
            b"1234" => (false, 4),
            b"12345678" => (false, 8),
            b"4321" => (true, 4),
            b"87654321" => (true, 8),
            other => {
                return Err(self.err(
                    at,
                    format!(
                        "unsupported native byte order {:?}",
                        String::from_utf8_lossy(other)
                    ),
                ));
            }
        };
        self.big_endian = big;
        self.iv_size = iv_size;
        let at = self.pos;
        let int_size = self.byte()?;
        let _long_size = self.byte()?;
        let _ptr_size = self.byte()?;
        if int_size != 4 {
            return Err(self.err(at, format!("sizeof(int) is {int_size}, expected 4")));
        }
        if minor >= 2 {
            let at = self.pos;
            let nv = self.byte()? as usize;
            if nv != 8 {
                return Err(self.err(
                    at,
                    format!("sizeof(NV) is {nv} (long double Perl); only 8 is supported"),
                ));
            }
            self.nv_size = nv;
        }
        Ok(())
    }

    fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// Allocates a retrieved object and gives it the next tag; blessed, the
    /// tag names the wrapper. Returns (the value's node, the node to hand back).
    fn seen(&mut self, node: Node, class: Option<String>) -> (NodeId, NodeId) {
        let id = self.push(node);
        let outer = match class {
            Some(class) => self.push(Node::Blessed { class, inner: id }),
            None => id,
        };
        self.tags.push(outer);
        (id, outer)
    }

    fn scalar(&mut self, node: Node, class: Option<String>) -> NodeId {
        self.seen(node, class).1
    }

    fn object(&mut self, class: Option<String>) -> Result<NodeId, DecodeError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.err(self.pos, format!("nesting deeper than {MAX_DEPTH}")));
        }
        self.depth += 1;
        let r = self.object_inner(class);
        self.depth -= 1;
        r
    }

    fn object_inner(&mut self, class: Option<String>) -> Result<NodeId, DecodeError> {
        let at = self.pos;
        let op = self.byte()?;
        match op {
            SX_OBJECT => {
                if class.is_some() {
                    return Err(self.err(at, "a back-reference cannot be blessed"));
                }
                // Tags are always written in network order.
                let b: [u8; 4] = self.take(4)?.try_into().expect("4 bytes");
                let tag = u32::from_be_bytes(b) as usize;
                self.tags.get(tag).copied().ok_or_else(|| {
                    self.err(
                        at,
                        format!(
                            "back-reference to object #{tag}, only {} seen",
                            self.tags.len()
                        ),
                    )
                })
            }
            SX_SCALAR | SX_UTF8STR => {
                let n = self.byte()? as usize;
                let s = self.take(n)?.to_vec();
                Ok(self.scalar(Node::Str(s), class))
            }
            SX_LSCALAR | SX_LUTF8STR => {
                let n = self.len(1, "string")?;
                let s = self.take(n)?.to_vec();
                Ok(self.scalar(Node::Str(s), class))
            }
            SX_VSTRING | SX_LVSTRING => {
                // The v-string magic, then the plain scalar it decorates.
                let n = if op == SX_VSTRING {
                    self.byte()? as usize
                } else {
                    self.len(1, "v-string")?
                };
                self.take(n)?;
                self.object(class)
            }
            SX_UNDEF | SX_SV_UNDEF | SX_SVUNDEF_ELEM => Ok(self.scalar(Node::Undef, class)),
            // Perl's immortal yes/no stringify as "1" and "".
            SX_SV_YES | SX_BOOLEAN_TRUE => Ok(self.scalar(Node::Str(b"1".to_vec()), class)),
            SX_SV_NO | SX_BOOLEAN_FALSE => Ok(self.scalar(Node::Str(Vec::new()), class)),
            SX_BYTE => {
                let b = self.byte()?;
                Ok(self.scalar(Node::Int(b as i64 - 128), class))
            }
            SX_NETINT => {
                let b: [u8; 4] = self.take(4)?.try_into().expect("4 bytes");
                Ok(self.scalar(Node::Int(i32::from_be_bytes(b) as i64), class))
            }
            SX_INTEGER => {
                let v = if self.iv_size == 4 {
                    self.i32()? as i64
                } else {
                    let b: [u8; 8] = self.take(8)?.try_into().expect("8 bytes");
                    if self.big_endian {
                        i64::from_be_bytes(b)
                    } else {
                        i64::from_le_bytes(b)
                    }
                };
                Ok(self.scalar(Node::Int(v), class))
            }
            SX_DOUBLE => {
                let b: [u8; 8] = self.take(self.nv_size)?.try_into().expect("8 bytes");
                let v = if self.big_endian {
                    f64::from_be_bytes(b)
                } else {
                    f64::from_le_bytes(b)
                };
                Ok(self.scalar(Node::Float(v), class))
            }
            SX_REF | SX_WEAKREF | SX_OVERLOAD | SX_WEAKOVERLOAD => {
                // The reference is seen before what it points at.
                let (id, outer) = self.seen(Node::Undef, class);
                let to = self.object(None)?;
                self.nodes[id] = Node::Ref(to);
                Ok(outer)
            }
            SX_ARRAY => {
                let n = self.len(1, "array")?;
                let (id, outer) = self.seen(Node::Array(Vec::new()), class);
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.object(None)?);
                }
                self.nodes[id] = Node::Array(items);
                Ok(outer)
            }
            SX_HASH => {
                // Each entry: the value, then the key's length and bytes.
                let n = self.len(5, "hash")?;
                let (id, outer) = self.seen(Node::Hash(Vec::new()), class);
                let mut entries = Vec::with_capacity(n);
                for _ in 0..n {
                    let value = self.object(None)?;
                    let k = self.len(1, "hash key")?;
                    let key = self.take(k)?.to_vec();
                    entries.push((key, value));
                }
                self.nodes[id] = Node::Hash(entries);
                Ok(outer)
            }
            SX_FLAG_HASH => {
                let _hash_flags = self.byte()?;
                // value, flags and at least a one-byte key SV per entry.
                let n = self.len(3, "hash")?;
                let (id, outer) = self.seen(Node::Hash(Vec::new()), class);
                let mut entries = Vec::with_capacity(n);
                for _ in 0..n {
                    let value = self.object(None)?;
                    let flags_at = self.pos;
                    let flags = self.byte()?;
                    let key = if flags & SHV_K_ISSV != 0 {
                        let k = self.object(None)?;
                        match &self.nodes[self.deref_scalar(k)] {
                            Node::Str(s) => s.clone(),
                            Node::Int(i) => i.to_string().into_bytes(),
                            _ => {
                                return Err(self.err(flags_at, "hash key is not a plain scalar"));
                            }
                        }
                    } else {
                        let k = self.len(1, "hash key")?;
                        let raw = self.take(k)?;
                        if flags & SHV_K_WASUTF8 != 0 {
                            // Stored downgraded to Latin-1; Perl hands it back as UTF-8.
                            raw.iter().map(|&b| b as char).collect::<String>().into_bytes()
                        } else {
                            raw.to_vec()
                        }
                    };
                    // Placeholders are a restricted hash's allowed-but-absent keys.
                    if flags & SHV_K_PLACEHOLDER == 0 {
                        entries.push((key, value));
                    }
                }
                self.nodes[id] = Node::Hash(entries);
                Ok(outer)
            }
            SX_BLESS => {
                if class.is_some() {
                    return Err(self.err(at, "object blessed twice"));
                }
                let at = self.pos;
                let mut n = self.byte()? as usize;
                if n & 0x80 != 0 {
                    n = self.len(1, "class name")?;
                }
                let name = String::from_utf8(self.take(n)?.to_vec())
                    .map_err(|_| self.err(at, "class name is not UTF-8"))?;
                self.classes.push(name.clone());
                self.object(Some(name))
            }
            SX_IX_BLESS => {
                if class.is_some() {
                    return Err(self.err(at, "object blessed twice"));
                }
                let at = self.pos;
                let mut ix = self.byte()? as usize;
                if ix & 0x80 != 0 {
                    let v = self.i32()?;
                    ix = usize::try_from(v)
                        .map_err(|_| self.err(at, format!("negative class index {v}")))?;
                }
                let name = self.classes.get(ix).cloned().ok_or_else(|| {
                    self.err(
                        at,
                        format!("class index {ix}, only {} classes seen", self.classes.len()),
                    )
                })?;
                self.object(Some(name))
            }
            SX_TIED_ARRAY | SX_TIED_HASH | SX_TIED_SCALAR | SX_TIED_KEY | SX_TIED_IDX => {
                Err(self.err(
                    at,
                    "tied variable (SX_TIED_*): its contents live in the tie class, not in the file",
                ))
            }
            SX_CODE => Err(self.err(at, "code reference (SX_CODE) cannot be decoded")),
            SX_HOOK => Err(self.err(
                at,
                "object stored by a STORABLE_freeze hook (SX_HOOK) is not supported",
            )),
            SX_REGEXP => Err(self.err(at, "regular expression (SX_REGEXP) is not supported")),
            SX_LOBJECT => Err(self.err(at, "object larger than 2 GiB (SX_LOBJECT)")),
            other => Err(self.err(at, format!("unknown opcode {other}"))),
        }
    }

    fn deref_scalar(&self, id: NodeId) -> NodeId {
        match &self.nodes[id] {
            Node::Blessed { inner, .. } => *inner,
            _ => id,
        }
    }
}
