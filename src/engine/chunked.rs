//! A vector in shared chunks, so that cloning the whole engine (a time-travel checkpoint)
//! copies only pointers, and a write after a clone copies only the chunk it touches.
//!
//! The engine's big per-record arrays (partition logs, the ledger's facts and outcomes)
//! live in these. Full chunks are shared (`Rc`, the engine is single-threaded); the newest,
//! still growing chunk is a plain vector, so the hot path (append, update a recent record)
//! costs what a `Vec` costs. A clone copies that tail (at most one chunk).

use std::rc::Rc;

/// Elements per chunk (a power of two).
const CHUNK_BITS: u32 = 12;
const CHUNK: usize = 1 << CHUNK_BITS;
const MASK: usize = CHUNK - 1;

/// A growable vector whose clones share their full chunks until written.
#[derive(Clone, Debug)]
pub struct ChunkVec<T: Clone> {
    /// Full chunks, `CHUNK` elements each.
    full: Vec<Rc<Vec<T>>>,
    /// The newest elements (fewer than `CHUNK`).
    tail: Vec<T>,
}

impl<T: Clone> Default for ChunkVec<T> {
    fn default() -> Self {
        ChunkVec {
            full: Vec::new(),
            tail: Vec::new(),
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
        (self.full.len() << CHUNK_BITS) + self.tail.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.full.is_empty() && self.tail.is_empty()
    }

    fn seal_if_full(&mut self) {
        if self.tail.len() == CHUNK {
            let chunk = std::mem::replace(&mut self.tail, Vec::with_capacity(CHUNK));
            self.full.push(Rc::new(chunk));
        }
    }

    /// Appends one element.
    pub fn push(&mut self, value: T) {
        if self.tail.capacity() == 0 {
            self.tail.reserve_exact(CHUNK);
        }
        self.tail.push(value);
        self.seal_if_full();
    }

    /// Appends every element of `values`, chunk by chunk.
    pub fn extend_from_slice(&mut self, mut values: &[T]) {
        while !values.is_empty() {
            if self.tail.capacity() == 0 {
                self.tail.reserve_exact(CHUNK);
            }
            let take = (CHUNK - self.tail.len()).min(values.len());
            self.tail.extend_from_slice(&values[..take]);
            values = &values[take..];
            self.seal_if_full();
        }
    }

    /// The element at `index`, if any.
    #[inline]
    pub fn get(&self, index: usize) -> Option<&T> {
        let chunk = index >> CHUNK_BITS;
        if chunk < self.full.len() {
            Some(&self.full[chunk][index & MASK])
        } else if chunk == self.full.len() {
            self.tail.get(index & MASK)
        } else {
            None
        }
    }

    /// The element at `index`, mutably (copies its chunk if a clone shares it).
    #[inline]
    pub fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        let chunk = index >> CHUNK_BITS;
        if chunk < self.full.len() {
            Some(&mut Rc::make_mut(&mut self.full[chunk])[index & MASK])
        } else if chunk == self.full.len() {
            self.tail.get_mut(index & MASK)
        } else {
            None
        }
    }

    /// The chunk holding `index`, mutably, with the index of its first element (copies the
    /// chunk if a clone shares it). Hot loops write through it instead of paying
    /// [`ChunkVec::get_mut`]'s share check for every element.
    #[inline]
    pub fn chunk_mut(&mut self, index: usize) -> Option<(usize, &mut [T])> {
        let chunk = index >> CHUNK_BITS;
        let from = chunk << CHUNK_BITS;
        if chunk < self.full.len() {
            Some((from, Rc::make_mut(&mut self.full[chunk]).as_mut_slice()))
        } else if chunk == self.full.len() && index & MASK < self.tail.len() {
            Some((from, self.tail.as_mut_slice()))
        } else {
            None
        }
    }

    /// Grows to `len` elements with `fill`, or does nothing if already that long.
    pub fn resize_up(&mut self, len: usize, fill: T) {
        while self.len() < len {
            if self.tail.capacity() == 0 {
                self.tail.reserve_exact(CHUNK);
            }
            let room = CHUNK - self.tail.len();
            let add = room.min(len - self.len());
            self.tail.resize(self.tail.len() + add, fill.clone());
            self.seal_if_full();
        }
    }

    /// Shortens to `len` elements (nothing if already shorter). The chunk that becomes the
    /// tail is copied out of its share.
    pub fn truncate(&mut self, len: usize) {
        if len >= self.len() {
            return;
        }
        let chunks = len >> CHUNK_BITS;
        if chunks < self.full.len() {
            let mut tail = (*self.full[chunks]).clone();
            self.full.truncate(chunks);
            tail.truncate(len & MASK);
            tail.reserve_exact(CHUNK - tail.len());
            self.tail = tail;
        } else {
            self.tail.truncate(len & MASK);
        }
    }

