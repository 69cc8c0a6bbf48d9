//! Where a new topic's replicas go, as Kafka 4's KRaft controller decides it
//! (`metadata/.../placement/StripedReplicaPlacer`), for a cluster without racks. Groundwork
//! for brokers and replication: nothing in the simulation places replicas yet (one broker
//! holds every partition).
//!
//! The picture: the brokers, sorted, form a ring. Each new partition takes `rf`
//! consecutive brokers, starting one step further round the ring than the partition before,
//! so leaders rotate; the first start is random. Once every live broker has led once, the
//! ring is shuffled, so the same lists do not repeat. Live ("unfenced") brokers are taken
//! first; a fenced broker only fills the tail of a list when there are too few live ones,
//! and never leads.

/// Random draws with `java.util.Random.nextInt(bound)`'s contract (`0 <= r < bound`). The
/// controller's `Random` is unseeded; the lab draws from its one seeded RNG, and Kafka's
/// own tests use a fixed generator, which is how this module is checked.
pub trait Draw {
    /// A uniform draw in `0..bound` (`bound > 0`).
    fn next_int(&mut self, bound: u32) -> u32;
}

impl Draw for super::rng::Rng {
    fn next_int(&mut self, bound: u32) -> u32 {
        self.below(u64::from(bound.max(1))) as u32
    }
}

/// One broker as the placer sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Its id.
    pub id: i32,
    /// Fenced (not heartbeating): used only when the live brokers are too few.
    pub fenced: bool,
}

/// Why replicas cannot be placed: Kafka's `InvalidReplicationFactorException` messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlacementError(pub String);

impl std::fmt::Display for PlacementError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A sorted ring of brokers read round by round: each new round (epoch) starts one step
/// further on and yields each broker at most once.
#[derive(Debug, Default)]
struct Ring {
    brokers: Vec<i32>,
    taken: usize,
    start: usize,
    round: u32,
}

impl Ring {
    fn new(mut brokers: Vec<i32>, draw: &mut impl Draw) -> Ring {
        super::sort::sort(&mut brokers);
        // An empty ring draws nothing, as in Kafka (the draw order is part of the result).
        let start = if brokers.is_empty() {
            0
        } else {
            draw.next_int(brokers.len() as u32) as usize
        };
        Ring {
            brokers,
            taken: 0,
            start,
            round: 0,
        }
    }

    /// The next broker of `round`, or `None` once every broker was given this round.
    fn next(&mut self, round: u32) -> Option<i32> {
        let n = self.brokers.len();
        if n == 0 {
            return None;
        }
        if self.round != round {
            self.round = round;
            self.taken = 0;
            self.start = (self.start + 1) % n;
        }
        if self.taken >= n {
            return None;
        }
        let id = self.brokers[(self.taken + self.start) % n];
        self.taken += 1;
        Some(id)
    }

    /// `Collections.shuffle`: from the end, swap each slot with a random one at or before it.
    fn shuffle(&mut self, draw: &mut impl Draw) {
        for i in (2..=self.brokers.len()).rev() {
            let j = draw.next_int(i as u32) as usize;
            self.brokers.swap(i - 1, j);
        }
    }
}

/// The placer for one topic creation: call [`Placer::place`] once per partition.
#[derive(Debug)]
pub struct Placer {
    fenced: Ring,
    live: Ring,
    round: u32,
    total: usize,
}

impl Placer {
    /// Sets up the rings from the usable brokers, drawing each ring's start (fenced first,
    /// then live, then the one-rack offset, which Kafka draws too).
    pub fn new(brokers: &[Candidate], draw: &mut impl Draw) -> Placer {
        let ids = |fenced: bool| {
            brokers
                .iter()
                .filter(|b| b.fenced == fenced)
                .map(|b| b.id)
                .collect::<Vec<_>>()
        };
        let fenced = Ring::new(ids(true), draw);
        let live = Ring::new(ids(false), draw);
        if !brokers.is_empty() {
            // The rack list's offset: one rack, so always 0, but the draw is made.
            draw.next_int(1);
        }
        Placer {
            fenced,
            live,
            round: 0,
            total: brokers.len(),
        }
    }

