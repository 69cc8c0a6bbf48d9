//! Handler tests for the consumer's group client: one response or timer in, what the
//! client sends out (AbstractCoordinator's and ConsumerCoordinator's steps, one by one).

use super::*;
use crate::engine::actor::TestCtx;
use crate::engine::cluster::{Cluster, TopicConfig};
use crate::engine::ids::{GroupId, MemberId};
use crate::engine::msg::{JoinGroupRequest, SyncGroupRequest};
use crate::engine::replication::ReplicationConfig;

const C1: ConsumerRef = ConsumerRef {
    group: GroupId(0),
    member: MemberId(0),
};
const B0: BrokerId = BrokerId(0);

/// A started `c1` subscribed to `t` (2 partitions) on a one-broker cluster.
fn consumer() -> (Consumer, TestCtx) {
    let mut cluster = Cluster::with_replication(ReplicationConfig::default(), 1);
    cluster
        .create_topic("t", 2, TopicConfig::default())
        .expect("a topic");
    cluster.register_group(GroupId(0), "g");
    let mut t = TestCtx::new(cluster);
    let mut c = Consumer::new(C1, None, vec!["t".to_owned()], GroupConfig::default());
    c.start(&mut t.ctx());
    (c, t)
}

/// Fires every timer armed so far that is due by `now_ms`, in order.
fn fire_due(c: &mut Consumer, t: &mut TestCtx) {
    let timers = std::mem::take(&mut t.out.timers);
    for (at, _, timer) in timers {
        if at <= t.now_ms {
            if let Timer::Consumer(timer) = timer {
                c.on_timer(&mut t.ctx(), timer);
            }
        } else {
            t.out.timers.push((at, NodeId::Consumer(C1), timer));
        }
    }
}

fn sent(t: &mut TestCtx) -> Vec<Msg> {
    std::mem::take(&mut t.out.sends)
        .into_iter()
        .map(|(_, _, m)| m)
        .collect()
}

/// Drives `c1` to the point where it sent its second JoinGroup, with the member id the
/// coordinator gave it.
fn joining() -> (Consumer, TestCtx) {
    let (mut c, mut t) = consumer();
    fire_due(&mut c, &mut t);
    assert_eq!(
        sent(&mut t),
        vec![Msg::FindCoordinator { group: GroupId(0) }]
    );
    let found = Msg::FindCoordinatorResponse {
        group: GroupId(0),
        coordinator: Some(B0),
    };
    c.on_message(&mut t.ctx(), found);
    fire_due(&mut c, &mut t);
    let first = sent(&mut t);
    assert!(
        matches!(&first[..], [Msg::JoinGroup(JoinGroupRequest { member_id, .. })] if member_id.is_empty()),
        "{first:?}"
    );
    let required = JoinGroupResponse {
        group: GroupId(0),
        error: KafkaError::MemberIdRequired,
        generation: -1,
        protocol: None,
        leader: String::new(),
        member_id: "c1-m".to_owned(),
        members: Vec::new(),
        skip_assignment: false,
    };
    c.on_message(&mut t.ctx(), Msg::JoinGroupResponse(required));
    fire_due(&mut c, &mut t);
    let again = sent(&mut t);
    assert!(
        matches!(&again[..], [Msg::JoinGroup(JoinGroupRequest { member_id, .. })] if member_id == "c1-m"),
        "{again:?}"
    );
    (c, t)
}

/// Generation 1 formed with another member as the leader: `c1-m` only syncs.
fn joined_as_follower() -> Msg {
    Msg::JoinGroupResponse(JoinGroupResponse {
        group: GroupId(0),
        error: KafkaError::None,
        generation: 1,
        protocol: Some(Strategy::Range),
        leader: "someone-else".to_owned(),
        member_id: "c1-m".to_owned(),
        members: Vec::new(),
        skip_assignment: false,
    })
}

#[test]
fn a_started_consumer_looks_its_coordinator_up_first() {
    let (mut c, mut t) = consumer();
    assert!(sent(&mut t).is_empty(), "nothing before the first poll");
    fire_due(&mut c, &mut t);
    assert_eq!(
        sent(&mut t),
        vec![Msg::FindCoordinator { group: GroupId(0) }]
    );
    assert_eq!(c.member_state, MemberState::Unjoined);
}

#[test]
fn member_id_required_is_answered_by_joining_again_with_that_id() {
    let (c, _) = joining();
    assert_eq!(c.member_state, MemberState::PreparingRebalance);
}

