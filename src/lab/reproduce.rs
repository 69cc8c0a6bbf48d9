//! "Reproduce it on real Kafka": the setup of a scenario as the commands and client
//! configs a learner would type against a real cluster. Only real tool flags and config
//! names appear (Kafka's `bin/` tools, the Java clients' configs, librdkafka's).

use std::fmt::Write as _;

use super::scenario::Scenario;
use crate::engine::assignor::Strategy;
use crate::engine::config::{Acks, ManualCommit, PartitionerKind};

/// The broker address the text uses.
pub const BOOTSTRAP: &str = "localhost:9092";

/// The whole text: topic, console producer and consumer, describe, then the Java and
/// librdkafka configs of the producer and of the group.
pub fn reproduce(s: &Scenario) -> String {
    let mut out = String::new();
    let p = &s.producer;
    let g = &s.group;
    let c = &s.cluster;
    let rf = c.replication_factor_for(None);
    let _ = writeln!(
        out,
        "# 1. The topic ({} broker{} here{})",
        c.brokers,
        if c.brokers == 1 { "" } else { "s" },
        if rf == 1 {
            "; use --replication-factor 3 on a real cluster"
        } else {
            ""
        }
    );
    let (topic_configs, alter) = topic_config_lines(s);
    let _ = writeln!(
        out,
        "bin/kafka-topics.sh --bootstrap-server {BOOTSTRAP} --create --topic orders --partitions {} --replication-factor {rf}{topic_configs}",
        s.partitions
    );
    if let Some(alter) = alter {
        let _ = writeln!(out, "{alter}");
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "# 2. producer.properties (Java client)");
    let _ = writeln!(out, "bootstrap.servers={BOOTSTRAP}");
    for (k, v) in p.java_properties() {
        let _ = writeln!(out, "{k}={v}");
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "# Type records as key:value, e.g. order-7:{{\"total\": 42}}"
    );
    let _ = writeln!(
        out,
        "bin/kafka-console-producer.sh --bootstrap-server {BOOTSTRAP} --topic orders --producer.config producer.properties --property parse.key=true --property key.separator=:"
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "# 3. consumer.properties (Java client), one per consumer of group payments"
    );
    let _ = writeln!(out, "bootstrap.servers={BOOTSTRAP}");
    let _ = writeln!(out, "group.id=payments");
    for (k, v) in g.java_properties() {
        let _ = writeln!(out, "{k}={v}");
    }
    if g.manual_commit != ManualCommit::Off {
        let _ = writeln!(
            out,
            "# commit mode {}: the application calls commitSync() ({}); the console consumer cannot",
            g.manual_commit.name(),
            match g.manual_commit {
                ManualCommit::BeforeProcessing => "right after poll(), before processing",
                ManualCommit::AfterEachRecord => "after each record",
                _ => "after processing each poll's batch",
            }
        );
    }
    let _ = writeln!(
        out,
        "bin/kafka-console-consumer.sh --bootstrap-server {BOOTSTRAP} --topic orders --group payments --consumer.config consumer.properties --property print.key=true --property print.partition=true --property print.offset=true"
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "# 4. Offsets and lag, as the Describe panel shows them"
    );
    let _ = writeln!(
        out,
        "bin/kafka-consumer-groups.sh --bootstrap-server {BOOTSTRAP} --describe --group payments"
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "# 5. The same clients with librdkafka (confluent-kafka), as Python dicts"
    );
    let _ = writeln!(out, "producer = {{");
    let _ = writeln!(out, "    'bootstrap.servers': '{BOOTSTRAP}',");
    let _ = writeln!(
        out,
        "    'acks': '{}',",
        match p.acks {
            Acks::All => "all",
            Acks::One => "1",
            Acks::Zero => "0",
        }
    );
    let _ = writeln!(
        out,
        "    'enable.idempotence': {},",
        py_bool(p.idempotence())
    );
    let _ = writeln!(out, "    'linger.ms': {},", p.linger_ms);
    let _ = writeln!(out, "    'batch.size': {},", p.batch_size);
    let _ = writeln!(
        out,
        "    'max.in.flight.requests.per.connection': {},",
        p.max_in_flight_requests_per_connection
    );
    let _ = writeln!(out, "    'retries': {},", p.retries);
    let _ = writeln!(out, "    'retry.backoff.ms': {},", p.retry_backoff_ms);
    let _ = writeln!(out, "    'request.timeout.ms': {},", p.request_timeout_ms);
    let _ = writeln!(
        out,
        "    'delivery.timeout.ms': {},",
        p.delivery_timeout_ms()
    );
    let partitioner = match p.partitioner {
        // librdkafka's default (consistent_random, crc32) puts keys elsewhere than Java.
        PartitionerKind::JavaDefault => "murmur2_random",
        PartitionerKind::LibrdkafkaConsistentRandom => "consistent_random",
        PartitionerKind::RoundRobin => "random",
    };
    let _ = writeln!(
        out,
        "    'partitioner': '{partitioner}',  # murmur2_random puts each key where the Java client does"
    );
    let _ = writeln!(out, "}}");
    let _ = writeln!(out, "consumer = {{");
    let _ = writeln!(out, "    'bootstrap.servers': '{BOOTSTRAP}',");
    let _ = writeln!(out, "    'group.id': 'payments',");
    let strategies: Vec<&str> = g
        .partition_assignment_strategy
        .iter()
        .filter(|s| **s != Strategy::Sticky)
        .map(|s| s.kafka_name())
        .collect();
    let _ = writeln!(
        out,
        "    'partition.assignment.strategy': '{}',{}",
        if strategies.is_empty() {
            "range".to_owned()
        } else {
            strategies.join(",")
        },
        if g.partition_assignment_strategy.contains(&Strategy::Sticky) {
            "  # librdkafka has no eager sticky assignor"
        } else {
            ""
        }
    );
    let _ = writeln!(out, "    'session.timeout.ms': {},", g.session_timeout_ms);
    let _ = writeln!(
        out,
        "    'heartbeat.interval.ms': {},",
        g.heartbeat_interval_ms
    );
    let _ = writeln!(
        out,
        "    'max.poll.interval.ms': {},",
        g.max_poll_interval_ms
    );
    let _ = writeln!(
        out,
        "    'enable.auto.commit': {},",
        py_bool(g.enable_auto_commit)
    );
    let _ = writeln!(
        out,
        "    'auto.commit.interval.ms': {},",
        g.auto_commit_interval_ms
    );
    let _ = writeln!(
        out,
        "    'auto.offset.reset': '{}',",
        g.auto_offset_reset.kafka_value()
    );
    let _ = writeln!(
        out,
        "}}  # librdkafka has no max.poll.records: consume(num_messages={}) is the closest",
        g.max_poll_records
    );
    out
}

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// Topic `orders`' configs as set (min ISR, unclean election, retention, segments,
/// compaction): `--config` flags for the create, and the `kafka-configs` line that sets them on an existing topic. The lab
/// takes Kafka's minimums (such as segment.bytes' 1 MiB) when they are typed, so they apply
/// as they are.
fn topic_config_lines(s: &Scenario) -> (String, Option<String>) {
    let c = &s.cluster;
    let mut flags = String::new();
    if c.min_insync_replicas != 1 {
        let _ = write!(
            flags,
            " --config min.insync.replicas={}",
            c.min_insync_replicas
        );
    }
    if c.unclean_leader_election_enable {
        flags.push_str(" --config unclean.leader.election.enable=true");
    }
    let overrides = s.topic.overrides();
    flags.extend(overrides.iter().map(|c| format!(" --config {c}")));
    if overrides.is_empty() {
        return (flags, None);
    }
    // kafka-configs splits --add-config on commas: a list value goes in brackets.
    let list: Vec<String> = overrides
        .iter()
        .map(|c| match c.split_once('=') {
            Some((k, v)) if v.contains(',') => format!("{k}=[{v}]"),
            _ => c.clone(),
        })
        .collect();
    let alter = format!(
        "# or on an existing topic:\nbin/kafka-configs.sh --bootstrap-server {BOOTSTRAP} --alter --entity-type topics --entity-name orders --add-config {}",
        list.join(",")
    );
    (flags, Some(alter))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_setup_reads_as_real_commands_and_configs() {
        let text = reproduce(&Scenario::default());
        for want in [
            "bin/kafka-topics.sh --bootstrap-server localhost:9092 --create --topic orders --partitions 3",
            "--property parse.key=true --property key.separator=:",
            "bin/kafka-consumer-groups.sh --bootstrap-server localhost:9092 --describe --group payments",
            "acks=all",
            "enable.idempotence=true",
            "partition.assignment.strategy=org.apache.kafka.clients.consumer.RangeAssignor",
            "session.timeout.ms=10000",
            "'partitioner': 'murmur2_random'",
            "group.id=payments",
        ] {
            assert!(text.contains(want), "missing `{want}` in:\n{text}");
        }
    }

    #[test]
    fn a_changed_setting_shows_up_and_manual_commits_are_explained() {
        let mut s = Scenario::default();
        s.set("partitions", "6").unwrap();
        s.set("producer.acks", "1").unwrap();
        s.set("commit.mode", "after-batch").unwrap();
        let text = reproduce(&s);
        assert!(text.contains("--partitions 6"));
        assert!(text.contains("acks=1\n"));
        assert!(text.contains("enable.idempotence=false"));
        assert!(text.contains("commitSync()"));
        assert!(text.contains("enable.auto.commit=false"));
    }

    #[test]
    fn topic_configs_go_on_the_create_and_on_kafka_configs() {
        let mut s = Scenario::default();
        s.set("cleanup.policy", "delete,compact").unwrap();
        s.set("retention.ms", "60000").unwrap();
        let text = reproduce(&s);
        assert!(text.contains("--config cleanup.policy=delete,compact --config retention.ms=60000"));
        assert!(text.contains("--add-config cleanup.policy=[delete,compact],retention.ms=60000"));
    }
}