    /// The replica list of the next partition, the leader first.
    ///
    /// # Errors
    /// A replication factor that is not positive, larger than the registered brokers, or
    /// no live broker at all: Kafka's messages.
    pub fn place(&mut self, rf: i32, draw: &mut impl Draw) -> Result<Vec<i32>, PlacementError> {
        if rf <= 0 {
            return Err(PlacementError(format!(
                "Invalid replication factor {rf}: the replication factor must be positive."
            )));
        }
        if rf as usize > self.total {
            return Err(PlacementError(format!(
                "The target replication factor of {rf} cannot be reached because only {} \
                 broker(s) are registered.",
                self.total
            )));
        }
        let live = self.live.brokers.len();
        if live == 0 {
            return Err(PlacementError("All brokers are currently fenced.".into()));
        }
        // Every live broker has led once: shuffle so the next lists differ. One live broker
        // would shuffle forever, so it never does.
        if self.round as usize == live && live > 1 {
            self.fenced.shuffle(draw);
            self.live.shuffle(draw);
            self.round = 0;
        }
        let mut replicas = Vec::with_capacity(rf as usize);
        // The leader is always live.
        replicas.extend(self.live.next(self.round));
        while replicas.len() < rf as usize {
            let next = self
                .live
                .next(self.round)
                .or_else(|| self.fenced.next(self.round));
            match next {
                Some(id) => replicas.push(id),
                // Unreachable: rf <= total, and each broker comes once per round.
                None => break,
            }
        }
        self.round += 1;
        Ok(replicas)
    }
}

