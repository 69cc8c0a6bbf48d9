//! Kafka's classic, client-side consumer partition assignors, reproduced exactly.
//!
//! The lab has to show the *same* assignment a real Java consumer group leader would
//! compute, not merely "a" valid one, so this module restates the algorithms of
//! `RangeAssignor`, `RoundRobinAssignor`, `StickyAssignor` and `CooperativeStickyAssignor`
//! (with their shared `AbstractPartitionAssignor` / `AbstractStickyAssignor` logic) from
//! apache/kafka's `clients` module, including the incidental details the results depend on:
//!
//! * `MemberInfo` ordering (static members first, by `group.instance.id`, then by member id);
//! * `java.util.HashMap` iteration order wherever the Java code walks a hash map or hash
//!   set (member ids, topic names, `TopicPartition` sets), emulated from `String.hashCode`,
//!   the `h ^ (h >>> 16)` spread and the table capacity the map would have;
//! * `String.compareTo` ordering (UTF-16 code units), `TreeSet` comparators and sort keys.
//!
//! Input is what the group leader sees: each member's subscription, plus (for the sticky
//! family) what it owned before and in which generation. Output maps every member to its
//! partitions, in the order the Java assignor produces them.
//!
//! Deliberate deviations from the Java code (all in situations where Java would throw,
//! loop forever, or produce an invalid assignment from malformed input):
//! * owned partitions whose number is not below the topic's current partition count are
//!   ignored (Java keeps them and its bookkeeping then goes wrong or throws);
//! * where Java would hit a `NullPointerException` or `IllegalStateException` the step is
//!   skipped instead;
//! * the general sticky path's balancing loop, which in Java can run forever on some inputs,
//!   stops as soon as it revisits a state (so it only differs where Java never returns);
//! * the sticky assignors' "max generation seen" is computed per call, whereas a Java
//!   assignor instance keeps the maximum across calls;
//! * `java.util.HashMap` bins that Java turns into trees (9+ colliding keys in a table of
//!   64+ buckets) are iterated in insertion order, not in Java's tree-bin order;
//! * duplicate member ids behave like repeated `HashMap.put`: the first occurrence fixes
//!   the position, the last one supplies the subscription.

use super::sort;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

mod sticky;
use sticky::sticky;

/// A classic-protocol partition assignment strategy (`partition.assignment.strategy`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Strategy {
    /// `RangeAssignor` ("range"): per topic, contiguous ranges handed out in member order.
    Range,
    /// `RoundRobinAssignor` ("roundrobin"): all partitions dealt one by one around the members.
    RoundRobin,
    /// `StickyAssignor` ("sticky"): balanced and sticky, eager rebalance protocol only.
    Sticky,
    /// `CooperativeStickyAssignor` ("cooperative-sticky"): the sticky algorithm, but partitions
    /// that change owner are withheld until their previous owner has revoked them.
    CooperativeSticky,
}

impl Strategy {
    /// The name the assignor reports to the group coordinator (`ConsumerPartitionAssignor.name()`).
    pub fn kafka_name(self) -> &'static str {
        match self {
            Strategy::Range => "range",
            Strategy::RoundRobin => "roundrobin",
            Strategy::Sticky => "sticky",
            Strategy::CooperativeSticky => "cooperative-sticky",
        }
    }

    /// Parses a protocol name or the Java class name used in `partition.assignment.strategy`
    /// (fully qualified or simple), so configs copied from real clients work unchanged.
    pub fn from_kafka_name(name: &str) -> Option<Strategy> {
        let name = name.trim();
        let simple = name
            .strip_prefix("org.apache.kafka.clients.consumer.")
            .unwrap_or(name);
        match simple {
            "range" | "RangeAssignor" => Some(Strategy::Range),
            "roundrobin" | "RoundRobinAssignor" => Some(Strategy::RoundRobin),
            "sticky" | "StickyAssignor" => Some(Strategy::Sticky),
            "cooperative-sticky" | "CooperativeStickyAssignor" => Some(Strategy::CooperativeSticky),
            _ => None,
        }
    }

    /// The Java class a client names in `partition.assignment.strategy`.
    pub fn java_class(self) -> &'static str {
        match self {
            Strategy::Range => "org.apache.kafka.clients.consumer.RangeAssignor",
            Strategy::RoundRobin => "org.apache.kafka.clients.consumer.RoundRobinAssignor",
            Strategy::Sticky => "org.apache.kafka.clients.consumer.StickyAssignor",
            Strategy::CooperativeSticky => {
                "org.apache.kafka.clients.consumer.CooperativeStickyAssignor"
            }
        }
    }

    /// Whether the assignor lists `COOPERATIVE` among its supported rebalance protocols;
    /// only `CooperativeStickyAssignor` does (all of them support `EAGER`).
    pub fn supports_cooperative(self) -> bool {
        matches!(self, Strategy::CooperativeSticky)
    }
}

