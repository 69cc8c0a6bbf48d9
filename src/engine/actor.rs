//! What a handler works with: [`Ctx`], the kernel's state it may read and write besides its
//! own, and [`Out`], what it asks the kernel to do (send, set a timer, emit an event). Kept
//! apart from the protocol data (`msg.rs`), which then imports no event, record or cluster.

use super::cluster::Cluster;
use super::event::Event;
use super::ids::NodeId;
use super::keys::KeyTable;
use super::msg::{Msg, Timer};
use super::record::RecordInfo;
use super::rng::Rng;

/// What one handler asks the kernel to do.
#[derive(Debug, Default)]
pub struct Out {
    /// Messages to send: `(from, to, message)`, in order.
    pub sends: Vec<(NodeId, NodeId, Msg)>,
    /// Timers: `(when, whose, what)`.
    pub timers: Vec<(u64, NodeId, Timer)>,
    /// Events, in order.
    pub events: Vec<Event>,
    /// Connections the client closed (it purges what is in flight on them).
    pub closed_connections: Vec<(NodeId, NodeId)>,
}

impl Out {
    /// Sends a message.
    pub fn send(&mut self, from: NodeId, to: NodeId, msg: Msg) {
        self.sends.push((from, to, msg));
    }

    /// Sets a timer.
    pub fn timer(&mut self, at_ms: u64, node: NodeId, timer: Timer) {
        self.timers.push((at_ms, node, timer));
    }

    /// Emits an event.
    pub fn event(&mut self, event: Event) {
        self.events.push(event);
    }
}

/// What a handler may read and write besides its own state.
pub struct Ctx<'a> {
    /// Virtual time.
    pub now_ms: u64,
    /// The one RNG.
    pub rng: &'a mut Rng,
    /// Where effects go.
    pub out: &'a mut Out,
    /// Topic metadata (what a client's metadata cache would hold).
    pub cluster: &'a Cluster,
    /// Interned keys with their hashes (a producer of typed values interns each new key).
    pub keys: &'a mut KeyTable,
    /// Typed values by record id, packed ([`super::value::OrderValue`]; 0 = none).
    pub values: &'a mut super::chunked::ChunkVec<u64>,
    /// The offsets applications store with their data (a consumer of a group with
    /// `dedupe=stored-offsets` writes and reads them; no other actor touches them).
    pub stored_offsets: &'a mut super::database::StoredOffsets,
    /// New records' producer-side facts, appended in id order (the ledger's table).
    pub records: &'a mut super::chunked::ChunkVec<RecordInfo>,
    /// The trace hash, for facts that are not events (each sent record's partition).
    pub trace: &'a mut super::event::TraceHash,
}

impl Ctx<'_> {
    /// The id the next new record gets.
    pub fn next_record_id(&self) -> u32 {
        self.records.len() as u32
    }

    /// Folds a new record's partition into the trace hash, so traces prove where every
    /// record went without an event per record.
    pub fn trace_record(&mut self, record_id: u32, partition: u32) {
        self.trace
            .push_u64((u64::from(record_id) << 32) | u64::from(partition));
    }
}

/// What a [`Ctx`] borrows, owned, for handler tests: a test feeds one message to one actor
/// and asserts what it sent, armed and emitted, with no kernel and no delivery between.
#[cfg(test)]
pub struct TestCtx {
    /// Virtual time.
    pub now_ms: u64,
    /// The one RNG.
    pub rng: Rng,
    /// What the handlers asked for since the last [`TestCtx::take`].
    pub out: Out,
    /// Topic and partition metadata.
    pub cluster: Cluster,
    /// Interned keys.
    pub keys: KeyTable,
    /// New records' facts.
    pub records: super::chunked::ChunkVec<RecordInfo>,
    /// New records' typed values.
    pub values: super::chunked::ChunkVec<u64>,
    /// The applications' stored offsets.
    pub stored_offsets: super::database::StoredOffsets,
    /// The trace hash.
    pub trace: super::event::TraceHash,
}

#[cfg(test)]
impl TestCtx {
    /// A context over this cluster at time 0.
    pub fn new(cluster: Cluster) -> Self {
        TestCtx {
            now_ms: 0,
            rng: Rng::new(1),
            out: Out::default(),
            cluster,
            keys: KeyTable::default(),
            records: Default::default(),
            values: Default::default(),
            stored_offsets: Default::default(),
            trace: Default::default(),
        }
    }

    /// The context a handler takes.
    pub fn ctx(&mut self) -> Ctx<'_> {
        Ctx {
            now_ms: self.now_ms,
            rng: &mut self.rng,
            out: &mut self.out,
            cluster: &self.cluster,
            keys: &mut self.keys,
            values: &mut self.values,
            stored_offsets: &mut self.stored_offsets,
            records: &mut self.records,
            trace: &mut self.trace,
        }
    }

    /// What the handlers asked for so far, leaving nothing behind.
    pub fn take(&mut self) -> Out {
        std::mem::take(&mut self.out)
    }

    /// The one message sent so far (and taken); panics on none or several.
    pub fn sent_one(&mut self) -> (NodeId, NodeId, Msg) {
        let mut sends = self.take().sends;
        assert_eq!(sends.len(), 1, "expected one message: {sends:?}");
        sends.remove(0)
    }
}
