//! The inspection door: read-only accessors to actor state the read model does not show,
//! for the native tests and the benches. Actor fields are private to the crate, so nothing
//! outside it changes an actor except through a command; the UI reads `view` only (the
//! tidy test keeps this module out of `src/ui`).

use super::vecmap::VecMap;

use super::broker::{Broker, Lifecycle};
use super::config::ProducerConfig;
use super::consumer::{Consumer, ConsumerStatus, MemberState};
use super::coordinator::{CommittedOffset, CoordGroup, GroupMember};
use super::event::GroupState;
use super::ids::{ConsumerRef, Tp};
use super::producer::Producer;

impl Broker {
    /// Its process runs (a killed broker keeps its logs, as its disk would).
    pub fn alive(&self) -> bool {
        self.alive
    }

    /// Its session with the controller.
    pub fn lifecycle(&self) -> &Lifecycle {
        &self.lifecycle
    }
}

impl Consumer {
    /// Its group and place in it.
    pub fn id(&self) -> ConsumerRef {
        self.id
    }

    /// Where it is in its life.
    pub fn status(&self) -> &ConsumerStatus {
        &self.status
    }

    /// Where it is in the group protocol.
    pub fn member_state(&self) -> MemberState {
        self.member_state
    }

    /// The member id the coordinator gave it (empty: none).
    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    /// Its generation (-1: none).
    pub fn generation(&self) -> i32 {
        self.generation
    }

    /// The partitions it owns, in fetch order.
    pub fn assigned(&self) -> &[Tp] {
        &self.assigned
    }

    /// Per owned partition, the next offset `poll()` returns.
    pub fn positions(&self) -> &VecMap<Tp, u64> {
        &self.positions
    }
}

impl CoordGroup {
    /// ClassicGroup's state.
    pub fn state(&self) -> GroupState {
        self.state
    }

    /// The current generation.
    pub fn generation(&self) -> i32 {
        self.generation
    }

    /// The members, by member id.
    pub fn members(&self) -> &VecMap<String, GroupMember> {
        &self.members
    }

    /// The committed offsets.
    pub fn committed(&self) -> &VecMap<Tp, CommittedOffset> {
        &self.committed
    }

    /// How long its members stood still in rebalances, in total.
    pub fn stop_the_world_ms(&self) -> u64 {
        self.stop_the_world_ms
    }
}

impl Producer {
    /// Its configuration.
    pub fn config(&self) -> &ProducerConfig {
        &self.config
    }

    /// Records acknowledged.
    pub fn acked_records(&self) -> u64 {
        self.acked_records
    }

    /// Records given up on.
    pub fn failed_records(&self) -> u64 {
        self.failed_records
    }
}
