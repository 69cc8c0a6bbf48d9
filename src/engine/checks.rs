//! What a command may do: every check in one place, before anything changes. A refused
//! command leaves the world as it was and says why.

use super::cluster::{check_partition_count, validate_topic_name, MAX_TOPICS};
use super::command::Command;
use super::config::{range_of, GROUP_RANGES};
use super::error::EngineError;
use super::ids::{ConsumerRef, GroupId, MemberId, NodeId, ProducerId, TopicId, Tp};
use super::producer::{KeySpace, Workload};
use super::world::{
    longest_key, World, MAX_CONSUMERS_PER_GROUP, MAX_GROUPS, MAX_ID_CHARS, MAX_KEY_BYTES,
    MAX_PRODUCERS, MAX_RECORDS, MAX_VALUE_BYTES,
};

/// The largest record value the lab accepts (`max.request.size`).
pub const MAX_PAYLOAD_BYTES: u32 = 1_048_576;
/// The fastest a workload may produce.
pub const MAX_RATE_PER_SEC: u32 = 1_000_000;
/// The most keys a workload may draw from.
pub const MAX_KEYS_PER_WORKLOAD: u32 = 100_000;
/// The most topics one group may subscribe to.
pub const MAX_SUBSCRIBED_TOPICS: usize = 16;

fn refuse<T>(msg: impl Into<String>) -> Result<T, EngineError> {
    Err(EngineError::InvalidCommand(msg.into()))
}

/// Checks a command against the world.
///
/// # Errors
/// What makes it impossible, in words.
pub fn check(world: &World, command: &Command, produced: u64) -> Result<(), EngineError> {
    let record_cap = |n: u64| {
        if produced.saturating_add(n) > MAX_RECORDS {
            Err(EngineError::LimitExceeded {
                what: "records",
                limit: MAX_RECORDS,
            })
        } else {
            Ok(())
        }
    };
    match command {
        Command::CreateTopic {
            name, partitions, ..
        } => check_create_topic(world, name, *partitions),
        Command::DeleteTopic { topic } => world.cluster.check_topic(*topic),
        Command::AddProducer { config, workload } => {
            if world.producers.len() >= MAX_PRODUCERS {
                return Err(EngineError::LimitExceeded {
                    what: "producers",
                    limit: MAX_PRODUCERS as u64,
                });
            }
            config.validate()?;
            workload
                .as_ref()
                .map_or(Ok(()), |w| check_workload(world, w))
        }
        Command::SetWorkload { producer, workload } => {
            producer_exists(world, *producer)?;
            workload
                .as_ref()
                .map_or(Ok(()), |w| check_workload(world, w))
        }
        Command::Send {
            producer,
            key,
            payload_bytes,
            topic,
            ..
        } => {
            producer_exists(world, *producer)?;
            check_key(key.as_deref())?;
            if *payload_bytes > MAX_PAYLOAD_BYTES {
                return Err(EngineError::InvalidConfig {
                    name: "max.request.size".into(),
                    reason: format!("a record may be at most {MAX_PAYLOAD_BYTES} bytes"),
                });
            }
            world.cluster.check_topic(*topic)?;
            record_cap(1)
        }
        Command::InjectProduceFault { producer, .. } | Command::CrashProducer { producer } => {
            producer_exists(world, *producer)
        }
        Command::CorruptTable { group } | Command::TruncateTable { group } => {
            group_known(world, *group)
        }
        Command::AddGroup {
            group_id,
            config,
            topics,
        } => check_group(world, group_id, config, topics),
        Command::AddConsumer {
            group,
            group_instance_id,
        } => check_add_consumer(world, *group, group_instance_id.as_deref()),
        Command::CrashConsumer { group, consumer }
        | Command::CloseConsumer { group, consumer }
        | Command::RestartConsumer { group, consumer } => {
            consumer_exists(world, *group, *consumer).map(|_| ())
        }
        Command::SlowConsumer {
            group,
            consumer,
            processing_ms,
        } => {
            consumer_exists(world, *group, *consumer)?;
            let (lo, hi) = range_of(GROUP_RANGES, "processing.ms").expect("stated");
            match processing_ms {
                Some(ms) if *ms < lo || *ms > hi => Err(EngineError::InvalidConfig {
                    name: "processing.ms".into(),
                    reason: format!("must be between {lo} and {hi}, not {ms}"),
                }),
                _ => Ok(()),
            }
        }
        Command::Seek {
            group,
            consumer,
            partition,
            topic,
            ..
        } => {
            let c = consumer_exists(world, *group, *consumer)?;
            let tp = Tp::new(*topic, *partition);
            let owns = world
                .consumer(c)
                .is_some_and(|c| c.status.alive() && c.assigned.contains(&tp));
            if !owns {
                return refuse(format!(
                    "{} does not own p{partition}: a consumer can only seek on its own partitions (Kafka: IllegalStateException)",
                    super::ids::consumer_client_id(*consumer)
                ));
            }
            Ok(())
        }
        Command::Produce { key, value, topic } => {
            check_produce(world, key.as_deref(), value, *topic)
        }
        Command::ProduceRandomOrders { count, topic } => {
            if !(1..=1000).contains(count) {
                return refuse("produce 1 to 1000 random orders at a time");
            }
            world.cluster.check_topic(*topic)?;
            record_cap(u64::from(*count))
        }
        Command::AddPartitions { total, topic } => {
            world.cluster.check_topic(*topic)?;
            check_partition_count(*total)?;
            let now = world.cluster.partition_count(*topic);
            if *total <= now {
                return refuse(format!(
                    "the topic has {now} partitions; Kafka can add partitions but never remove them"
                ));
            }
            Ok(())
        }
        Command::NetPartition { a, b }
        | Command::NetHold { a, b }
        | Command::NetRelease { a, b } => {
            if a.is_empty() || b.is_empty() {
                return refuse("name nodes on both sides of the link");
            }
            a.iter().chain(b).try_for_each(|n| node_exists(world, *n))
        }
        Command::NetHeal => Ok(()),
        Command::KillBroker { broker } | Command::RestartBroker { broker } => {
            let Some(b) = world.brokers.get(broker.index()) else {
                return refuse(format!(
                    "there is no broker {} (the cluster has {})",
                    broker.0,
                    world.brokers.len()
                ));
            };
            match (command, b.alive) {
                (Command::KillBroker { .. }, false) => {
                    refuse(format!("broker {} is already down", broker.0))
                }
                (Command::RestartBroker { .. }, true) => {
                    refuse(format!("broker {} is already running", broker.0))
                }
                _ => Ok(()),
            }
        }
    }
}