    /// The elements in `from..to` (clamped to the vector), as contiguous slices in order.
    pub fn slices(&self, from: usize, to: usize) -> impl Iterator<Item = &[T]> + '_ {
        let to = to.min(self.len());
        let from = from.min(to);
        let mut at = from;
        std::iter::from_fn(move || {
            if at >= to {
                return None;
            }
            let chunk = at >> CHUNK_BITS;
            let start = at & MASK;
            let slice: &[T] = if chunk < self.full.len() {
                &self.full[chunk]
            } else {
                &self.tail
            };
            let end = (start + (to - at)).min(slice.len());
            at += end - start;
            Some(&slice[start..end])
        })
    }

    /// The elements in `from..to` (clamped to the vector) without copying full chunks:
    /// each part is a chunk and the range of it to read. Only the part in the growing tail
    /// is copied (the tail is not shared, so the vector can keep appending to it).
    pub fn share(&self, from: usize, to: usize) -> Vec<(Rc<Vec<T>>, usize, usize)> {
        let to = to.min(self.len());
        let mut at = from.min(to);
        let mut parts = Vec::new();
        while at < to {
            let chunk = at >> CHUNK_BITS;
            let start = at & MASK;
            if chunk < self.full.len() {
                let end = (start + (to - at)).min(CHUNK);
                parts.push((Rc::clone(&self.full[chunk]), start, end));
                at += end - start;
            } else {
                let end = start + (to - at);
                parts.push((Rc::new(self.tail[start..end].to_vec()), 0, end - start));
                at = to;
            }
        }
        parts
    }

    /// The index of the first element for which `pred` is false, in a vector where every
    /// element that passes comes before every one that fails (as `slice::partition_point`).
    pub fn partition_point(&self, mut pred: impl FnMut(&T) -> bool) -> usize {
        // The first full chunk whose last element fails holds the point; else the tail.
        let chunk = self.full.partition_point(|c| pred(&c[CHUNK - 1]));
        let slice: &[T] = self.full.get(chunk).map_or(&self.tail, |c| c);
        (chunk << CHUNK_BITS) + slice.partition_point(pred)
    }

    /// The elements in `from..to` (clamped to the vector), in order.
    pub fn range(&self, from: usize, to: usize) -> impl Iterator<Item = &T> + '_ {
        self.slices(from, to).flatten()
    }

    /// Every element, in order.
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.full
            .iter()
            .flat_map(|c| c.iter())
            .chain(self.tail.iter())
    }

    /// Memory of this vector: `(unshared, all, share)`. `unshared` counts what no clone
    /// holds; `all` counts everything; `share` splits each shared chunk's bytes evenly
    /// among its holders, so summing `share` over every live copy gives the distinct bytes.
    pub fn memory(&self) -> (usize, usize, usize) {
        let size = std::mem::size_of::<T>();
        let tail = self.tail.capacity() * size;
        let mut own = tail;
        let mut all = tail;
        let mut share = tail;
        for c in &self.full {
            let bytes = c.capacity() * size;
            let holders = Rc::strong_count(c);
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
    fn truncate_keeps_the_prefix_in_full_chunks_and_the_tail() {
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5] {
            let mut v = ChunkVec::new();
            v.extend_from_slice(&(0..3 * CHUNK as u32 + 9).collect::<Vec<_>>());
            let shared = v.clone();
            v.truncate(len);
            assert_eq!(v.len(), len);
            assert_eq!(
                v.range(0, len).copied().collect::<Vec<_>>(),
                (0..len as u32).collect::<Vec<_>>()
            );
            v.push(7);
            assert_eq!(v.get(len), Some(&7));
            assert_eq!(shared.get(len), Some(&(len as u32)), "a clone is untouched");
        }
    }

    #[test]
    fn clones_share_until_written() {
        let mut a = ChunkVec::new();
        for i in 0..10_000u32 {
            a.push(i);
        }
        let b = a.clone();
        *a.get_mut(5).unwrap() = 99;
        *a.get_mut(9_999).unwrap() = 7;
        a.push(10_000);
        assert_eq!(a.get(5), Some(&99));
        assert_eq!(b.get(5), Some(&5));
        assert_eq!(b.get(9_999), Some(&9_999));
        assert_eq!((a.len(), b.len()), (10_001, 10_000));
        assert_eq!(b.get(10_000), None);
        // Only the written chunk was copied; the untouched one is still shared.
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
    fn partition_point_matches_a_slice() {
        let values: Vec<u32> = (0..2 * CHUNK as u32 + 100).map(|i| i * 2).collect();
        let mut v = ChunkVec::new();
        v.extend_from_slice(&values);
        let edges = [
            0,
            1,
            2,
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            2 * CHUNK,
            2 * CHUNK + 99,
            2 * CHUNK + 100,
        ];
        for bound in edges.iter().flat_map(|&i| [2 * i as u32, 2 * i as u32 + 1]) {
            assert_eq!(
                v.partition_point(|&x| x < bound),
                values.partition_point(|&x| x < bound),
                "{bound}"
            );
        }
        assert_eq!(ChunkVec::<u32>::new().partition_point(|_| true), 0);
    }

    #[test]
    fn extend_and_resize_cross_chunks() {
        let mut a = ChunkVec::new();
        let values: Vec<u16> = (0..9_000).map(|i| i as u16).collect();
        a.extend_from_slice(&values[..100]);
        a.extend_from_slice(&values[100..]);
        assert_eq!(a.iter().copied().collect::<Vec<_>>(), values);
        assert_eq!(
            a.slices(4_000, 8_200).map(<[u16]>::len).collect::<Vec<_>>(),
            vec![96, 4_096, 8]
        );
        let mut z: ChunkVec<u8> = ChunkVec::new();
        z.resize_up(10_000, 3);
        assert_eq!((z.len(), z.get(9_999)), (10_000, Some(&3)));
    }
}
