//! Handler tests: one request in, the broker's answer out (no kernel, no network).

use super::*;
use crate::engine::actor::TestCtx;
use crate::engine::cluster::TopicConfig;
use crate::engine::ids::{GroupId, MemberId, PartitionId};
use crate::engine::replication::ReplicationConfig;

const P1: NodeId = NodeId::Producer(ProducerId(0));
const C1: NodeId = NodeId::Consumer(ConsumerRef {
    group: GroupId(0),
    member: MemberId(0),
});

/// Broker 0 of a one-broker cluster, registered, leading topic `t`'s one partition.
fn leader() -> (Broker, TestCtx, Tp) {
    leader_of(TopicConfig::default())
}

/// The same, for a topic with these configs.
fn leader_of(config: TopicConfig) -> (Broker, TestCtx, Tp) {
    let mut cluster = Cluster::with_replication(ReplicationConfig::default(), 1);
    let topic = cluster.create_topic("t", 1, config).expect("a topic");
    let tp = Tp::new(topic, 0);
    let state = cluster.state(tp).expect("placed").clone();
    let mut t = TestCtx::new(cluster);
    let mut b = Broker::new(BrokerId(0));
    b.ensure_partitions(topic, 1);
    let registered = Msg::BrokerRegistrationResponse {
        error: KafkaError::None,
        broker_epoch: 1,
    };
    b.on_message(&mut t.ctx(), NodeId::Controller, registered);
    assert!(b.serving(), "registered");
    b.apply_created(&mut t.ctx(), 1, tp, &state);
    assert!(b.leads(tp));
    t.take();
    (b, t, tp)
}

fn produce(tp: Tp, records: u32, acks_zero: bool) -> Msg {
    let records = (0..records)
        .map(|i| LogRecord {
            timestamp_ms: 0,
            record_id: i,
            key: None,
            size_bytes: 10,
            flags: 0,
            producer: 0,
        })
        .collect();
    Msg::Produce {
        request_id: 1,
        acks_zero,
        acks_all: false,
        timeout_ms: 30_000,
        pid: -1,
        batches: vec![ProduceBatch {
            batch_id: 1,
            tp,
            base_sequence: None,
            epoch: 0,
            records: Rc::new(records),
        }],
    }
}

#[test]
fn a_leader_appends_and_answers_with_the_base_offset() {
    let (mut b, mut t, tp) = leader();
    b.on_message(&mut t.ctx(), P1, produce(tp, 3, false));
    let (_, to, reply) = t.sent_one();
    assert_eq!(to, P1);
    let Msg::ProduceResponse { results, .. } = reply else {
        panic!("a Produce response: {reply:?}");
    };
    assert_eq!(results[0].error, KafkaError::None);
    assert_eq!(results[0].base_offset, Some(0));
    let log = b.log(tp).unwrap();
    assert_eq!(log.log_end_offset(), 3);
    // One replica: the high watermark follows the log end at once.
    assert_eq!(log.high_watermark(), 3);
}

#[test]
fn acks_zero_gets_no_answer() {
    let (mut b, mut t, tp) = leader();
    b.on_message(&mut t.ctx(), P1, produce(tp, 1, true));
    assert!(t.take().sends.is_empty());
    assert_eq!(
        b.log(tp).unwrap().log_end_offset(),
        1,
        "appended all the same"
    );
}

#[test]
fn a_produce_to_a_partition_it_does_not_lead_is_refused() {
    let (mut b, mut t, tp) = leader();
    let elsewhere = Tp::new(tp.topic, 5);
    b.on_message(&mut t.ctx(), P1, produce(elsewhere, 1, false));
    let (_, _, reply) = t.sent_one();
    let Msg::ProduceResponse { results, .. } = reply else {
        panic!("a Produce response");
    };
    assert_ne!(results[0].error, KafkaError::None);
    assert_eq!(results[0].base_offset, None);
}

