//! Originals kept in the isolate's memory between requests.
//!
//! Why: a Worker isolate serves many requests, and its globals survive between them (not
//! guaranteed — an isolate can be evicted at any time — so this is only ever a shortcut).
//! The storefront asks for the same few originals at several widths and DPRs, and each edge
//! thumbnail would otherwise read its original from the Cache API first: a round trip that
//! costs about as much as the resize itself under `wrangler dev`. Originals are
//! content-addressed (the id is their BLAKE3 hash), so a copy can never be stale and needs
//! no invalidation; only memory must be bounded. This is a tiny byte-bounded LRU.

use std::{collections::VecDeque, rc::Rc};

/// Bytes of originals one isolate keeps (of its 128 MB).
pub const MEMO_BYTES: usize = 8 * 1024 * 1024;

/// A byte-bounded least-recently-used map from image id to bytes.
#[derive(Debug)]
pub struct Memo {
    /// Most recently used last.
    entries: VecDeque<(String, Rc<Vec<u8>>)>,
    bytes: usize,
    max_bytes: usize,
}

impl Memo {
    pub fn new(max_bytes: usize) -> Memo {
        Memo {
            entries: VecDeque::new(),
            bytes: 0,
            max_bytes,
        }
    }

    /// The bytes of `id`, marking it most recently used.
    pub fn get(&mut self, id: &str) -> Option<Rc<Vec<u8>>> {
        let i = self.entries.iter().position(|(k, _)| k == id)?;
        let entry = self.entries.remove(i)?;
        let bytes = entry.1.clone();
        self.entries.push_back(entry);
        Some(bytes)
    }

    /// Keeps `bytes` under `id`, evicting the least recently used entries to stay within
    /// the budget. A value larger than a quarter of the budget is not kept.
    pub fn insert(&mut self, id: &str, bytes: Rc<Vec<u8>>) {
        if bytes.len() > self.max_bytes / 4 {
            return;
        }
        if let Some(i) = self.entries.iter().position(|(k, _)| k == id)
            && let Some((_, old)) = self.entries.remove(i)
        {
            self.bytes -= old.len();
        }
        self.bytes += bytes.len();
        self.entries.push_back((id.to_owned(), bytes));
        while self.bytes > self.max_bytes {
            match self.entries.pop_front() {
                Some((_, old)) => self.bytes -= old.len(),
                None => break,
            }
        }
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(n: usize) -> Rc<Vec<u8>> {
        Rc::new(vec![0; n])
    }

    #[test]
    fn keeps_recently_used_within_the_budget() {
        let mut m = Memo::new(1000);
        m.insert("a", value(200));
        m.insert("b", value(200));
        m.insert("c", value(200));
        assert!(m.get("a").is_some(), "a becomes the most recent");
        m.insert("d", value(200));
        m.insert("e", value(200));
        assert_eq!(m.bytes(), 1000);
        m.insert("f", value(200));
        assert!(m.get("b").is_none(), "the least recently used went first");
        assert!(m.get("a").is_some());
        assert!(m.bytes() <= 1000);
    }

    #[test]
    fn replaces_and_refuses_oversized_values() {
        let mut m = Memo::new(1000);
        m.insert("a", value(100));
        m.insert("a", value(150));
        assert_eq!(m.bytes(), 150);
        m.insert("big", value(251));
        assert!(m.get("big").is_none());
        assert_eq!(m.get("a").map(|v| v.len()), Some(150));
    }
}