/// A classic rebalance protocol (`ConsumerPartitionAssignor.RebalanceProtocol`); ordered so
/// that the "highest" protocol compares greatest, as in Java's enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// Every member revokes everything before rejoining.
    Eager,
    /// Members keep what they own; moved partitions are revoked first and reassigned in a
    /// follow-up rebalance.
    Cooperative,
}

/// The protocol a consumer uses, chosen as `ConsumerCoordinator` does: the highest protocol
/// supported by *all* configured assignors. So the default `[Range, CooperativeSticky]` is
/// eager, and only `[CooperativeSticky]` alone is cooperative. Java leaves the protocol unset
/// for an empty list; here that case answers `Eager`, the protocol every assignor supports.
pub fn rebalance_protocol(strategies: &[Strategy]) -> Protocol {
    if !strategies.is_empty() && strategies.iter().all(|s| s.supports_cooperative()) {
        Protocol::Cooperative
    } else {
        Protocol::Eager
    }
}

/// One member's join-group subscription as the group leader's assignor sees it.
#[derive(Clone, Debug)]
pub struct Subscription {
    /// The coordinator-assigned member id (the key of the Java subscriptions map).
    pub member_id: String,
    /// `group.instance.id` for static members; it takes precedence in `MemberInfo` ordering.
    pub group_instance_id: Option<String>,
    /// Subscribed topic names, in the member's order (the order matters nowhere but is kept).
    pub topics: Vec<String>,
    /// What the member owns now. The sticky family uses it as the previous assignment
    /// (eager `StickyAssignor` reads it from user data, the cooperative one from the
    /// subscription); range and round-robin ignore it.
    pub owned: Vec<(String, u32)>,
    /// The generation of that ownership; `None` (or a negative value) means unknown, which
    /// Kafka treats as the lowest possible generation (-1).
    pub generation: Option<i32>,
}

/// Computes the assignment `strategy` produces for `members`, given the partition count of
/// each topic known to the cluster metadata.
///
/// Like `AbstractPartitionAssignor`, topics nobody subscribes to, topics missing from
/// `partitions_per_topic` and topics with 0 partitions are ignored. Every member appears in
/// the result, possibly with an empty list; no members gives an empty map.
pub fn assign(
    strategy: Strategy,
    partitions_per_topic: &BTreeMap<String, u32>,
    members: &[Subscription],
) -> BTreeMap<String, Vec<(String, u32)>> {
    let members = dedup_members(members);
    if members.is_empty() {
        return BTreeMap::new();
    }
    let lists = match strategy {
        Strategy::Range => range(partitions_per_topic, &members),
        Strategy::RoundRobin => round_robin(partitions_per_topic, &members),
        Strategy::Sticky | Strategy::CooperativeSticky => {
            sticky(strategy, partitions_per_topic, &members)
        }
    };
    members
        .iter()
        .zip(lists)
        .map(|(m, list)| (m.id.to_string(), list))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Java emulation helpers
// ---------------------------------------------------------------------------------------

/// `String.hashCode()`: computed over UTF-16 code units with wrapping 32-bit arithmetic.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(i32::from(u)))
}

