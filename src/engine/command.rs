//! Commands: user actions and faults, as data. Scenarios, levels and saved sessions are
//! lists of them; the kernel checks each one and refuses a bad one with a message.

use super::cluster::TopicConfig;
use super::config::{GroupConfig, ProducerConfig};
use super::ids::{BrokerId, GroupId, MemberId, NodeId, ProducerId, TopicId};
use super::producer::{ProduceFault, Workload};

/// Where a consumer seeks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum SeekTo {
    /// `seekToBeginning`: the log start offset.
    Beginning,
    /// `seekToEnd`: the log end offset.
    End,
    /// `seek(offset)`: any offset; one out of range is found out at the next fetch.
    Offset(u64),
    /// `offsetsForTimes(t)` then `seek`: the first offset whose record was produced at or
    /// after this virtual time. Where Kafka finds none (`null`), the lab seeks to the end,
    /// as applications usually do.
    Timestamp(u64),
}

fn orders() -> Vec<String> {
    vec!["orders".into()]
}

/// A user action or a fault.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Command {
    /// Creates a topic.
    CreateTopic {
        /// Its name (Kafka's rules).
        name: String,
        /// Its partition count.
        partitions: u32,
        /// `cleanup.policy`, `retention.ms`.
        #[serde(default)]
        config: TopicConfig,
    },
    /// Deletes a topic.
    DeleteTopic {
        /// The topic.
        topic: TopicId,
    },
    /// Adds a producer with a config and an optional steady workload.
    AddProducer {
        /// Its configuration.
        config: ProducerConfig,
        /// Its load, if any.
        workload: Option<Workload>,
    },
    /// Replaces (or stops, with `None`) a producer's workload.
    SetWorkload {
        /// The producer.
        producer: ProducerId,
        /// The new load.
        workload: Option<Workload>,
    },
    /// `send()` one record through a producer (batched like any other).
    Send {
        /// The producer.
        producer: ProducerId,
        /// Key (`None` = null key).
        key: Option<String>,
        /// Value size.
        payload_bytes: u32,
        /// A poison record crashes the consumer that processes it.
        poison: bool,
        /// A tombstone: the key with a null value (deletes the key from a compacted topic).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        tombstone: bool,
        /// The topic.
        #[serde(default)]
        topic: TopicId,
    },
    /// Loses the producer's next request (or response) on its connection to the broker.
    InjectProduceFault {
        /// The producer.
        producer: ProducerId,
        /// The fault.
        fault: ProduceFault,
    },
    /// Adds a consumer group.
    AddGroup {
        /// `group.id`.
        group_id: String,
        /// Its configuration.
        config: GroupConfig,
        /// The topics it subscribes to, by name.
        #[serde(default = "orders")]
        topics: Vec<String>,
    },
    /// Adds (and starts) a consumer in a group.
    AddConsumer {
        /// The group.
        group: GroupId,
        /// `group.instance.id` for a static member.
        group_instance_id: Option<String>,
    },
    /// Kills a consumer: no commit, no LeaveGroup.
    CrashConsumer {
        /// The group.
        group: GroupId,
        /// The consumer.
        consumer: MemberId,
    },
    /// Closes a consumer gracefully after its current batch: commit, then LeaveGroup.
    CloseConsumer {
        /// The group.
        group: GroupId,
        /// The consumer.
        consumer: MemberId,
    },
    /// Starts a crashed, closed or failed consumer again.
    RestartConsumer {
        /// The group.
        group: GroupId,
        /// The consumer.
        consumer: MemberId,
    },
    /// Sets one consumer's processing time per record (`None` = the group's).
    SlowConsumer {
        /// The group.
        group: GroupId,
        /// The consumer.
        consumer: MemberId,
        /// Milliseconds per record.
        processing_ms: Option<u64>,
    },
    /// Moves a consumer's position on one of its partitions.
    Seek {
        /// The group.
        group: GroupId,
        /// The consumer.
        consumer: MemberId,
        /// The partition.
        partition: u32,
        /// Where to.
        to: SeekTo,
        /// The topic.
        #[serde(default)]
        topic: TopicId,
    },
    /// Appends one record directly (the partition calculator's path, no batching).
    Produce {
        /// Key (`None` = null key).
        key: Option<String>,
        /// The value typed.
        value: String,
        /// The topic.
        #[serde(default)]
        topic: TopicId,
    },
    /// Appends `count` records directly with random `order-N` keys from the seeded stream.
    ProduceRandomOrders {
        /// How many (1 to 1000).
        count: u32,
        /// The topic.
        #[serde(default)]
        topic: TopicId,
    },
    /// Grows a topic to `total` partitions.
    AddPartitions {
        /// The new partition count.
        total: u32,
        /// The topic.
        #[serde(default)]
        topic: TopicId,
    },
    /// Cuts the network between two sets of nodes, both ways.
    NetPartition {
        /// One side.
        a: Vec<NodeId>,
        /// The other side.
        b: Vec<NodeId>,
    },
    /// Holds messages between two sets of nodes until released.
    NetHold {
        /// One side.
        a: Vec<NodeId>,
        /// The other side.
        b: Vec<NodeId>,
    },
    /// Releases held messages between two sets of nodes.
    NetRelease {
        /// One side.
        a: Vec<NodeId>,
        /// The other side.
        b: Vec<NodeId>,
    },
    /// Repairs every link and releases every held message.
    NetHeal,
    /// Kills a broker's process (its log stays on disk).
    KillBroker {
        /// The broker.
        broker: BrokerId,
    },
    /// Starts a killed broker again.
    RestartBroker {
        /// The broker.
        broker: BrokerId,
    },
    /// Lab: a buggy deploy halves every balance in a group's application table (the
    /// projection no longer matches the log).
    CorruptTable {
        /// The group whose application it is.
        group: GroupId,
    },
    /// Lab: the producing service's process dies and is started again at once.
    CrashProducer {
        /// The producer.
        producer: ProducerId,
    },
    /// `TRUNCATE` a group's application table and its stored event ids (to rebuild them by
    /// replaying the log).
    TruncateTable {
        /// The group whose application it is.
        group: GroupId,
    },
}

impl Command {
    /// A short name for lists and refusals.
    pub fn name(&self) -> &'static str {
        match self {
            Command::CreateTopic { .. } => "create a topic",
            Command::DeleteTopic { .. } => "delete a topic",
            Command::AddProducer { .. } => "add a producer",
            Command::SetWorkload { .. } => "set a workload",
            Command::Send { .. } => "send a record",
            Command::InjectProduceFault { .. } => "lose a request",
            Command::AddGroup { .. } => "add a group",
            Command::AddConsumer { .. } => "add a consumer",
            Command::CrashConsumer { .. } => "crash a consumer",
            Command::CloseConsumer { .. } => "close a consumer",
            Command::RestartConsumer { .. } => "restart a consumer",
            Command::SlowConsumer { .. } => "slow a consumer",
            Command::Seek { .. } => "seek",
            Command::Produce { .. } => "produce by hand",
            Command::ProduceRandomOrders { .. } => "produce random orders",
            Command::AddPartitions { .. } => "add partitions",
            Command::NetPartition { .. } => "partition the network",
            Command::NetHold { .. } => "hold the network",
            Command::NetRelease { .. } => "release the network",
            Command::NetHeal => "heal the network",
            Command::KillBroker { .. } => "kill a broker",
            Command::RestartBroker { .. } => "restart a broker",
            Command::CorruptTable { .. } => "corrupt the table",
            Command::CrashProducer { .. } => "crash a producer's service",
            Command::TruncateTable { .. } => "truncate the table",
        }
    }
}
