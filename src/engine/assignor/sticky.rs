//! The sticky and cooperative-sticky assignors (AbstractStickyAssignor): the constrained
//! fast path when every member subscribes to the same topics, and the general path with its
//! balancing moves, both bit-exact to Java's choices.

use super::*;

// ---------------------------------------------------------------------------------------
// Sticky family (AbstractStickyAssignor)
// ---------------------------------------------------------------------------------------

/// The topics the sticky algorithm works on, with every partition given a dense index.
struct TopicTable {
    /// Topic names, sorted like a Java `Collections.sort` of strings.
    names: Vec<String>,
    counts: Vec<usize>,
    offsets: Vec<usize>,
    by_name: BTreeMap<String, usize>,
    /// For each partition index: (topic index, partition number).
    parts: Vec<(usize, u32)>,
    /// For each partition index: the spread `TopicPartition.hashCode()`.
    part_spread: Vec<u32>,
}

impl TopicTable {
    /// Like `AbstractPartitionAssignor.assign`: only topics some member subscribes to and
    /// that have at least one partition.
    fn new(partitions_per_topic: &BTreeMap<String, u32>, members: &[Member<'_>]) -> Self {
        let mut names: Vec<String> = members
            .iter()
            .flat_map(|m| m.topics.iter())
            .filter(|t| partition_count(partitions_per_topic, t) > 0)
            .cloned()
            .collect();
        sort::sort_by(&mut names, |a, b| java_cmp(a, b));
        names.dedup();
        let mut table = TopicTable {
            counts: Vec::new(),
            offsets: Vec::new(),
            by_name: BTreeMap::new(),
            parts: Vec::new(),
            part_spread: Vec::new(),
            names: Vec::new(),
        };
        for (ti, name) in names.iter().enumerate() {
            let count = partition_count(partitions_per_topic, name);
            let topic_hash = java_string_hash(name);
            table.offsets.push(table.parts.len());
            table.counts.push(count as usize);
            table.by_name.insert(name.clone(), ti);
            for p in 0..count {
                table.parts.push((ti, p));
                table
                    .part_spread
                    .push(spread(topic_partition_hash(topic_hash, p)));
            }
        }
        table.names = names;
        table
    }

    fn index(&self, topic: &str, partition: u32) -> Option<usize> {
        let &ti = self.by_name.get(topic)?;
        ((partition as usize) < self.counts[ti]).then(|| self.offsets[ti] + partition as usize)
    }

    fn topic_of(&self, p: usize) -> usize {
        self.parts[p].0
    }

    fn pair(&self, p: usize) -> (String, u32) {
        let (t, n) = self.parts[p];
        (self.names[t].clone(), n)
    }
}

/// Everything both sticky builders read.
struct StickyInput<'m, 'a> {
    members: &'m [Member<'a>],
    /// Java HashMap iteration order of the subscriptions map.
    order: Vec<usize>,
    /// Rank of each member id under `String.compareTo` (for TreeSet and sort tie-breaks).
    rank: Vec<usize>,
    topics: TopicTable,
    /// `consumer2AllPotentialTopics`: subscribed topics that exist, in list order (a topic
    /// listed twice stays twice, as in the Java list).
    member_topics: Vec<Vec<usize>>,
    /// `MemberData.partitions` mapped to partition indices (unknown ones dropped).
    data: Vec<Vec<usize>>,
}

/// `StickyAssignor` serializes the previous assignment into user data grouped by topic
/// (`CollectionUtils.groupPartitionsByTopic`, a HashMap filled with `computeIfAbsent` once
/// per partition), so the eager assignor sees the owned list regrouped in that map's order;
/// the cooperative assignor uses the subscription's list as is.
fn member_data_order(strategy: Strategy, owned: &[(String, u32)]) -> Vec<&(String, u32)> {
    if strategy != Strategy::Sticky {
        return owned.iter().collect();
    }
    let mut topic_ids: BTreeMap<&str, usize> = BTreeMap::new();
    let calls: Vec<(usize, i32)> = owned
        .iter()
        .map(|(t, _)| {
            let next = topic_ids.len();
            (*topic_ids.entry(t).or_insert(next), java_string_hash(t))
        })
        .collect();
    let mut groups: Vec<Vec<&(String, u32)>> = vec![Vec::new(); topic_ids.len()];
    for (tp, &(id, _)) in owned.iter().zip(&calls) {
        groups[id].push(tp);
    }
    java_hash_order(&calls, Fill::ComputeIfAbsent)
        .into_iter()
        .flat_map(|id| std::mem::take(&mut groups[id]))
        .collect()
}

