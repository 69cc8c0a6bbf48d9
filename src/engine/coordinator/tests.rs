//! Handler tests: one request in, the coordinator's answer and events out (no kernel, no
//! network), with the preconditions Kafka's GroupMetadataManager checks first.

use super::*;
use crate::engine::actor::TestCtx;
use crate::engine::cluster::Cluster;
use crate::engine::ids::{MemberId, TopicId};
use crate::engine::replication::ReplicationConfig;

const G: GroupId = GroupId(0);
const C1: ConsumerRef = ConsumerRef {
    group: G,
    member: MemberId(0),
};

/// A one-broker cluster with group `g`, and its coordinator holding the group.
fn coordinator() -> (Coordinator, TestCtx) {
    let mut cluster = Cluster::with_replication(ReplicationConfig::default(), 1);
    cluster.register_group(G, "g");
    let broker = cluster
        .coordinator(G)
        .expect("the one broker leads every partition");
    let mut c = Coordinator::new(broker);
    c.add_group(G, "g");
    (c, TestCtx::new(cluster))
}

fn join(member_id: &str) -> Msg {
    Msg::JoinGroup(JoinGroupRequest {
        group: G,
        member_id: member_id.to_owned(),
        group_instance_id: None,
        session_timeout_ms: 45_000,
        rebalance_timeout_ms: 300_000,
        protocols: vec![Strategy::Range],
        metadata: MemberMetadata {
            topics: vec!["t".to_owned()],
            owned: Vec::new(),
            generation: -1,
            sticky_user_data: None,
        },
    })
}

fn reply_to(c: &mut Coordinator, t: &mut TestCtx, msg: Msg) -> Msg {
    c.on_message(&mut t.ctx(), NodeId::Consumer(C1), msg);
    let (from, to, reply) = t.sent_one();
    assert_eq!((from, to), (c.node(), NodeId::Consumer(C1)));
    reply
}

#[test]
fn a_new_member_is_given_an_id_and_asked_to_join_again() {
    // KIP-394: a JoinGroup without a member id gets MEMBER_ID_REQUIRED and the id to use.
    let (mut c, mut t) = coordinator();
    let Msg::JoinGroupResponse(r) = reply_to(&mut c, &mut t, join("")) else {
        panic!("a JoinGroup response");
    };
    assert_eq!(r.error, KafkaError::MemberIdRequired);
    assert!(r.member_id.starts_with("c1-"), "{}", r.member_id);
    assert_eq!(r.generation, -1);
    assert_eq!(
        c.group(G).unwrap().state,
        GroupState::Empty,
        "not a member yet"
    );
}

#[test]
fn the_first_member_starts_the_initial_rebalance_delay() {
    let (mut c, mut t) = coordinator();
    let Msg::JoinGroupResponse(r) = reply_to(&mut c, &mut t, join("")) else {
        panic!("a JoinGroup response");
    };
    c.on_message(&mut t.ctx(), NodeId::Consumer(C1), join(&r.member_id));
    let out = t.take();
    assert!(out.sends.is_empty(), "the join waits: {:?}", out.sends);
    assert_eq!(c.group(G).unwrap().state, GroupState::PreparingRebalance);
    // group.initial.rebalance.delay.ms for an empty group.
    assert!(out
        .timers
        .iter()
        .any(|(at, _, _)| *at == GROUP_INITIAL_REBALANCE_DELAY_MS));
}

#[test]
fn a_request_for_a_group_coordinated_elsewhere_is_not_coordinator() {
    let (_, mut t) = coordinator();
    let mut other = Coordinator::new(BrokerId(1));
    let Msg::JoinGroupResponse(r) = reply_to(&mut other, &mut t, join("")) else {
        panic!("a JoinGroup response");
    };
    assert_eq!(r.error, KafkaError::NotCoordinator);
}

#[test]
fn a_heartbeat_from_an_unknown_member_is_refused_and_recorded() {
    let (mut c, mut t) = coordinator();
    let hb = Msg::Heartbeat(HeartbeatRequest {
        group: G,
        generation: 1,
        member_id: "c1-x".to_owned(),
        group_instance_id: None,
    });
    c.on_message(&mut t.ctx(), NodeId::Consumer(C1), hb);
    let out = t.take();
    assert_eq!(
        out.sends[0].2,
        Msg::HeartbeatResponse(HeartbeatResponse {
            group: G,
            error: KafkaError::UnknownMemberId
        })
    );
    assert!(matches!(
        out.events[..],
        [Event::Group {
            event: GroupEvent::Heartbeat {
                result: HeartbeatResult::UnknownMemberId,
                ..
            },
            ..
        }]
    ));
}

#[test]
fn leave_group_is_answered_unknown_member_for_a_stranger() {
    let (mut c, mut t) = coordinator();
    let leave = Msg::LeaveGroup(LeaveGroupRequest {
        group: G,
        member_id: "c1-x".to_owned(),
        group_instance_id: None,
        reason: "test".to_owned(),
    });
    assert_eq!(
        reply_to(&mut c, &mut t, leave),
        Msg::LeaveGroupResponse(LeaveGroupResponse {
            group: G,
            error: KafkaError::UnknownMemberId
        })
    );
}

#[test]
fn offset_fetch_answers_nothing_committed() {
    let (mut c, mut t) = coordinator();
    let tp = Tp::new(TopicId(0), 0);
    let fetch = Msg::OffsetFetch(OffsetFetchRequest {
        group: G,
        request_id: 7,
        partitions: vec![tp],
    });
    assert_eq!(
        reply_to(&mut c, &mut t, fetch),
        Msg::OffsetFetchResponse(OffsetFetchResponse {
            group: G,
            request_id: 7,
            offsets: vec![(tp, None)],
        })
    );
}

#[test]
fn a_commit_from_outside_the_group_waits_for_its_write() {
    // A simple consumer (generation -1) may commit to an empty group; the answer comes
    // only once the `__consumer_offsets` record is committed.
    let (mut c, mut t) = coordinator();
    let tp = Tp::new(TopicId(0), 0);
    let commit = Msg::OffsetCommit(OffsetCommitRequest {
        group: G,
        request_id: 3,
        generation: -1,
        member_id: String::new(),
        group_instance_id: None,
        offsets: vec![(tp, 5)],
        leader_epochs: vec![None],
        auto: false,
    });
    c.on_message(&mut t.ctx(), NodeId::Consumer(C1), commit);
    assert!(t.take().sends.is_empty(), "no answer before the write");
    assert_eq!(c.take_writes().len(), 1, "one OffsetCommit record");
}

#[test]
fn a_commit_with_a_stale_generation_is_refused_at_once() {
    let (mut c, mut t) = coordinator();
    let Msg::JoinGroupResponse(r) = reply_to(&mut c, &mut t, join("")) else {
        panic!("a JoinGroup response");
    };
    c.on_message(&mut t.ctx(), NodeId::Consumer(C1), join(&r.member_id));
    t.take();
    let commit = Msg::OffsetCommit(OffsetCommitRequest {
        group: G,
        request_id: 4,
        generation: 9,
        member_id: r.member_id.clone(),
        group_instance_id: None,
        offsets: vec![(Tp::new(TopicId(0), 0), 5)],
        leader_epochs: vec![None],
        auto: true,
    });
    let Msg::OffsetCommitResponse(answer) = reply_to(&mut c, &mut t, commit) else {
        panic!("an OffsetCommit response");
    };
    assert_ne!(answer.error, KafkaError::None);
    assert!(c.take_writes().is_empty(), "nothing written");
}