#[test]
fn the_leader_assigns_and_sends_sync_group_with_everyones_partitions() {
    let (mut c, mut t) = joining();
    let metadata = MemberMetadata {
        topics: vec!["t".to_owned()],
        owned: Vec::new(),
        generation: -1,
        sticky_user_data: None,
    };
    let joined = JoinGroupResponse {
        group: GroupId(0),
        error: KafkaError::None,
        generation: 1,
        protocol: Some(Strategy::Range),
        leader: "c1-m".to_owned(),
        member_id: "c1-m".to_owned(),
        members: vec![JoinedMember {
            member_id: "c1-m".to_owned(),
            group_instance_id: None,
            metadata,
        }],
        skip_assignment: false,
    };
    c.on_message(&mut t.ctx(), Msg::JoinGroupResponse(joined));
    let out = sent(&mut t);
    let [Msg::SyncGroup(SyncGroupRequest {
        generation,
        assignments,
        ..
    })] = &out[..]
    else {
        panic!("one SyncGroup: {out:?}");
    };
    assert_eq!(*generation, 1);
    assert_eq!(assignments.len(), 1);
    assert_eq!(
        assignments[0].1.len(),
        2,
        "range gives the one member both partitions"
    );
    assert!(c.is_leader);
}

#[test]
fn an_assignment_is_followed_by_an_offset_fetch() {
    let (mut c, mut t) = joining();
    c.on_message(&mut t.ctx(), joined_as_follower());
    assert!(
        matches!(&sent(&mut t)[..], [Msg::SyncGroup(_)]),
        "a follower syncs too"
    );
    let tp = t.cluster.partitions_of(&["t".to_owned()])[0];
    let synced = SyncGroupResponse {
        group: GroupId(0),
        error: KafkaError::None,
        assignment: vec![tp],
    };
    c.on_message(&mut t.ctx(), Msg::SyncGroupResponse(synced));
    assert_eq!(c.member_state, MemberState::Stable);
    // onJoinComplete runs on the application thread, in its next poll.
    assert!(c.assigned.is_empty());
    fire_due(&mut c, &mut t);
    assert_eq!(c.assigned, vec![tp]);
    let out = sent(&mut t);
    assert!(
        out.iter()
            .any(|m| matches!(m, Msg::OffsetFetch(r) if r.partitions == vec![tp])),
        "the committed offsets are read before fetching: {out:?}"
    );
    // No fetch before a position is known.
    assert!(!out.iter().any(|m| matches!(m, Msg::Fetch { .. })));
}

/// `dedupe=stored-offsets`: a partition the application stored an offset for is sought
/// there on assignment, and only the others are asked of the group.
#[test]
fn an_assignment_seeks_to_the_offsets_stored_with_the_data() {
    let (mut c, mut t) = joining();
    c.config.dedupe = Dedupe::StoredOffsets;
    let tps = t.cluster.partitions_of(&["t".to_owned()]);
    t.stored_offsets.store(GroupId(0), tps[0], 42);
    c.on_message(&mut t.ctx(), joined_as_follower());
    let synced = SyncGroupResponse {
        group: GroupId(0),
        error: KafkaError::None,
        assignment: tps.clone(),
    };
    c.on_message(&mut t.ctx(), Msg::SyncGroupResponse(synced));
    sent(&mut t);
    fire_due(&mut c, &mut t);
    assert_eq!(c.positions.get(&tps[0]), Some(&42));
    let out = sent(&mut t);
    assert!(
        out.iter()
            .any(|m| matches!(m, Msg::OffsetFetch(r) if r.partitions == vec![tps[1]])),
        "only the partition with no stored offset is fetched: {out:?}"
    );
    let stored = t.out.events.iter().any(|e| {
        matches!(
            e,
            Event::Group {
                event: GroupEvent::PositionSet {
                    offset: 42,
                    source: PositionSource::Stored,
                    ..
                },
                ..
            }
        )
    });
    assert!(stored, "the position says where it came from");
}

#[test]
fn rebalance_in_progress_on_a_heartbeat_asks_for_a_rejoin() {
    let (mut c, mut t) = joining();
    c.on_message(&mut t.ctx(), joined_as_follower());
    let synced = SyncGroupResponse {
        group: GroupId(0),
        error: KafkaError::None,
        assignment: Vec::new(),
    };
    c.on_message(&mut t.ctx(), Msg::SyncGroupResponse(synced));
    fire_due(&mut c, &mut t);
    assert!(!c.rejoin_needed);
    let hb = HeartbeatResponse {
        group: GroupId(0),
        error: KafkaError::RebalanceInProgress,
    };
    c.on_message(&mut t.ctx(), Msg::HeartbeatResponse(hb));
    assert!(c.rejoin_needed, "the next poll rejoins");
    assert_eq!(c.generation, 1, "the generation stands until the rejoin");
}