pub(super) fn sticky(
    strategy: Strategy,
    partitions_per_topic: &BTreeMap<String, u32>,
    members: &[Member<'_>],
) -> Vec<Vec<(String, u32)>> {
    let topics = TopicTable::new(partitions_per_topic, members);
    let mut by_id: Vec<usize> = (0..members.len()).collect();
    sort::sort_by(&mut by_id, |&a, &b| java_cmp(members[a].id, members[b].id));
    let mut rank = vec![0usize; members.len()];
    for (r, &mi) in by_id.iter().enumerate() {
        rank[mi] = r;
    }
    let member_topics = members
        .iter()
        .map(|m| {
            m.topics
                .iter()
                .filter_map(|t| topics.by_name.get(t).copied())
                .collect()
        })
        .collect();
    let data = members
        .iter()
        .map(|m| {
            member_data_order(strategy, m.owned)
                .into_iter()
                .filter_map(|(t, p)| topics.index(t, *p))
                .collect()
        })
        .collect();
    let input = StickyInput {
        members,
        order: member_hash_order(members),
        rank,
        topics,
        member_topics,
        data,
    };

    let pre = preprocess(&input);
    let (mut lists, transferring) = if pre.all_equal {
        let (lists, transferring) = constrained(&input, pre.owned, &pre.multiple);
        (lists, Some(transferring))
    } else {
        (general(&input, pre.owned, pre.max_generation), None)
    };

    if strategy == Strategy::CooperativeSticky {
        let transferring = transferring.unwrap_or_else(|| computed_transfers(&input, &lists));
        for (p, to) in transferring {
            if let Some(pos) = lists[to].iter().position(|&q| q == p) {
                lists[to].remove(pos);
            }
        }
    }
    lists
        .into_iter()
        .map(|l| l.into_iter().map(|p| input.topics.pair(p)).collect())
        .collect()
}

/// Result of `allSubscriptionsEqual`.
struct Preprocessed {
    all_equal: bool,
    /// Each member's still-valid owned partitions after resolving double claims.
    owned: Vec<Vec<usize>>,
    /// Partitions claimed by several members of the same generation.
    multiple: BTreeSet<usize>,
    max_generation: i32,
}

/// `allSubscriptionsEqual`: walks members in HashMap order, checks whether all topic lists
/// equal the first non-empty one, and resolves partitions claimed by several members: the
/// higher generation keeps it, equal generations lose it both (and it is marked).
fn preprocess(input: &StickyInput<'_, '_>) -> Preprocessed {
    let members = input.members;
    let mut all_equal = true;
    let mut first_topics: BTreeSet<&str> = BTreeSet::new();
    let mut owned: Vec<Vec<usize>> = vec![Vec::new(); members.len()];
    let mut claimed_by: BTreeMap<usize, usize> = BTreeMap::new();
    let mut multiple: BTreeSet<usize> = BTreeSet::new();
    let mut max_generation = -1;
    for &mi in &input.order {
        let m = &members[mi];
        if first_topics.is_empty() {
            first_topics.extend(m.topics.iter().map(String::as_str));
        } else if all_equal
            && !(m.topics.len() == first_topics.len()
                && m.topics.iter().all(|t| first_topics.contains(t.as_str())))
        {
            all_equal = false;
        }
        max_generation = max_generation.max(m.generation);
        for &p in &input.data[mi] {
            match claimed_by.get(&p).copied() {
                None => {
                    owned[mi].push(p);
                    claimed_by.insert(p, mi);
                }
                Some(other) => {
                    let other_generation = members[other].generation;
                    if m.generation == other_generation {
                        multiple.insert(p);
                        remove_first(&mut owned[other], p);
                        claimed_by.insert(p, mi);
                    } else if m.generation > other_generation {
                        owned[mi].push(p);
                        remove_first(&mut owned[other], p);
                        claimed_by.insert(p, mi);
                    }
                }
            }
        }
    }
    Preprocessed {
        all_equal,
        owned,
        multiple,
        max_generation,
    }
}

fn remove_first(list: &mut Vec<usize>, p: usize) {
    if let Some(pos) = list.iter().position(|&q| q == p) {
        list.remove(pos);
    }
}

/// `ConstrainedAssignmentBuilder` (all subscriptions equal). Returns the assignment and
/// `partitionsTransferringOwnership` (partition -> new owner).
fn constrained(
    input: &StickyInput<'_, '_>,
    owned: Vec<Vec<usize>>,
    multiple: &BTreeSet<usize>,
) -> (Vec<Vec<usize>>, BTreeMap<usize, usize>) {
    let n_members = input.members.len();
    let total = input.topics.parts.len();
    let min_quota = total / n_members;
    let max_quota = total.div_ceil(n_members);
    let expected_over = total % n_members;
    let mut over = 0usize;

    let mut assignment: Vec<Vec<usize>> = vec![Vec::new(); n_members];
    let mut assigned: BTreeSet<usize> = BTreeSet::new();
    let mut maybe_revoked: BTreeMap<usize, usize> = BTreeMap::new();
    let mut under_min: Vec<usize> = Vec::new();
    let mut exactly_min: VecDeque<usize> = VecDeque::new();

    // Keep owned partitions up to the quota, visiting members in HashMap order: which
    // members get to keep maxQuota depends on that order.
    for &mi in &input.order {
        let mut mine = owned[mi].clone();
        sort::sort_by(&mut mine, |&a, &b| {
            let (ta, pa) = input.topics.parts[a];
            let (tb, pb) = input.topics.parts[b];
            pa.cmp(&pb)
                .then_with(|| java_cmp(&input.topics.names[ta], &input.topics.names[tb]))
        });
        mine.retain(|p| !multiple.contains(p));
        let keep = if mine.len() < min_quota {
            under_min.push(mi);
            mine.len()
        } else if mine.len() >= max_quota && over < expected_over {
            over += 1;
            if over == expected_over {
                exactly_min.clear();
            }
            max_quota
        } else {
            if over < expected_over {
                exactly_min.push_back(mi);
            }
            min_quota
        };
        for &p in &mine[keep..] {
            maybe_revoked.insert(p, mi);
        }
        assignment[mi].extend_from_slice(&mine[..keep]);
        assigned.extend(mine[..keep].iter().copied());
    }

    // All partitions, topics by name and partitions ascending, minus the kept ones.
    let unassigned: Vec<usize> = (0..total).filter(|p| !assigned.contains(p)).collect();
    let by_id = |a: &usize, b: &usize| java_cmp(input.members[*a].id, input.members[*b].id);
    sort::sort_by(&mut under_min, by_id);
    sort::sort_by(exactly_min.make_contiguous(), by_id);

    let mut transferring: BTreeMap<usize, usize> = BTreeMap::new();
    // `cursor` plays the Java LinkedList iterator over the under-min members.
    let mut cursor = 0usize;
    let mut from_iterator;
    for p in unassigned {
        let consumer = if cursor < under_min.len() {
            cursor += 1;
            from_iterator = true;
            under_min[cursor - 1]
        } else if under_min.is_empty() {
            match exactly_min.pop_front() {
                Some(c) => {
                    from_iterator = false;
                    c
                }
                // Java throws here; the quota arithmetic makes it unreachable.
                None => break,
            }
        } else {
            cursor = 1;
            from_iterator = true;
            under_min[0]
        };
        assignment[consumer].push(p);
        let moved_away = maybe_revoked.get(&p).is_some_and(|&o| o != consumer);
        if moved_away || multiple.contains(&p) {
            transferring.insert(p, consumer);
        }
        // Java also counts members reaching maxQuota here, but only to log; nothing reads it.
        if assignment[consumer].len() == min_quota {
            if from_iterator {
                cursor -= 1;
                under_min.remove(cursor);
            }
            exactly_min.push_back(consumer);
        }
    }
    (assignment, transferring)
}

/// `PartitionMovements`: the record of moves made while balancing, used to undo chains of
/// moves so partitions go back to where they came from.
struct Movements {
    /// partition -> (source member, destination member)
    by_partition: BTreeMap<usize, (usize, usize)>,
    /// topic -> (source, destination) -> partitions moved that way
    by_topic: BTreeMap<usize, BTreeMap<(usize, usize), JavaOrderSet>>,
}

impl Movements {
    fn remove_record(&mut self, p: usize, topic: usize) -> Option<(usize, usize)> {
        let pair = self.by_partition.remove(&p)?;
        if let Some(pairs) = self.by_topic.get_mut(&topic) {
            if let Some(set) = pairs.get_mut(&pair) {
                set.remove(p);
                if set.is_empty() {
                    pairs.remove(&pair);
                }
            }
            if pairs.is_empty() {
                self.by_topic.remove(&topic);
            }
        }
        Some(pair)
    }

    fn add_record(&mut self, p: usize, topic: usize, part_spread: u32, pair: (usize, usize)) {
        self.by_partition.insert(p, pair);
        self.by_topic
            .entry(topic)
            .or_default()
            .entry(pair)
            .or_insert_with(JavaOrderSet::new)
            .insert(p, part_spread);
    }

    fn move_partition(&mut self, p: usize, topic: usize, part_spread: u32, old: usize, new: usize) {
        if self.by_partition.contains_key(&p) {
            if let Some((src, _)) = self.remove_record(p, topic) {
                if src != new {
                    self.add_record(p, topic, part_spread, (src, new));
                }
            }
        } else {
            self.add_record(p, topic, part_spread, (old, new));
        }
    }

    /// If some partition of the same topic earlier moved the opposite way, move that one
    /// back instead (the first in its HashSet's iteration order).
    fn partition_to_move(&self, p: usize, topic: usize, old: usize, new: usize) -> usize {
        let Some(pairs) = self.by_topic.get(&topic) else {
            return p;
        };
        let old = self.by_partition.get(&p).map_or(old, |&(src, _)| src);
        pairs
            .get(&(new, old))
            .and_then(JavaOrderSet::first)
            .unwrap_or(p)
    }
}

/// Mutable state of `GeneralAssignmentBuilder`.
struct General<'i, 'm, 'a> {
    input: &'i StickyInput<'m, 'a>,
    /// `currentAssignment`; members removed as "fixed" are marked inactive.
    current: Vec<Vec<usize>>,
    active: Vec<bool>,
    /// `currentPartitionConsumer`
    owner: Vec<Option<usize>>,
    /// `sortedCurrentSubscriptions`: TreeSet ordered by (assignment size, member id).
    sorted: BTreeSet<(usize, usize)>,
    by_rank: Vec<usize>,
    /// `topic2AllPotentialConsumers`
    topic_consumers: Vec<Vec<usize>>,
    /// `getMaxAssignmentSize` per member.
    max_size: Vec<usize>,
    movements: Movements,
}