fn producer_exists(world: &World, p: ProducerId) -> Result<(), EngineError> {
    if p.index() < world.producers.len() {
        Ok(())
    } else {
        refuse(format!("there is no producer {}", u32::from(p.0) + 1))
    }
}

fn consumer_exists(world: &World, g: GroupId, c: MemberId) -> Result<ConsumerRef, EngineError> {
    let Some(group) = world.groups.get(g.index()) else {
        return refuse(format!("there is no group {}", u32::from(g.0) + 1));
    };
    if c.index() >= group.consumers.len() {
        return refuse(format!(
            "group `{}` has no consumer {}",
            group.name,
            super::ids::consumer_client_id(c)
        ));
    }
    Ok(ConsumerRef {
        group: g,
        member: c,
    })
}

fn node_exists(world: &World, n: NodeId) -> Result<(), EngineError> {
    match n {
        NodeId::Broker(b) if b.index() < world.brokers.len() => Ok(()),
        NodeId::Broker(b) => refuse(format!("there is no broker {}", b.0)),
        NodeId::Producer(p) => producer_exists(world, p),
        NodeId::Consumer(c) => consumer_exists(world, c.group, c.member).map(|_| ()),
        NodeId::Controller => Ok(()),
    }
}

/// A record typed by hand: its key and value sizes, its topic, and a key for a compacted
/// topic (what the broker's LogValidator answers with INVALID_RECORD).
fn check_produce(
    world: &World,
    key: Option<&str>,
    value: &str,
    topic: TopicId,
) -> Result<(), EngineError> {
    check_key(key)?;
    if value.len() > MAX_VALUE_BYTES {
        return refuse(format!(
            "a value may be at most {MAX_VALUE_BYTES} bytes; this one has {}",
            value.len()
        ));
    }
    world.cluster.check_topic(topic)?;
    let compacted = world
        .cluster
        .topic(topic)
        .is_some_and(|t| t.config.compacted());
    if compacted && key.is_none() {
        // What the broker's LogValidator answers (INVALID_RECORD).
        return refuse("a compacted topic cannot accept a record without a key");
    }
    Ok(())
}

/// Keys longer than the lab's limit are refused, however they arrive.
pub fn check_key(key: Option<&str>) -> Result<(), EngineError> {
    match key {
        Some(k) if k.len() > MAX_KEY_BYTES => refuse(format!(
            "a key may be at most {MAX_KEY_BYTES} bytes; this one has {}",
            k.len()
        )),
        _ => Ok(()),
    }
}

