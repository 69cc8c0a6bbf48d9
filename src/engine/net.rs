//! The network: every message between nodes travels a directed link with a latency drawn
//! from the one RNG, in order (each link is FIFO, as a TCP connection is), and faults are
//! ordinary commands: partition a set of nodes, hold a link, release it, heal everything.
//!
//! Modelled on turmoil's `partition`/`hold`/`release`/`repair`, with two differences that
//! Kafka needs: delivery stays FIFO per link even with random latency
//! (`deliver_at = max(now + latency, last delivery on the link)`), and a lost message
//! breaks its connection: nothing more gets through until the client closes it.

use super::vecmap::VecMap;
use std::collections::VecDeque;

use super::ids::NodeId;
use super::msg::Msg;
use super::rng::Rng;

/// Latency of every link, in ms: fixed when `min == max`, else uniform in `[min, max]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Latency {
    /// The least.
    pub min_ms: u64,
    /// The most.
    pub max_ms: u64,
}

impl Default for Latency {
    fn default() -> Self {
        Latency {
            min_ms: 1,
            max_ms: 1,
        }
    }
}

/// The most a link's latency may be, in ms.
pub const MAX_LATENCY_MS: u64 = 10_000;

/// One direction between two nodes.
#[derive(Clone, Debug, Default)]
struct Link {
    last_deliver_at: u64,
    /// Bumped when the link's in-flight messages are thrown away.
    epoch: u64,
    partitioned: bool,
    held: bool,
    held_queue: VecDeque<Msg>,
    /// The next message is lost.
    lose_next: bool,
    /// A lost message broke the connection: everything is lost until it is closed.
    stalled: bool,
    /// Losing the next message stalls the connection (a TCP client's fate).
    stall_on_loss: bool,
}

/// What happens to a message sent now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Delivered at this time, if the link's epoch is still this one then.
    Deliver {
        /// When.
        at_ms: u64,
        /// The link epoch it must match.
        epoch: u64,
    },
    /// Kept until the link is released.
    Held,
    /// Lost.
    Dropped,
}

/// Every link.
#[derive(Clone, Debug, Default)]
pub struct Network {
    latency: Latency,
    links: VecMap<(NodeId, NodeId), Link>,
}

impl Network {
    /// A network with this latency on every link.
    pub fn new(latency: Latency) -> Self {
        Network {
            latency,
            links: VecMap::new(),
        }
    }

    /// The latency every link has.
    pub fn latency(&self) -> Latency {
        self.latency
    }

    fn link(&mut self, from: NodeId, to: NodeId) -> &mut Link {
        self.links.entry((from, to)).or_default()
    }

    /// Routes a message sent now. Links to and from the controller have no latency (and
    /// draw nothing): the lab's metadata quorum is local.
    pub fn route(&mut self, now_ms: u64, rng: &mut Rng, from: NodeId, to: NodeId) -> Route {
        let latency = if from == NodeId::Controller || to == NodeId::Controller {
            0
        } else {
            self.draw_latency(rng)
        };
        let link = self.link(from, to);
        if link.partitioned || link.stalled {
            return Route::Dropped;
        }
        if link.lose_next {
            link.lose_next = false;
            link.stalled = link.stall_on_loss;
            return Route::Dropped;
        }
        if link.held {
            return Route::Held;
        }
        let at_ms = (now_ms + latency).max(link.last_deliver_at);
        link.last_deliver_at = at_ms;
        Route::Deliver {
            at_ms,
            epoch: link.epoch,
        }
    }

    fn draw_latency(&self, rng: &mut Rng) -> u64 {
        let Latency { min_ms, max_ms } = self.latency;
        if max_ms <= min_ms {
            min_ms
        } else {
            min_ms + rng.below(max_ms - min_ms + 1)
        }
    }

    /// Keeps a message whose link was held when it was sent or when it arrived.
    pub fn hold(&mut self, from: NodeId, to: NodeId, msg: Msg) {
        self.link(from, to).held_queue.push_back(msg);
    }

    /// What a message scheduled with `epoch` meets when it arrives: delivered, held, or
    /// gone (the link was cut or the connection closed since).
    pub fn arrival(&mut self, from: NodeId, to: NodeId, epoch: u64) -> Route {
        let link = self.link(from, to);
        if link.epoch != epoch || link.partitioned {
            Route::Dropped
        } else if link.held {
            Route::Held
        } else {
            Route::Deliver { at_ms: 0, epoch }
        }
    }

    /// Arms a loss on `from → to`: the next message is lost, and if `stall` the link
    /// loses everything after it too, until the connection is closed.
    pub fn lose_next(&mut self, from: NodeId, to: NodeId, stall: bool) {
        let link = self.link(from, to);
        link.lose_next = true;
        link.stall_on_loss = stall;
    }

