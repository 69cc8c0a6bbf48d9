//! Typed ids: an index means one thing, and the compiler keeps them apart.
//!
//! Each is a small `Copy` newtype that serializes as its bare number, so saved sessions
//! and shared links stay compact and readable.

use std::fmt;

macro_rules! index_id {
    ($(#[$doc:meta])* $name:ident($inner:ty), $prefix:literal) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default,
            serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl $name {
            /// The index as a `usize`, for vectors.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }
    };
}

index_id!(
    /// A topic, by creation order (ids are never reused, even after a delete).
    TopicId(u16),
    "topic-"
);
index_id!(
    /// A partition number within its topic (`p0`, `p1`, ...).
    PartitionId(u32),
    "p"
);
index_id!(
    /// A consumer group, by creation order. Kafka's `group.id` is the group's name.
    GroupId(u16),
    "group-"
);
index_id!(
    /// A consumer client within its group, by creation order (`c1` is `MemberId(0)`).
    /// Kafka's member id string (`c1-3fa2…`) is a separate thing the coordinator hands out.
    MemberId(u16),
    "member-"
);
index_id!(
    /// A producer client, by creation order. Kafka's idempotent producer id is `pid`.
    ProducerId(u16),
    "producer-"
);
index_id!(
    /// A broker (`broker.id`).
    BrokerId(u16),
    "broker-"
);

/// A topic-partition (`TopicPartition`).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Tp {
    /// The topic.
    pub topic: TopicId,
    /// The partition.
    pub partition: PartitionId,
}

impl Tp {
    /// `topic`-`partition`.
    pub fn new(topic: TopicId, partition: u32) -> Self {
        Tp {
            topic,
            partition: PartitionId(partition),
        }
    }

    /// The partition number.
    pub fn p(self) -> u32 {
        self.partition.0
    }
}

/// A consumer client anywhere in the lab: its group and its place in it.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct ConsumerRef {
    /// The group.
    pub group: GroupId,
    /// The consumer within it.
    pub member: MemberId,
}

/// A node on the simulated network: a broker or a client.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum NodeId {
    /// A broker.
    Broker(BrokerId),
    /// A producer client.
    Producer(ProducerId),
    /// A consumer client.
    Consumer(ConsumerRef),
    /// The KRaft controller (the lab's quorum of one, which never fails).
    Controller,
}

impl NodeId {
    /// The consumer behind this node, if it is one.
    pub fn consumer(self) -> Option<ConsumerRef> {
        match self {
            NodeId::Consumer(c) => Some(c),
            _ => None,
        }
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeId::Broker(b) => write!(f, "broker {}", b.0),
            NodeId::Producer(p) => write!(f, "producer-{}", p.0 + 1),
            NodeId::Consumer(c) => write!(f, "c{} of group {}", c.member.0 + 1, c.group.0 + 1),
            NodeId::Controller => write!(f, "the controller"),
        }
    }
}

/// No partition appears twice: one owner per partition in an assignment (checked on both
/// sides of a rebalance, the leader's assignor and the coordinator's stored result).
pub fn each_once(tps: impl Iterator<Item = Tp>) -> bool {
    let mut seen = std::collections::BTreeSet::new();
    tps.into_iter().all(|tp| seen.insert(tp))
}

/// The client id the lab gives a consumer: `c1`, `c2`, ...
pub fn consumer_client_id(member: MemberId) -> String {
    format!("c{}", member.0 + 1)
}

/// The client id the lab gives a producer: `producer-1`, ...
pub fn producer_client_id(producer: ProducerId) -> String {
    format!("producer-{}", producer.0 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_once_catches_a_partition_owned_twice() {
        let (a, b) = (Tp::new(TopicId(0), 0), Tp::new(TopicId(0), 1));
        assert!(each_once([a, b].into_iter()));
        assert!(each_once(std::iter::empty()));
        assert!(!each_once([a, b, a].into_iter()));
    }
}
