//! The key table: keys are interned once, with their hashes, so records stay small.

use std::collections::BTreeMap;

use super::log::KeyId;
use super::partitioner::{crc32, murmur2};

/// An interned key with the hashes both partitioners need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key as the user sees it (UTF-8, serialized as its bytes).
    pub name: String,
    /// Kafka's `Utils.murmur2` of the key bytes.
    pub murmur2: i32,
    /// CRC-32 of the key bytes (librdkafka's `consistent`).
    pub crc32: u32,
}

/// Interned keys, in first-seen order.
#[derive(Clone, Debug, Default)]
pub struct KeyTable {
    keys: Vec<KeyInfo>,
    ids: BTreeMap<String, KeyId>,
}

impl KeyTable {
    /// The id of `name`, interning it on first sight.
    pub fn intern(&mut self, name: &str) -> KeyId {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.keys.len() as KeyId;
        self.keys.push(KeyInfo {
            name: name.to_owned(),
            murmur2: murmur2(name.as_bytes()),
            crc32: crc32(name.as_bytes()),
        });
        self.ids.insert(name.to_owned(), id);
        id
    }

    /// The key behind `id`.
    pub fn get(&self, id: KeyId) -> Option<&KeyInfo> {
        self.keys.get(id as usize)
    }

    /// The id of an already interned key.
    pub fn lookup(&self, name: &str) -> Option<KeyId> {
        self.ids.get(name).copied()
    }

    /// Number of distinct keys seen.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when no key was interned yet.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// All keys in first-seen order, with their ids.
    pub fn iter(&self) -> impl Iterator<Item = (KeyId, &KeyInfo)> {
        self.keys.iter().enumerate().map(|(i, k)| (i as KeyId, k))
    }
}
