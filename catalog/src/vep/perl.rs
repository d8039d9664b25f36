//! Perl data as the Storable and Sereal decoders produce it.
//!
//! VEP cache objects are graphs, not trees: an exon is shared between a
//! transcript's exon array, its sorted exons and its translation, and a
//! translation points back at its transcript. So values live in an arena and
//! refer to each other by [`NodeId`]; a shared reference is the same id twice,
//! and a cycle is harmless.

/// Index of a node in a [`Document`].
pub type NodeId = usize;

/// One Perl value.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Undef,
    Int(i64),
    Float(f64),
    /// A Perl string: bytes, UTF-8 when the source flagged it so.
    Str(Vec<u8>),
    Array(Vec<NodeId>),
    /// Keys in file order.
    Hash(Vec<(Vec<u8>, NodeId)>),
    /// A reference (`\$x`, `[...]`, `{...}` are references to arrays/hashes).
    Ref(NodeId),
    /// `bless`ed: the class and the blessed thing (usually a Hash).
    Blessed {
        class: String,
        inner: NodeId,
    },
}

/// A decoded file: the arena and its root.
#[derive(Debug, Clone, Default)]
pub struct Document {
    pub nodes: Vec<Node>,
    pub root: NodeId,
}

impl Document {
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    /// Follows references and blessings down to the value itself.
    pub fn deref(&self, mut id: NodeId) -> NodeId {
        // Bounded: a reference cycle without a container would loop forever.
        for _ in 0..64 {
            match &self.nodes[id] {
                Node::Ref(to) | Node::Blessed { inner: to, .. } => id = *to,
                _ => return id,
            }
        }
        id
    }

    /// The class an object was blessed into, looking through references.
    pub fn class(&self, mut id: NodeId) -> Option<&str> {
        for _ in 0..64 {
            match &self.nodes[id] {
                Node::Ref(to) => id = *to,
                Node::Blessed { class, .. } => return Some(class),
                _ => return None,
            }
        }
        None
    }

    /// `$h->{key}` for a hash (through references and blessings).
    pub fn get(&self, id: NodeId, key: &str) -> Option<NodeId> {
        match &self.nodes[self.deref(id)] {
            Node::Hash(entries) => entries
                .iter()
                .find(|(k, _)| k.as_slice() == key.as_bytes())
                .map(|(_, v)| *v),
            _ => None,
        }
    }

    /// The elements of an array (through references and blessings).
    pub fn array(&self, id: NodeId) -> Option<&[NodeId]> {
        match &self.nodes[self.deref(id)] {
            Node::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The entries of a hash (through references and blessings).
    pub fn hash(&self, id: NodeId) -> Option<&[(Vec<u8>, NodeId)]> {
        match &self.nodes[self.deref(id)] {
            Node::Hash(entries) => Some(entries),
            _ => None,
        }
    }

    /// A scalar as text, as Perl would stringify it; `None` for undef and containers.
    pub fn str(&self, id: NodeId) -> Option<String> {
        match &self.nodes[self.deref(id)] {
            Node::Str(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
            Node::Int(i) => Some(i.to_string()),
            Node::Float(f) => Some(f.to_string()),
            _ => None,
        }
    }

    /// A scalar as an integer, as Perl would numify a decimal string.
    pub fn int(&self, id: NodeId) -> Option<i64> {
        match &self.nodes[self.deref(id)] {
            Node::Int(i) => Some(*i),
            Node::Float(f) => Some(*f as i64),
            Node::Str(bytes) => std::str::from_utf8(bytes).ok()?.trim().parse().ok(),
            _ => None,
        }
    }

    /// `$h->{key}` as text.
    pub fn get_str(&self, id: NodeId, key: &str) -> Option<String> {
        self.get(id, key).and_then(|v| self.str(v))
    }

    /// `$h->{key}` as an integer.
    pub fn get_int(&self, id: NodeId, key: &str) -> Option<i64> {
        self.get(id, key).and_then(|v| self.int(v))
    }
}

/// A Storable or Sereal stream that cannot be decoded; the caller names the file.
#[derive(Debug, thiserror::Error)]
#[error("{format} data is corrupt at byte {offset}: {message}")]
pub struct DecodeError {
    pub format: &'static str,
    pub offset: usize,
    pub message: String,
}
