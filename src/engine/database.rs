//! The part of each group's application database that the application reads back: the
//! offsets it stores with its data ("Storing Offsets Outside Kafka" in KafkaConsumer's
//! javadoc). With `dedupe=stored-offsets`, a consumer writes the next offset of each
//! partition it processed in the same step as the records' effects, and seeks to it when
//! it is assigned the partition, before it asks the group for its committed offset. The
//! store lives outside every consumer: a crash loses nothing written, and the next owner
//! of the partition reads it. (The charges themselves are observed by the ledger's effect
//! side, which no actor reads.)

use super::ids::{GroupId, Tp};
use super::vecmap::VecMap;

/// The offsets each group's application stored with its data.
#[derive(Clone, Debug, Default)]
pub struct StoredOffsets {
    /// Per group (by index): each partition's next offset to process.
    by_group: Vec<VecMap<Tp, u64>>,
}

impl StoredOffsets {
    /// Stores `next` as `group`'s offset of `tp`, in the write that applied the records
    /// before it.
    pub fn store(&mut self, group: GroupId, tp: Tp, next: u64) {
        let g = group.index();
        if self.by_group.len() <= g {
            self.by_group.resize_with(g + 1, VecMap::new);
        }
        self.by_group[g].insert(tp, next);
    }

    /// The offset `group`'s application stored for `tp`, if any.
    pub fn get(&self, group: GroupId, tp: Tp) -> Option<u64> {
        self.by_group.get(group.index())?.get(&tp).copied()
    }

    /// `TRUNCATE`: the group's table is emptied, with the offsets stored beside it.
    pub fn clear(&mut self, group: GroupId) {
        if let Some(g) = self.by_group.get_mut(group.index()) {
            g.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ids::TopicId;

    #[test]
    fn each_group_reads_back_only_what_it_stored() {
        let (g0, g1) = (GroupId(0), GroupId(1));
        let tp = Tp::new(TopicId(0), 2);
        let mut s = StoredOffsets::default();
        assert_eq!(s.get(g1, tp), None);
        s.store(g1, tp, 7);
        s.store(g1, tp, 9);
        assert_eq!((s.get(g0, tp), s.get(g1, tp)), (None, Some(9)));
        s.clear(g1);
        assert_eq!(s.get(g1, tp), None);
    }
}