#[test]
fn a_fetch_with_data_is_answered_at_once_and_one_without_is_parked() {
    let (mut b, mut t, tp) = leader();
    let fetch = |offset| Msg::Fetch {
        fetch_id: 1,
        partitions: vec![(tp, offset)],
    };
    b.on_message(&mut t.ctx(), C1, fetch(0));
    let out = t.take();
    assert!(out.sends.is_empty(), "nothing to read: parked");
    // DelayedFetch: fetch.max.wait.ms.
    assert_eq!(out.timers[0].0, FETCH_MAX_WAIT_MS);
    b.on_message(&mut t.ctx(), P1, produce(tp, 2, true));
    let (_, to, reply) = t.sent_one();
    assert_eq!(to, C1, "the parked fetch completes when data arrives");
    let Msg::FetchResponse { partitions, .. } = reply else {
        panic!("a Fetch response");
    };
    assert_eq!(partitions[0].error, KafkaError::None);
    assert_eq!(partitions[0].records.len(), 2);
    assert_eq!(partitions[0].high_watermark, 2);
}

#[test]
fn a_fetch_for_an_unknown_partition_is_answered_with_its_error() {
    let (mut b, mut t, tp) = leader();
    let unknown = Tp {
        topic: tp.topic,
        partition: PartitionId(7),
    };
    let fetch = Msg::Fetch {
        fetch_id: 2,
        partitions: vec![(unknown, 0)],
    };
    b.on_message(&mut t.ctx(), C1, fetch);
    let (_, _, reply) = t.sent_one();
    let Msg::FetchResponse { partitions, .. } = reply else {
        panic!("a Fetch response");
    };
    assert_eq!(partitions[0].error, KafkaError::UnknownTopicOrPartition);
}

#[test]
fn the_retention_check_deletes_old_segments_and_a_follower_below_the_start_is_told() {
    let mut config = TopicConfig::default();
    config.set("segment.ms", "1").unwrap();
    config.set("retention.ms", "1000").unwrap();
    let (mut b, mut t, tp) = leader_of(config);
    // Three appends a second apart in record time: three segments.
    for ts in [0, 1_000, 2_000] {
        let mut msg = produce(tp, 2, true);
        if let Msg::Produce { batches, .. } = &mut msg {
            let records: Vec<LogRecord> = batches[0]
                .records
                .iter()
                .map(|r| LogRecord {
                    timestamp_ms: ts,
                    ..*r
                })
                .collect();
            batches[0].records = Rc::new(records);
        }
        b.on_message(&mut t.ctx(), P1, msg);
    }
    assert_eq!(b.log(tp).unwrap().segments().len(), 3);
    t.take();
    t.now_ms = 2_500;
    let check = BrokerTimer::RetentionCheck {
        incarnation: b.incarnation,
    };
    b.on_timer(&mut t.ctx(), check);
    let out = t.take();
    // The first segment's newest record (0) is 2.5 s old, past 1 s; the second's (1,000)
    // 1.5 s; the active one (2,000) is young and shields nothing older.
    assert!(
        matches!(
            out.events[..],
            [Event::Broker {
                event: BrokerEvent::SegmentsDeleted {
                    limit: 1_000,
                    ref segments,
                    log_start_offset: 4,
                    ..
                },
                ..
            }] if segments.iter().map(|s| (s.base_offset, s.end_offset)).eq([(0, 2), (2, 4)])
        ),
        "{:?}",
        out.events
    );
    assert_eq!(
        out.timers[0].0,
        2_500 + LOG_RETENTION_CHECK_INTERVAL_MS,
        "again in 5 min"
    );
    // A follower fetching below the log start is told where it now is.
    let fetch = Msg::ReplicaFetch {
        fetch_id: 1,
        partitions: vec![ReplicaFetchPartition {
            tp,
            fetch_offset: 0,
            last_fetched_epoch: None,
            leader_epoch: 0,
        }],
    };
    b.on_message(&mut t.ctx(), NodeId::Broker(BrokerId(1)), fetch);
    let (_, _, reply) = t.sent_one();
    let Msg::ReplicaFetchResponse { partitions, .. } = reply else {
        panic!("a follower's fetch response");
    };
    assert_eq!(partitions[0].error, KafkaError::OffsetOutOfRange);
    assert_eq!(partitions[0].log_start_offset, 4);
}