fn check_workload(world: &World, w: &Workload) -> Result<(), EngineError> {
    if w.rate_per_sec == 0 || w.rate_per_sec > MAX_RATE_PER_SEC {
        return refuse(format!(
            "a workload's rate must be 1 to {MAX_RATE_PER_SEC} records/s"
        ));
    }
    if w.payload_bytes > MAX_PAYLOAD_BYTES {
        return refuse(format!(
            "a payload may be at most {MAX_PAYLOAD_BYTES} bytes"
        ));
    }
    world.cluster.check_topic(w.topic)?;
    match &w.key_space {
        KeySpace::Uniform { count, .. }
        | KeySpace::HotKey { count, .. }
        | KeySpace::Orders {
            customers: count, ..
        } if *count > MAX_KEYS_PER_WORKLOAD => {
            return Err(EngineError::LimitExceeded {
                what: "keys per workload",
                limit: u64::from(MAX_KEYS_PER_WORKLOAD),
            })
        }
        KeySpace::Uniform { count: 0, .. } => return refuse("a key space needs at least one key"),
        KeySpace::Orders { customers: 0, .. } => {
            return refuse("orders need at least one customer")
        }
        KeySpace::HotKey { hot_percent, .. } | KeySpace::Orders { hot_percent, .. }
            if *hot_percent > 100 =>
        {
            return refuse("the hot key's share is a percentage, 0 to 100")
        }
        _ => {}
    }
    // The same key limit for generated keys as for typed ones.
    let longest = longest_key(&w.key_space);
    if longest > MAX_KEY_BYTES {
        return refuse(format!(
            "this key space makes keys of {longest} bytes; a key may be at most {MAX_KEY_BYTES}"
        ));
    }
    Ok(())
}

fn check_group(
    world: &World,
    group_id: &str,
    config: &super::config::GroupConfig,
    topics: &[String],
) -> Result<(), EngineError> {
    if world.groups.len() >= MAX_GROUPS {
        return Err(EngineError::LimitExceeded {
            what: "consumer groups",
            limit: MAX_GROUPS as u64,
        });
    }
    if group_id.trim().is_empty() || group_id.chars().count() > MAX_ID_CHARS {
        return refuse(format!(
            "a group needs a group.id of 1 to {MAX_ID_CHARS} characters"
        ));
    }
    if world.groups.iter().any(|g| g.name == group_id) {
        return refuse(format!("group `{group_id}` exists already"));
    }
    if topics.is_empty() || topics.len() > MAX_SUBSCRIBED_TOPICS {
        return refuse(format!(
            "a group subscribes to 1 to {MAX_SUBSCRIBED_TOPICS} topics"
        ));
    }
    for t in topics {
        validate_topic_name(t)?;
    }
    config.validate()
}

fn check_create_topic(world: &World, name: &str, partitions: u32) -> Result<(), EngineError> {
    validate_topic_name(name)?;
    check_partition_count(partitions)?;
    if world.cluster.topic_id(name).is_some() {
        return refuse(format!(
            "topic `{name}` already exists (Kafka: TopicExistsException)"
        ));
    }
    if world.cluster.all_topics().len() >= MAX_TOPICS {
        return Err(EngineError::LimitExceeded {
            what: "topics",
            limit: MAX_TOPICS as u64,
        });
    }
    Ok(())
}

fn group_known(world: &World, group: GroupId) -> Result<(), EngineError> {
    match world.groups.get(group.index()) {
        Some(_) => Ok(()),
        None => refuse(format!("there is no group {}", u32::from(group.0) + 1)),
    }
}

fn check_add_consumer(
    world: &World,
    group: GroupId,
    instance: Option<&str>,
) -> Result<(), EngineError> {
    let Some(g) = world.groups.get(group.index()) else {
        return refuse(format!("there is no group {}", u32::from(group.0) + 1));
    };
    if g.consumers.len() >= MAX_CONSUMERS_PER_GROUP {
        return Err(EngineError::LimitExceeded {
            what: "consumers per group",
            limit: MAX_CONSUMERS_PER_GROUP as u64,
        });
    }
    if let Some(id) = instance {
        if id.trim().is_empty() || id.chars().count() > MAX_ID_CHARS {
            return refuse(format!(
                "a group.instance.id has 1 to {MAX_ID_CHARS} characters"
            ));
        }
        if g.consumers
            .iter()
            .any(|c| c.group_instance_id.as_deref() == Some(id))
        {
            return refuse(format!(
                "group.instance.id `{id}` is taken (Kafka would fence the older member)"
            ));
        }
    }
    Ok(())
}

/// The partitions of a topic that exists, for the UI's pickers.
pub fn partitions_of(world: &World, topic: TopicId) -> u32 {
    world.cluster.partition_count(topic)
}