/// Places `partitions` partitions of `rf` replicas on `brokers`.
///
/// # Errors
/// As [`Placer::place`].
pub fn place(
    brokers: &[Candidate],
    partitions: u32,
    rf: i32,
    draw: &mut impl Draw,
) -> Result<Vec<Vec<i32>>, PlacementError> {
    let mut placer = Placer::new(brokers, draw);
    (0..partitions).map(|_| placer.place(rf, draw)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kafka's `MockRandom` (server-common test utilities): a 64-bit LCG from state 17,
    /// read through `java.util.Random.nextInt(bound)`. Kafka's placer tests draw from it,
    /// so the same draws here must give the same replica lists.
    struct MockRandom(u64);

    impl MockRandom {
        fn new() -> Self {
            MockRandom(17)
        }

        /// `Random.next(bits)`, as MockRandom overrides it.
        fn next_bits(&mut self, bits: u32) -> i32 {
            self.0 = self
                .0
                .wrapping_mul(2_862_933_555_777_941_757)
                .wrapping_add(3_037_000_493);
            (self.0 >> (64 - bits)) as i32
        }
    }

    impl Draw for MockRandom {
        /// `java.util.Random.nextInt(bound)`: a power of two takes the high bits; any other
        /// bound rejects the draws that would bias the remainder.
        fn next_int(&mut self, bound: u32) -> u32 {
            let bound = bound as i32;
            let mut r = self.next_bits(31);
            let m = bound - 1;
            if bound & m == 0 {
                return ((i64::from(bound) * i64::from(r)) >> 31) as u32;
            }
            let mut u = r;
            loop {
                r = u % bound;
                if u.wrapping_sub(r).wrapping_add(m) >= 0 {
                    return r as u32;
                }
                u = self.next_bits(31);
            }
        }
    }

    fn live(ids: &[i32]) -> Vec<Candidate> {
        ids.iter()
            .map(|&id| Candidate { id, fenced: false })
            .collect()
    }

    fn with_fenced(live_ids: &[i32], fenced_ids: &[i32]) -> Vec<Candidate> {
        let mut v = live(live_ids);
        v.extend(fenced_ids.iter().map(|&id| Candidate { id, fenced: true }));
        v
    }

    /// `StripedReplicaPlacerTest.testSuccessfulPlacement`: 4 brokers, 5 partitions of 3.
    #[test]
    fn successful_placement_matches_kafka() {
        let got = place(&live(&[0, 3, 2, 1]), 5, 3, &mut MockRandom::new()).unwrap();
        assert_eq!(
            got,
            [
                vec![2, 3, 0],
                vec![3, 0, 1],
                vec![0, 1, 2],
                vec![1, 2, 3],
                vec![1, 0, 2]
            ]
        );
    }

    /// `testAvoidFencedReplicaIfPossibleOnSingleRack`: the fenced broker 1 is never used
    /// while four live brokers suffice.
    #[test]
    fn a_fenced_broker_is_avoided_when_live_ones_suffice() {
        let brokers = with_fenced(&[3, 0, 4, 2], &[1]);
        let mut draw = MockRandom::new();
        let mut placer = Placer::new(&brokers, &mut draw);
        let got: Vec<Vec<i32>> = (0..5)
            .map(|_| placer.place(4, &mut draw).unwrap())
            .collect();
        assert_eq!(
            got,
            [
                vec![3, 4, 0, 2],
                vec![4, 0, 2, 3],
                vec![0, 2, 3, 4],
                vec![2, 3, 4, 0],
                vec![0, 4, 3, 2]
            ]
        );
        for rf in [0, -1] {
            let e = placer.place(rf, &mut draw).unwrap_err();
            assert!(e.0.contains("must be positive"), "{e}");
        }
    }

    /// `testPlacementOnFencedReplicaOnSingleRack`: with 2 live brokers and RF 3, the fenced
    /// broker fills the tail, never the lead.
    #[test]
    fn a_fenced_broker_only_fills_the_tail() {
        let brokers = with_fenced(&[3, 2], &[1]);
        let mut draw = MockRandom::new();
        let mut placer = Placer::new(&brokers, &mut draw);
        let got: Vec<Vec<i32>> = (0..4)
            .map(|_| placer.place(3, &mut draw).unwrap())
            .collect();
        assert_eq!(
            got,
            [vec![3, 2, 1], vec![2, 3, 1], vec![3, 2, 1], vec![2, 3, 1]]
        );
    }

    /// `testMultiPartitionTopicPlacementOnSingleUnfencedBroker`: one live broker leads
    /// everything, without shuffling forever.
    #[test]
    fn one_live_broker_leads_every_partition() {
        let got = place(&with_fenced(&[0], &[1]), 3, 1, &mut MockRandom::new()).unwrap();
        assert_eq!(got, [vec![0], vec![0], vec![0]]);
    }

    /// `testEvenDistribution`: 200 partitions of 2 on 4 brokers, counted per replica list.
    #[test]
    fn the_distribution_over_200_partitions_matches_kafka() {
        let got = place(&live(&[0, 1, 2, 3]), 200, 2, &mut MockRandom::new()).unwrap();
        let mut counts = std::collections::BTreeMap::new();
        for list in got {
            *counts.entry(list).or_insert(0) += 1;
        }
        let want = [
            ([0, 1], 14),
            ([0, 2], 22),
            ([0, 3], 14),
            ([1, 0], 17),
            ([1, 2], 17),
            ([1, 3], 16),
            ([2, 0], 13),
            ([2, 1], 17),
            ([2, 3], 20),
            ([3, 0], 20),
            ([3, 1], 19),
            ([3, 2], 11),
        ];
        let want: std::collections::BTreeMap<Vec<i32>, i32> =
            want.iter().map(|(l, n)| (l.to_vec(), *n)).collect();
        assert_eq!(counts, want);
    }

    /// Kafka's refusals, word for word; and with the lab's own RNG, every list has distinct
    /// brokers and leaders rotate over the live ones.
    #[test]
    fn refusals_and_the_stripe_with_the_labs_rng() {
        let e = place(&live(&[0, 1]), 1, 3, &mut MockRandom::new()).unwrap_err();
        assert_eq!(
            e.0,
            "The target replication factor of 3 cannot be reached because only 2 broker(s) are registered."
        );
        let e = place(&with_fenced(&[], &[0, 1]), 1, 1, &mut MockRandom::new()).unwrap_err();
        assert_eq!(e.0, "All brokers are currently fenced.");
        let mut rng = crate::engine::rng::Rng::new(7);
        let got = place(&live(&[0, 1, 2, 3, 4]), 5, 3, &mut rng).unwrap();
        let mut leaders: Vec<i32> = got.iter().map(|l| l[0]).collect();
        leaders.sort_unstable();
        assert_eq!(leaders, [0, 1, 2, 3, 4], "{got:?}");
        for list in &got {
            let mut l = list.clone();
            l.sort_unstable();
            l.dedup();
            assert_eq!(l.len(), 3, "{got:?}");
        }
    }
}