/// `TopicPartition.hashCode()`: `31 * (31 + partition) + topic.hashCode()`.
fn topic_partition_hash(topic_hash: i32, partition: u32) -> i32 {
    31i32
        .wrapping_add(partition as i32)
        .wrapping_mul(31)
        .wrapping_add(topic_hash)
}

/// `HashMap.hash()`: folds the high half into the low half before bucket masking.
fn spread(hash: i32) -> u32 {
    let h = hash as u32;
    h ^ (h >> 16)
}

/// `String.compareTo`: lexicographic over UTF-16 code units (differs from Rust's UTF-8 byte
/// order for supplementary characters).
fn java_cmp(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// How a Java hash map was filled, which decides the order of keys sharing a bin.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fill {
    /// `put` / `HashSet.add`: appends to the bin, resizes after the size passes 3/4 of the
    /// capacity, and resizes instead of treeifying when a 9th key joins a bin of a table
    /// smaller than 64 buckets.
    Put,
    /// `computeIfAbsent`: prepends to the bin, resizes lazily at the start of the *next*
    /// call once the size has passed 3/4 of the capacity, and treats an 8th key in a bin
    /// like `put` treats a 9th.
    ComputeIfAbsent,
}

fn bucket(spread: u32, capacity: usize) -> usize {
    (spread as usize) & (capacity - 1)
}

/// Iteration order of a `new HashMap<>()` (or `HashSet`) after the given sequence of calls,
/// each naming a key (an id) and its `hashCode()`; repeated keys are calls on existing keys.
/// Returns the distinct key ids in iteration order: by bucket of the final table, and within
/// a bucket by insertion order (`Put`) or reverse insertion order (`ComputeIfAbsent`), since
/// Java keeps the relative order of a bin's nodes when it splits them on resize.
fn java_hash_order(calls: &[(usize, i32)], fill: Fill) -> Vec<usize> {
    let mut capacity = 16usize;
    let mut keys: Vec<(usize, u32)> = Vec::new();
    let mut present: BTreeSet<usize> = BTreeSet::new();
    let mut bins: BTreeMap<usize, usize> = BTreeMap::new();
    for &(key, hash) in calls {
        let s = spread(hash);
        let mut resized = false;
        if fill == Fill::ComputeIfAbsent && keys.len() > capacity / 4 * 3 {
            capacity *= 2;
            resized = true;
        }
        if resized {
            bins = keys.iter().fold(BTreeMap::new(), |mut b, &(_, t)| {
                *b.entry(bucket(t, capacity)).or_insert(0) += 1;
                b
            });
            resized = false;
        }
        if !present.insert(key) {
            continue;
        }
        let existing = bins.get(&bucket(s, capacity)).copied().unwrap_or(0);
        *bins.entry(bucket(s, capacity)).or_insert(0) += 1;
        keys.push((key, s));
        let treeify_at = if fill == Fill::Put { 8 } else { 7 };
        if existing >= treeify_at && capacity < 64 {
            capacity *= 2;
            resized = true;
        }
        if fill == Fill::Put && keys.len() > capacity / 4 * 3 {
            capacity *= 2;
            resized = true;
        }
        if resized {
            bins = keys.iter().fold(BTreeMap::new(), |mut b, &(_, t)| {
                *b.entry(bucket(t, capacity)).or_insert(0) += 1;
                b
            });
        }
    }
    let mut order: Vec<usize> = (0..keys.len()).collect();
    match fill {
        Fill::Put => sort::sort_by_key(&mut order, |&i| (bucket(keys[i].1, capacity), i)),
        Fill::ComputeIfAbsent => sort::sort_by_key(&mut order, |&i| {
            (bucket(keys[i].1, capacity), std::cmp::Reverse(i))
        }),
    }
    order.into_iter().map(|i| keys[i].0).collect()
}