impl General<'_, '_, '_> {
    fn key(&self, c: usize) -> (usize, usize) {
        (self.current[c].len(), self.input.rank[c])
    }

    fn unsort(&mut self, c: usize) {
        let key = self.key(c);
        self.sorted.remove(&key);
    }

    fn resort(&mut self, c: usize) {
        let key = self.key(c);
        self.sorted.insert(key);
    }

    fn subscribes(&self, c: usize, topic: usize) -> bool {
        self.input.member_topics[c].contains(&topic)
    }

    fn size(&self, c: usize) -> usize {
        self.current[c].len()
    }

    /// `maybeAssignPartition`: give the partition to the least loaded subscribed member.
    fn assign_to_least_loaded(&mut self, p: usize) {
        let topic = self.input.topics.topic_of(p);
        let target = self
            .sorted
            .iter()
            .map(|&(_, r)| self.by_rank[r])
            .find(|&c| self.subscribes(c, topic));
        if let Some(c) = target {
            self.unsort(c);
            self.current[c].push(p);
            self.owner[p] = Some(c);
            self.resort(c);
        }
    }

    fn can_participate(&self, c: usize) -> bool {
        if self.size(c) < self.max_size[c] {
            return true;
        }
        self.current[c]
            .iter()
            .any(|&p| self.topic_consumers[self.input.topics.topic_of(p)].len() >= 2)
    }

    /// `isBalanced`: sizes differ by at most one, or no partition could move to a member
    /// with 2+ fewer partitions that is subscribed to its topic.
    fn is_balanced(&self) -> bool {
        let (Some(&(min, _)), Some(&(max, _))) = (self.sorted.first(), self.sorted.last()) else {
            return true;
        };
        if min + 1 >= max {
            return true;
        }
        let mut holder: Vec<Option<usize>> = vec![None; self.owner.len()];
        for (c, list) in self.current.iter().enumerate() {
            if self.active[c] {
                for &p in list {
                    holder[p] = Some(c);
                }
            }
        }
        let topics = &self.input.topics;
        for &(count, r) in &self.sorted {
            let c = self.by_rank[r];
            if count == self.max_size[c] {
                continue;
            }
            for &t in &self.input.member_topics[c] {
                let range = topics.offsets[t]..topics.offsets[t] + topics.counts[t];
                // A partition it lacks whose holder has 2+ more could move here.
                let movable = holder[range]
                    .iter()
                    .flatten()
                    .any(|&other| other != c && count + 1 < self.size(other));
                if movable {
                    return false;
                }
            }
        }
        true
    }

    /// Sum of |size_i - size_j| over all pairs of (active) members.
    fn balance_score(&self, lists: &[Vec<usize>]) -> usize {
        let sizes: Vec<usize> = lists
            .iter()
            .enumerate()
            .filter(|(c, _)| self.active[*c])
            .map(|(_, l)| l.len())
            .collect();
        let mut score = 0;
        for i in 0..sizes.len() {
            for j in i + 1..sizes.len() {
                score += sizes[i].abs_diff(sizes[j]);
            }
        }
        score
    }

    fn process_move(&mut self, p: usize, new: usize) {
        let Some(old) = self.owner[p] else {
            return;
        };
        if old == new {
            return;
        }
        self.unsort(old);
        self.unsort(new);
        let topic = self.input.topics.topic_of(p);
        let part_spread = self.input.topics.part_spread[p];
        self.movements
            .move_partition(p, topic, part_spread, old, new);
        remove_first(&mut self.current[old], p);
        self.current[new].push(p);
        self.owner[p] = Some(new);
        self.resort(new);
        self.resort(old);
    }

    fn reassign_to(&mut self, p: usize, new: usize) {
        let Some(old) = self.owner[p] else {
            return;
        };
        let topic = self.input.topics.topic_of(p);
        let actual = self.movements.partition_to_move(p, topic, old, new);
        self.process_move(actual, new);
    }

    /// `reassignPartition(partition)`: to the least loaded member subscribed to its topic.
    fn reassign(&mut self, p: usize) {
        let topic = self.input.topics.topic_of(p);
        let target = self
            .sorted
            .iter()
            .map(|&(_, r)| self.by_rank[r])
            .find(|&c| self.subscribes(c, topic));
        if let Some(new) = target {
            self.reassign_to(p, new);
        }
    }

    /// `performReassignments`: sweep the partitions, moving one whenever its holder has 2+
    /// more partitions than its previous owner (from an older generation) or than another
    /// potential consumer, until a sweep changes nothing or the assignment is balanced.
    ///
    /// Java's loop can run forever (the same flaw as librdkafka's port of this algorithm,
    /// confluentinc/librdkafka#4783). The loop is deterministic, so once the complete state at
    /// the start of a sweep repeats it can never end; stopping there (or after
    /// `MAX_SWEEPS`) changes nothing for any input on which Java returns.
    fn perform(&mut self, partitions: &[usize], prev: &BTreeMap<usize, (usize, i32)>) -> bool {
        let mut performed = false;
        let mut seen: BTreeSet<u64> = BTreeSet::new();
        for _ in 0..MAX_SWEEPS {
            if !seen.insert(self.state_fingerprint()) {
                return performed;
            }
            let mut modified = false;
            for &p in partitions {
                if self.is_balanced() {
                    break;
                }
                let Some(c) = self.owner[p] else {
                    continue;
                };
                if let Some(&(prev_owner, _)) = prev.get(&p) {
                    if self.active[prev_owner] && self.size(c) > self.size(prev_owner) + 1 {
                        self.reassign_to(p, prev_owner);
                        performed = true;
                        modified = true;
                        continue;
                    }
                }
                let topic = self.input.topics.topic_of(p);
                let movable = self.topic_consumers[topic]
                    .iter()
                    .any(|&o| self.active[o] && self.size(c) > self.size(o) + 1);
                if movable {
                    self.reassign(p);
                    performed = true;
                    modified = true;
                }
            }
            if !modified {
                return performed;
            }
        }
        performed
    }

    /// A hash of everything the next sweep depends on: each active member's list (in order)
    /// and the movement records, with each movement set reduced to the order its iterator
    /// would yield and its capacity.
    fn state_fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for (c, list) in self.current.iter().enumerate() {
            (self.active[c], list).hash(&mut h);
        }
        let mut moved: Vec<(&usize, &(usize, usize))> =
            self.movements.by_partition.iter().collect();
        sort::sort(&mut moved);
        moved.hash(&mut h);
        let mut sets: Vec<MovementSetKey> = Vec::new();
        for (&topic, pairs) in &self.movements.by_topic {
            for (&pair, set) in pairs {
                let mut items: Vec<&(usize, u32, u64)> = set.items.iter().collect();
                sort::sort_by_key(&mut items, |&&(_, s, seq)| (bucket(s, set.capacity), seq));
                sets.push((
                    topic,
                    pair,
                    set.capacity,
                    items.iter().map(|i| i.0).collect(),
                ));
            }
        }
        sort::sort(&mut sets);
        sets.hash(&mut h);
        h.finish()
    }
}

