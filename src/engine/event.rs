//! Events: everything the engine did, in order. The UI animates them; the trace hash
//! proves determinism.

use std::hash::{Hash, Hasher};

use super::log::KeyId;

/// Why a record went to the partition it went to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PartitionReason {
    /// Keyed, Java default: `toPositive(murmur2(key)) % partition_count`.
    Murmur2 {
        /// `Utils.murmur2` of the key bytes (signed, as Java prints it).
        hash: i32,
        /// The partition count the modulo used.
        partition_count: u32,
    },
    /// Keyed, librdkafka `consistent`: `crc32(key) % partition_count`.
    Crc32 {
        /// CRC-32 of the key bytes.
        hash: u32,
        /// The partition count the modulo used.
        partition_count: u32,
    },
    /// The sticky partition of a null-key (or keys-ignored) record.
    Sticky,
    /// `RoundRobinPartitioner`'s counter.
    RoundRobin,
    /// A seeded uniform pick (the slice's null-key stand-in).
    Random,
}

/// One thing that happened in the simulation, stamped with virtual time.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// A record was appended to a partition log.
    RecordAppended {
        /// Virtual time of the append.
        at_ms: u64,
        /// The ledger id of the produced record.
        record_id: u32,
        /// Null key or interned key.
        key: Option<KeyId>,
        /// The partition it landed in.
        partition: u32,
        /// Its offset there.
        offset: u64,
        /// How the partition was chosen.
        reason: PartitionReason,
    },
    /// Partitions were added; keys seen so far that now map elsewhere are listed.
    PartitionsAdded {
        /// Virtual time.
        at_ms: u64,
        /// Partition count before.
        from: u32,
        /// Partition count after.
        to: u32,
        /// `(key, old partition, new partition)` for every known key that moved.
        moved: Vec<(KeyId, u32, u32)>,
    },
}

/// FNV-1a (64-bit) with platform-independent integer widths, so the trace hash of a
/// run is the same natively and in the browser.
#[derive(Clone, Debug)]
pub struct StableHasher(u64);

impl Default for StableHasher {
    fn default() -> Self {
        StableHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for StableHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    // usize/isize differ between wasm32 and x86_64; widen them so both agree.
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }

    fn write_isize(&mut self, i: isize) {
        self.write_i64(i as i64);
    }
}

/// The running hash of an event trace: equal traces give equal hashes.
#[derive(Clone, Debug, Default)]
pub struct TraceHash {
    hasher: StableHasher,
    count: u64,
}

impl TraceHash {
    /// Folds one event into the hash.
    pub fn push(&mut self, event: &Event) {
        event.hash(&mut self.hasher);
        self.count += 1;
    }

    /// The hash of every event pushed so far.
    pub fn value(&self) -> u64 {
        self.hasher.finish()
    }

    /// How many events were pushed.
    pub fn count(&self) -> u64 {
        self.count
    }
}