/// The order a `java.util.HashMap<String, _>` iterates, after `put`s of these keys in this
/// order (repeats are ignored): indices into `keys`. The group coordinator keeps its members
/// in such a map, and Kafka picks a new leader by its iteration order.
pub fn java_hashmap_order(keys: &[&str]) -> Vec<usize> {
    let calls: Vec<(usize, i32)> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            (
                keys.iter().position(|o| o == k).unwrap_or(i),
                java_string_hash(k),
            )
        })
        .collect();
    java_hash_order(&calls, Fill::Put)
}

/// Iteration order of a map filled by `put` with these distinct keys' hashes, in order.
fn java_put_order(hashes: &[i32]) -> Vec<usize> {
    let calls: Vec<(usize, i32)> = hashes.iter().copied().enumerate().collect();
    java_hash_order(&calls, Fill::Put)
}

/// A `java.util.HashSet` of partition indices whose only observable property here is which
/// element its iterator yields first; insertion sequence numbers reproduce bin order.
struct JavaOrderSet {
    items: Vec<(usize, u32, u64)>,
    capacity: usize,
    next_seq: u64,
}

impl JavaOrderSet {
    fn new() -> Self {
        JavaOrderSet {
            items: Vec::new(),
            capacity: 16,
            next_seq: 0,
        }
    }

    fn insert(&mut self, item: usize, item_spread: u32) {
        if self.items.iter().any(|&(i, _, _)| i == item) {
            return;
        }
        let b = bucket(item_spread, self.capacity);
        let existing = self
            .items
            .iter()
            .filter(|&&(_, s, _)| bucket(s, self.capacity) == b)
            .count();
        self.items.push((item, item_spread, self.next_seq));
        self.next_seq += 1;
        if existing >= 8 && self.capacity < 64 {
            self.capacity *= 2;
        }
        if self.items.len() > self.capacity / 4 * 3 {
            self.capacity *= 2;
        }
    }

    fn remove(&mut self, item: usize) {
        self.items.retain(|&(i, _, _)| i != item);
    }

    fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn first(&self) -> Option<usize> {
        self.items
            .iter()
            .min_by_key(|&&(_, s, seq)| (bucket(s, self.capacity), seq))
            .map(|&(i, _, _)| i)
    }
}

// ---------------------------------------------------------------------------------------
// Shared member model
// ---------------------------------------------------------------------------------------

/// A member after de-duplication, borrowing from the caller's subscription.
struct Member<'a> {
    id: &'a str,
    instance: Option<&'a str>,
    topics: &'a [String],
    owned: &'a [(String, u32)],
    /// Generation with "unknown" and negatives folded to Kafka's DEFAULT_GENERATION (-1).
    generation: i32,
}

/// Emulates building the Java subscriptions map with `put` in join order: a repeated id
/// keeps its first position and takes the later subscription.
fn dedup_members(members: &[Subscription]) -> Vec<Member<'_>> {
    let mut out: Vec<Member<'_>> = Vec::new();
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for s in members {
        let m = Member {
            id: &s.member_id,
            instance: s.group_instance_id.as_deref(),
            topics: &s.topics,
            owned: &s.owned,
            generation: s.generation.filter(|g| *g >= 0).unwrap_or(-1),
        };
        match index.get(s.member_id.as_str()) {
            Some(&i) => out[i] = m,
            None => {
                index.insert(&s.member_id, out.len());
                out.push(m);
            }
        }
    }
    out
}