    /// A client closed its connection to `peer`: what is in flight either way is gone,
    /// and a new connection starts clean.
    pub fn close_connection(&mut self, client: NodeId, peer: NodeId) {
        for (a, b) in [(client, peer), (peer, client)] {
            let link = self.link(a, b);
            link.epoch += 1;
            link.stalled = false;
            link.held_queue.clear();
        }
    }

    /// Cuts every link between `a` and `b`, both ways; what is in flight is lost.
    pub fn partition(&mut self, a: &[NodeId], b: &[NodeId]) {
        for (x, y) in pairs(a, b) {
            let link = self.link(x, y);
            link.partitioned = true;
            link.epoch += 1;
            link.held_queue.clear();
        }
    }

    /// Holds every link between `a` and `b`, both ways.
    pub fn hold_links(&mut self, a: &[NodeId], b: &[NodeId]) {
        for (x, y) in pairs(a, b) {
            self.link(x, y).held = true;
        }
    }

    /// Releases held links between `a` and `b`: their messages go out, in order. Returns
    /// `(from, to, message)` to schedule.
    pub fn release(&mut self, a: &[NodeId], b: &[NodeId]) -> Vec<(NodeId, NodeId, Msg)> {
        let mut out = Vec::new();
        for (x, y) in pairs(a, b) {
            let link = self.link(x, y);
            link.held = false;
            out.extend(link.held_queue.drain(..).map(|m| (x, y, m)));
        }
        out
    }

    /// Repairs every link and releases every held message.
    pub fn heal(&mut self) -> Vec<(NodeId, NodeId, Msg)> {
        let mut out = Vec::new();
        for (&(x, y), link) in self.links.iter_mut() {
            link.partitioned = false;
            link.held = false;
            out.extend(link.held_queue.drain(..).map(|m| (x, y, m)));
        }
        out
    }

    /// True when some link is cut or held.
    pub fn faulty(&self) -> bool {
        self.links.values().any(|l| l.partitioned || l.held)
    }
}

/// Every ordered pair between the two sides, both directions, without self-links.
fn pairs(a: &[NodeId], b: &[NodeId]) -> Vec<(NodeId, NodeId)> {
    let mut out = Vec::new();
    for &x in a {
        for &y in b {
            if x != y {
                out.push((x, y));
                out.push((y, x));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ids::{BrokerId, ProducerId};

    const P: NodeId = NodeId::Producer(ProducerId(0));
    const B: NodeId = NodeId::Broker(BrokerId(0));

    fn msg() -> Msg {
        Msg::FindCoordinator {
            group: crate::engine::ids::GroupId(0),
        }
    }

    #[test]
    fn random_latency_keeps_each_link_in_order() {
        let mut net = Network::new(Latency {
            min_ms: 1,
            max_ms: 50,
        });
        let mut rng = Rng::new(3);
        let mut last = 0;
        for now in 0..200 {
            match net.route(now, &mut rng, P, B) {
                Route::Deliver { at_ms, .. } => {
                    assert!(at_ms >= last && at_ms > now);
                    last = at_ms;
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn a_lost_message_stalls_the_connection_until_it_is_closed() {
        let mut net = Network::new(Latency::default());
        let mut rng = Rng::new(1);
        net.lose_next(P, B, true);
        assert_eq!(net.route(0, &mut rng, P, B), Route::Dropped);
        assert_eq!(net.route(1, &mut rng, P, B), Route::Dropped, "stalled");
        net.close_connection(P, B);
        assert!(matches!(
            net.route(2, &mut rng, P, B),
            Route::Deliver { .. }
        ));
    }

    #[test]
    fn hold_keeps_messages_in_order_and_partition_drops_them() {
        let mut net = Network::new(Latency::default());
        let mut rng = Rng::new(1);
        let Route::Deliver { epoch, .. } = net.route(0, &mut rng, P, B) else {
            panic!()
        };
        net.hold_links(&[P], &[B]);
        assert_eq!(net.arrival(P, B, epoch), Route::Held);
        net.hold(P, B, msg());
        assert_eq!(net.route(1, &mut rng, P, B), Route::Held);
        assert_eq!(net.release(&[P], &[B]).len(), 1);
        net.partition(&[P], &[B]);
        assert_eq!(net.arrival(P, B, epoch), Route::Dropped);
        assert_eq!(net.route(2, &mut rng, B, P), Route::Dropped, "both ways");
        assert!(net.faulty());
        net.heal();
        assert!(!net.faulty());
    }
}
