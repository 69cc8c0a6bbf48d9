//! A vector in shared chunks, so that cloning the whole engine (a time-travel checkpoint)
//! copies only pointers, and a write after a clone copies only the chunk it touches.
//!
//! The engine's big per-record arrays (partition logs, the ledger's facts and outcomes)
//! live in these. Reads cost one extra indirection; writes check the chunk's reference
//! count and copy it the first time it is shared.

use std::sync::Arc;

/// Elements per chunk (a power of two).
const CHUNK_BITS: u32 = 12;
const CHUNK: usize = 1 << CHUNK_BITS;
const MASK: usize = CHUNK - 1;

/// A growable vector whose clones share their chunks until written.
#[derive(Clone, Debug)]
pub struct ChunkVec<T: Clone> {
    chunks: Vec<Arc<Vec<T>>>,
    len: usize,
}

impl<T: Clone> Default for ChunkVec<T> {
    fn default() -> Self {
        ChunkVec {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T: Clone> ChunkVec<T> {
    /// An empty vector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends one element.
    pub fn push(&mut self, value: T) {
        if self.len & MASK == 0 {
            self.chunks.push(Arc::new(Vec::with_capacity(CHUNK)));
        }
        let last = self
            .chunks
            .last_mut()
            .expect("a chunk exists after the check above");
        Arc::make_mut(last).push(value);
        self.len += 1;
    }

    /// Appends every element of `values`, chunk by chunk.
    pub fn extend_from_slice(&mut self, mut values: &[T]) {
        while !values.is_empty() {
            if self.len & MASK == 0 {
                self.chunks.push(Arc::new(Vec::with_capacity(CHUNK)));
            }
            let room = CHUNK - (self.len & MASK);
            let take = room.min(values.len());
            let last = self
                .chunks
                .last_mut()
                .expect("a chunk exists after the check above");
            Arc::make_mut(last).extend_from_slice(&values[..take]);
            self.len += take;
            values = &values[take..];
        }
    }

    /// The element at `index`, if any.
    pub fn get(&self, index: usize) -> Option<&T> {
        if index >= self.len {
            return None;
        }
        Some(&self.chunks[index >> CHUNK_BITS][index & MASK])
    }

    /// The element at `index`, mutably (copies its chunk if a clone shares it).
    pub fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        if index >= self.len {
            return None;
        }
        let chunk = &mut self.chunks[index >> CHUNK_BITS];
        Some(&mut Arc::make_mut(chunk)[index & MASK])
    }

    /// Grows to `len` elements with `fill`, or does nothing if already that long.
    pub fn resize_up(&mut self, len: usize, fill: T) {
        while self.len < len {
            self.push(fill.clone());
        }
    }

    /// The elements in `range` (clamped to the vector), in order.
    pub fn range(&self, from: usize, to: usize) -> impl Iterator<Item = &T> + '_ {
        let to = to.min(self.len);
        let from = from.min(to);
        (from..to).map(move |i| &self.chunks[i >> CHUNK_BITS][i & MASK])
    }

    /// Every element, in order.
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.chunks.iter().flat_map(|c| c.iter())
    }

    /// Memory of this vector's chunks: `(unshared, all, share)`. `unshared` counts chunks
    /// no clone holds; `all` counts every chunk; `share` splits each chunk's bytes evenly
    /// among its holders, so summing `share` over every live copy gives the distinct bytes.
    pub fn memory(&self) -> (usize, usize, usize) {
        let size = std::mem::size_of::<T>();
        let mut own = 0;
        let mut all = 0;
        let mut share = 0;
        for c in &self.chunks {
            let bytes = c.capacity() * size;
            let holders = Arc::strong_count(c);
            all += bytes;
            share += bytes / holders;
            if holders == 1 {
                own += bytes;
            }
        }
        (own, all, share)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_until_written() {
        let mut a = ChunkVec::new();
        for i in 0..10_000u32 {
            a.push(i);
        }
        let b = a.clone();
        *a.get_mut(5).unwrap() = 99;
        a.push(10_000);
        assert_eq!(a.get(5), Some(&99));
        assert_eq!(b.get(5), Some(&5));
        assert_eq!((a.len(), b.len()), (10_001, 10_000));
        assert_eq!(b.get(10_000), None);
        // Only the written chunk and the tail were copied.
        let (own, all, share) = a.memory();
        assert!(
            own < all && own <= share && share < all,
            "{own} {share} {all}"
        );
        assert_eq!(
            a.range(4_095, 4_098).copied().collect::<Vec<_>>(),
            vec![4_095, 4_096, 4_097]
        );
    }

    #[test]
    fn extend_crosses_chunks() {
        let mut a = ChunkVec::new();
        let values: Vec<u16> = (0..9_000).map(|i| i as u16).collect();
        a.extend_from_slice(&values[..100]);
        a.extend_from_slice(&values[100..]);
        assert_eq!(a.iter().copied().collect::<Vec<_>>(), values);
    }
}