/// Iteration order of the Java subscriptions `HashMap` (keyed by member id).
fn member_hash_order(members: &[Member<'_>]) -> Vec<usize> {
    let hashes: Vec<i32> = members.iter().map(|m| java_string_hash(m.id)).collect();
    java_put_order(&hashes)
}

/// `AbstractPartitionAssignor.MemberInfo.compareTo`: static members first (by instance id),
/// then dynamic members by member id.
fn member_info_cmp(a: &Member<'_>, b: &Member<'_>) -> Ordering {
    match (a.instance, b.instance) {
        (Some(x), Some(y)) => java_cmp(x, y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => java_cmp(a.id, b.id),
    }
}

/// Members sorted by `MemberInfo` order; the sort is stable over the HashMap order the Java
/// code collects them in, which only matters for (invalid) duplicate instance ids.
fn member_info_order(members: &[Member<'_>]) -> Vec<usize> {
    let mut order = member_hash_order(members);
    sort::sort_by(&mut order, |&a, &b| {
        member_info_cmp(&members[a], &members[b])
    });
    order
}

/// The partition count the assignors see for a subscribed topic (0 = skip the topic).
fn partition_count(partitions_per_topic: &BTreeMap<String, u32>, topic: &str) -> u32 {
    partitions_per_topic.get(topic).copied().unwrap_or(0)
}

// ---------------------------------------------------------------------------------------
// RangeAssignor
// ---------------------------------------------------------------------------------------

/// `RangeAssignor` without rack awareness. Topics are processed in the iteration order of
/// the `partitionsPerTopic` HashMap that `AbstractPartitionAssignor.assign` builds (from the
/// `allSubscribedTopics` HashSet), so each member's list is grouped by topic in exactly the
/// order a Java leader produces, ascending within a topic.
fn range(
    partitions_per_topic: &BTreeMap<String, u32>,
    members: &[Member<'_>],
) -> Vec<Vec<(String, u32)>> {
    let hash_order = member_hash_order(members);
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut subscribed: Vec<&str> = Vec::new();
    for &mi in &hash_order {
        for t in members[mi].topics {
            if seen.insert(t) {
                subscribed.push(t);
            }
        }
    }
    let set_hashes: Vec<i32> = subscribed.iter().map(|t| java_string_hash(t)).collect();
    let with_metadata: Vec<&str> = java_put_order(&set_hashes)
        .into_iter()
        .map(|i| subscribed[i])
        .filter(|t| partition_count(partitions_per_topic, t) > 0)
        .collect();
    let map_hashes: Vec<i32> = with_metadata.iter().map(|t| java_string_hash(t)).collect();
    let topic_order: Vec<&str> = java_put_order(&map_hashes)
        .into_iter()
        .map(|i| with_metadata[i])
        .collect();

    let mut out: Vec<Vec<(String, u32)>> = vec![Vec::new(); members.len()];
    for topic in topic_order {
        let n = partition_count(partitions_per_topic, topic) as usize;
        // consumersPerTopic: one entry per occurrence of the topic, in HashMap order, then a
        // stable MemberInfo sort and a LinkedHashMap that keeps each member's first entry.
        let mut consumers: Vec<usize> = Vec::new();
        for &mi in &hash_order {
            for t in members[mi].topics {
                if t == topic {
                    consumers.push(mi);
                }
            }
        }
        sort::sort_by(&mut consumers, |&a, &b| {
            member_info_cmp(&members[a], &members[b])
        });
        let mut distinct: BTreeSet<usize> = BTreeSet::new();
        consumers.retain(|mi| distinct.insert(*mi));
        if consumers.is_empty() {
            continue;
        }
        let per_consumer = n / consumers.len();
        let with_extra = n % consumers.len();
        let mut next = 0usize;
        for (k, &mi) in consumers.iter().enumerate() {
            let take = per_consumer + usize::from(k < with_extra);
            for p in next..(next + take).min(n) {
                out[mi].push((topic.to_string(), p as u32));
            }
            next += take;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// RoundRobinAssignor
// ---------------------------------------------------------------------------------------

/// `RoundRobinAssignor`: partitions of all subscribed topics (sorted by name, then ascending)
/// are dealt around the members in `MemberInfo` order, skipping members not subscribed to the
/// partition's topic.
fn round_robin(
    partitions_per_topic: &BTreeMap<String, u32>,
    members: &[Member<'_>],
) -> Vec<Vec<(String, u32)>> {
    let circle = member_info_order(members);
    let mut topics: Vec<&str> = members
        .iter()
        .flat_map(|m| m.topics.iter().map(String::as_str))
        .collect();
    sort::sort_by(&mut topics, |a, b| java_cmp(a, b));
    topics.dedup();

    let mut out: Vec<Vec<(String, u32)>> = vec![Vec::new(); members.len()];
    let mut pos = 0usize;
    for topic in topics {
        for p in 0..partition_count(partitions_per_topic, topic) {
            // Every topic here has a subscriber, so this finds one within one lap.
            let mut steps = 0usize;
            while !members[circle[pos]].topics.iter().any(|t| t == topic) {
                pos = (pos + 1) % circle.len();
                steps += 1;
                if steps > circle.len() {
                    break;
                }
            }
            out[circle[pos]].push((topic.to_string(), p));
            pos = (pos + 1) % circle.len();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, topics: &[&str]) -> Subscription {
        Subscription {
            member_id: id.to_string(),
            group_instance_id: None,
            topics: topics.iter().map(|t| t.to_string()).collect(),
            owned: Vec::new(),
            generation: None,
        }
    }

    fn owning(mut m: Subscription, owned: &[(&str, u32)], generation: i32) -> Subscription {
        m.owned = owned.iter().map(|(t, p)| (t.to_string(), *p)).collect();
        m.generation = Some(generation);
        m
    }

    fn static_member(id: &str, instance: &str, topics: &[&str]) -> Subscription {
        let mut m = member(id, topics);
        m.group_instance_id = Some(instance.to_string());
        m
    }

    fn topics(spec: &[(&str, u32)]) -> BTreeMap<String, u32> {
        spec.iter().map(|(t, n)| (t.to_string(), *n)).collect()
    }

    fn tps(spec: &[(&str, u32)]) -> Vec<(String, u32)> {
        spec.iter().map(|(t, p)| (t.to_string(), *p)).collect()
    }

    fn ids(members: &[Subscription]) -> Vec<String> {
        let deduped = dedup_members(members);
        member_info_order(&deduped)
            .into_iter()
            .map(|i| deduped[i].id.to_string())
            .collect()
    }

    #[test]
    fn java_string_hash_matches_known_values() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        // "hello".hashCode() == 99162322 in Java.
        assert_eq!(java_string_hash("hello"), 99_162_322);
        // Overflow wraps like Java int arithmetic: "polygenelubricants".hashCode() == Integer.MIN_VALUE.
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
    }

    #[test]
    fn java_hashmap_order_of_three_consumers() {
        let keys = ["consumer1", "consumer2", "consumer3"];
        let hashes: Vec<i32> = keys.iter().map(|k| java_string_hash(k)).collect();
        let order: Vec<&str> = java_put_order(&hashes)
            .into_iter()
            .map(|i| keys[i])
            .collect();
        assert_eq!(order, ["consumer3", "consumer2", "consumer1"]);
    }

    #[test]
    fn java_hashmap_capacity_and_bin_order() {
        // Hash 16 shares bucket 0 with hash 0 in a 16-bucket table, but not in 32 buckets.
        let twelve: Vec<i32> = (0..11).chain([16]).collect();
        assert_eq!(
            java_put_order(&twelve),
            [0, 11, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
        );
        // The 13th key pushes the size past 12, so the table doubles to 32 buckets.
        let thirteen: Vec<i32> = (0..12).chain([16]).collect();
        assert_eq!(java_put_order(&thirteen), (0..13).collect::<Vec<_>>());
        // computeIfAbsent puts a new key at the head of its bin.
        let calls = [(0, 0), (1, 16), (0, 0)];
        assert_eq!(java_hash_order(&calls, Fill::ComputeIfAbsent), [1, 0]);
        assert_eq!(java_hash_order(&calls, Fill::Put), [0, 1]);
        // Nine keys in one bin of a 16-bucket table force a resize instead of a tree bin.
        let nine: Vec<i32> = (0..9).map(|i| i * 16).collect();
        assert_eq!(java_put_order(&nine), [0, 2, 4, 6, 8, 1, 3, 5, 7]);
    }

    #[test]
    fn member_info_ordering_examples() {
        let plain = [member("a", &[]), member("b", &[]), member("c", &[])];
        assert_eq!(ids(&plain), ["a", "b", "c"]);
        let all_static = [
            static_member("a", "y", &[]),
            static_member("b", "z", &[]),
            static_member("c", "x", &[]),
        ];
        assert_eq!(ids(&all_static), ["c", "a", "b"]);
        let some_static = [
            member("a", &[]),
            static_member("b", "y", &[]),
            static_member("c", "x", &[]),
        ];
        assert_eq!(ids(&some_static), ["c", "b", "a"]);
    }

    #[test]
    fn names_and_protocols() {
        for s in [
            Strategy::Range,
            Strategy::RoundRobin,
            Strategy::Sticky,
            Strategy::CooperativeSticky,
        ] {
            assert_eq!(Strategy::from_kafka_name(s.kafka_name()), Some(s));
        }
        assert_eq!(
            Strategy::from_kafka_name(
                "org.apache.kafka.clients.consumer.CooperativeStickyAssignor"
            ),
            Some(Strategy::CooperativeSticky)
        );
        assert_eq!(
            Strategy::from_kafka_name("org.apache.kafka.clients.consumer.RangeAssignor"),
            Some(Strategy::Range)
        );
        assert_eq!(Strategy::from_kafka_name("uniform"), None);
        assert_eq!(
            rebalance_protocol(&[Strategy::Range, Strategy::CooperativeSticky]),
            Protocol::Eager
        );
        assert_eq!(
            rebalance_protocol(&[Strategy::CooperativeSticky]),
            Protocol::Cooperative
        );
        assert_eq!(rebalance_protocol(&[Strategy::Sticky]), Protocol::Eager);
    }

    #[test]
    fn range_javadoc_example() {
        let got = assign(
            Strategy::Range,
            &topics(&[("t0", 3), ("t1", 3)]),
            &[member("C0", &["t0", "t1"]), member("C1", &["t0", "t1"])],
        );
        assert_eq!(
            got["C0"],
            tps(&[("t0", 0), ("t0", 1), ("t1", 0), ("t1", 1)])
        );
        assert_eq!(got["C1"], tps(&[("t0", 2), ("t1", 2)]));
    }

    #[test]
    fn round_robin_javadoc_examples() {
        let got = assign(
            Strategy::RoundRobin,
            &topics(&[("t0", 3), ("t1", 3)]),
            &[member("C0", &["t0", "t1"]), member("C1", &["t0", "t1"])],
        );
        assert_eq!(got["C0"], tps(&[("t0", 0), ("t0", 2), ("t1", 1)]));
        assert_eq!(got["C1"], tps(&[("t0", 1), ("t1", 0), ("t1", 2)]));

        let got = assign(
            Strategy::RoundRobin,
            &topics(&[("t0", 1), ("t1", 2), ("t2", 3)]),
            &[
                member("C0", &["t0"]),
                member("C1", &["t0", "t1"]),
                member("C2", &["t0", "t1", "t2"]),
            ],
        );
        assert_eq!(got["C0"], tps(&[("t0", 0)]));
        assert_eq!(got["C1"], tps(&[("t1", 0)]));
        assert_eq!(
            got["C2"],
            tps(&[("t1", 1), ("t2", 0), ("t2", 1), ("t2", 2)])
        );
    }

    #[test]
    fn sticky_javadoc_example_two() {
        let spec = topics(&[("t0", 1), ("t1", 2), ("t2", 3)]);
        let got = assign(
            Strategy::Sticky,
            &spec,
            &[
                member("C0", &["t0"]),
                member("C1", &["t0", "t1"]),
                member("C2", &["t0", "t1", "t2"]),
            ],
        );
        assert_eq!(got["C0"], tps(&[("t0", 0)]));
        assert_eq!(got["C1"], tps(&[("t1", 0), ("t1", 1)]));
        assert_eq!(got["C2"], tps(&[("t2", 0), ("t2", 1), ("t2", 2)]));

        // C0 leaves; the others report what they own, generation 1.
        let got = assign(
            Strategy::Sticky,
            &spec,
            &[
                owning(member("C1", &["t0", "t1"]), &[("t1", 0), ("t1", 1)], 1),
                owning(
                    member("C2", &["t0", "t1", "t2"]),
                    &[("t2", 0), ("t2", 1), ("t2", 2)],
                    1,
                ),
            ],
        );
        assert_eq!(got["C1"], tps(&[("t1", 0), ("t1", 1), ("t0", 0)]));
        assert_eq!(got["C2"], tps(&[("t2", 0), ("t2", 1), ("t2", 2)]));
    }

    #[test]
    fn same_generation_double_claim_eager_vs_cooperative() {
        let spec = topics(&[("t", 3)]);
        let members = [
            owning(member("consumer1", &["t"]), &[("t", 0), ("t", 1)], 1),
            owning(member("consumer2", &["t"]), &[("t", 0), ("t", 2)], 1),
            owning(member("consumer3", &["t"]), &[], 1),
        ];
        let eager = assign(Strategy::Sticky, &spec, &members);
        assert_eq!(eager["consumer1"], tps(&[("t", 1)]));
        assert_eq!(eager["consumer2"], tps(&[("t", 2)]));
        assert_eq!(eager["consumer3"], tps(&[("t", 0)]));
        // The cooperative assignor withholds t-0 until both claimants have revoked it.
        let cooperative = assign(Strategy::CooperativeSticky, &spec, &members);
        assert!(cooperative["consumer3"].is_empty());
    }

    #[test]
    fn hashmap_order_decides_who_keeps_max_quota() {
        // 4 partitions over 3 members: one may keep 2. consumer2 comes before consumer1 in
        // Java's HashMap order, so consumer2 keeps both of its partitions.
        let spec = topics(&[("topic1", 2), ("topic2", 2)]);
        let all = ["topic1", "topic2"];
        let members = [
            owning(
                member("consumer1", &all),
                &[("topic1", 0), ("topic2", 0)],
                1,
            ),
            owning(
                member("consumer2", &all),
                &[("topic1", 1), ("topic2", 1)],
                1,
            ),
            owning(member("consumer3", &all), &[], 1),
        ];
        let got = assign(Strategy::Sticky, &spec, &members);
        assert_eq!(got["consumer1"], tps(&[("topic1", 0)]));
        assert_eq!(got["consumer2"], tps(&[("topic1", 1), ("topic2", 1)]));
        assert_eq!(got["consumer3"], tps(&[("topic2", 0)]));
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        let spec = topics(&[("t", 4), ("empty", 0)]);
        for s in [
            Strategy::Range,
            Strategy::RoundRobin,
            Strategy::Sticky,
            Strategy::CooperativeSticky,
        ] {
            assert!(assign(s, &spec, &[]).is_empty());
            let weird = [
                owning(
                    member("a", &["t", "t", "missing", "empty"]),
                    &[("t", 0), ("t", 0), ("t", 99), ("missing", 1)],
                    7,
                ),
                owning(member("a", &["t"]), &[("t", 1)], -5),
                member("b", &[]),
                owning(member("c", &["t"]), &[("t", 1), ("t", 2)], 7),
            ];
            let got = assign(s, &spec, &weird);
            assert_eq!(got.len(), 3);
            let mut seen = BTreeSet::new();
            for list in got.values() {
                for tp in list {
                    assert!(seen.insert(tp.clone()), "{s:?} assigned {tp:?} twice");
                }
            }
        }
    }

    #[test]
    fn sixty_four_partitions_sixteen_members_is_fast() {
        let spec = topics(&[("a", 40), ("b", 24)]);
        let mut members: Vec<Subscription> = (0..16)
            .map(|i| {
                let subs: &[&str] = if i % 3 == 0 { &["a"] } else { &["a", "b"] };
                member(&format!("member-{i}"), subs)
            })
            .collect();
        let first = assign(Strategy::Sticky, &spec, &members);
        for m in &mut members {
            m.owned = first[&m.member_id].clone();
            m.generation = Some(1);
        }
        members.remove(5);
        for s in [
            Strategy::Sticky,
            Strategy::CooperativeSticky,
            Strategy::Range,
        ] {
            let got = assign(s, &spec, &members);
            assert_eq!(got.len(), 15);
        }
    }
}