/// (topic, (source, destination), set capacity, partitions in iteration order)
type MovementSetKey = (usize, (usize, usize), usize, Vec<usize>);

/// Upper bound on `performReassignments` sweeps, far above what terminating inputs need;
/// only reached by inputs on which Java would not return.
const MAX_SWEEPS: usize = 10_000;

/// `GeneralAssignmentBuilder` (subscriptions differ).
fn general(
    input: &StickyInput<'_, '_>,
    owned: Vec<Vec<usize>>,
    max_generation: i32,
) -> Vec<Vec<usize>> {
    let members = input.members;
    let topics = &input.topics;
    let n_members = members.len();
    let n_parts = topics.parts.len();

    let mut topic_consumers: Vec<Vec<usize>> = vec![Vec::new(); topics.names.len()];
    for &mi in &input.order {
        for &t in &input.member_topics[mi] {
            topic_consumers[t].push(mi);
        }
    }
    let max_size = input
        .member_topics
        .iter()
        .map(|ts| {
            if ts.len() == topics.names.len() {
                n_parts
            } else {
                ts.iter().map(|&t| topics.counts[t]).sum()
            }
        })
        .collect();
    let mut by_rank = vec![0usize; n_members];
    for (mi, &r) in input.rank.iter().enumerate() {
        by_rank[r] = mi;
    }
    let mut owner: Vec<Option<usize>> = vec![None; n_parts];
    for (mi, list) in owned.iter().enumerate() {
        for &p in list {
            owner[p] = Some(mi);
        }
    }
    // sortedAllPartitions: topics by (number of potential consumers, name).
    let mut topic_order: Vec<usize> = (0..topics.names.len()).collect();
    sort::sort_by(&mut topic_order, |&a, &b| {
        topic_consumers[a]
            .len()
            .cmp(&topic_consumers[b].len())
            .then_with(|| java_cmp(&topics.names[a], &topics.names[b]))
    });
    let mut sorted_all: Vec<usize> = topic_order
        .iter()
        .flat_map(|&t| topics.offsets[t]..topics.offsets[t] + topics.counts[t])
        .collect();

    // prepopulateCurrentAssignments: the latest earlier-generation owner of each partition.
    let mut prev: BTreeMap<usize, (usize, i32)> = BTreeMap::new();
    for &mi in &input.order {
        let generation = members[mi].generation;
        if generation < max_generation {
            for &p in &input.data[mi] {
                match prev.get(&p) {
                    Some(&(_, g)) if generation <= g => {}
                    _ => {
                        prev.insert(p, (mi, generation));
                    }
                }
            }
        }
    }

    let mut state = General {
        input,
        current: owned,
        active: vec![true; n_members],
        owner,
        sorted: BTreeSet::new(),
        by_rank,
        topic_consumers,
        max_size,
        movements: Movements {
            by_partition: BTreeMap::new(),
            by_topic: BTreeMap::new(),
        },
    };

    // assignOwnedPartitions: drop owned partitions of topics the member no longer wants.
    let mut revocation_required = false;
    let mut assigned: BTreeSet<usize> = BTreeSet::new();
    for mi in 0..n_members {
        let subscribed: Vec<usize> = input.member_topics[mi].clone();
        state.current[mi].retain(|&p| {
            let keep = subscribed.contains(&topics.topic_of(p));
            if keep {
                assigned.insert(p);
            } else {
                revocation_required = true;
            }
            keep
        });
    }
    let mut unassigned: Vec<usize> = sorted_all
        .iter()
        .copied()
        .filter(|p| !assigned.contains(p))
        .collect();
    for mi in 0..n_members {
        state.resort(mi);
    }

    // balance()
    let initializing = state.sorted.last().is_none_or(|&(size, _)| size == 0);
    for &p in &unassigned {
        if !state.topic_consumers[topics.topic_of(p)].is_empty() {
            state.assign_to_least_loaded(p);
        }
    }
    let reassignable = |p: &usize| state.topic_consumers[topics.topic_of(*p)].len() >= 2;
    sorted_all.retain(reassignable);
    unassigned.retain(reassignable);
    let mut fixed: Vec<usize> = Vec::new();
    for mi in 0..n_members {
        if !state.can_participate(mi) {
            state.unsort(mi);
            state.active[mi] = false;
            fixed.push(mi);
        }
    }
    let pre_balance = state.current.clone();
    let pre_owner = state.owner.clone();
    if !revocation_required {
        state.perform(&unassigned, &prev);
    }
    let performed = state.perform(&sorted_all, &prev);
    if !initializing
        && performed
        && state.balance_score(&state.current) >= state.balance_score(&pre_balance)
    {
        for (mi, list) in pre_balance.into_iter().enumerate() {
            if state.active[mi] {
                state.current[mi] = list;
            }
        }
        state.owner = pre_owner;
    }
    for mi in fixed {
        state.active[mi] = true;
    }
    state.current
}

/// `computePartitionsTransferringOwnership` for the general path: partitions newly given to
/// a member that some member (per its subscription's owned list) is giving up.
fn computed_transfers(input: &StickyInput<'_, '_>, lists: &[Vec<usize>]) -> BTreeMap<usize, usize> {
    let mut added: BTreeMap<usize, usize> = BTreeMap::new();
    let mut revoked: BTreeSet<usize> = BTreeSet::new();
    for (mi, list) in lists.iter().enumerate() {
        let owned: BTreeSet<usize> = input.members[mi]
            .owned
            .iter()
            .filter_map(|(t, p)| input.topics.index(t, *p))
            .collect();
        let assigned: BTreeSet<usize> = list.iter().copied().collect();
        for &p in list {
            if !owned.contains(&p) {
                added.insert(p, mi);
            }
        }
        revoked.extend(owned.difference(&assigned).copied());
    }
    added.retain(|p, _| revoked.contains(p));
    added
}
