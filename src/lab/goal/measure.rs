//! Measures: what a goal reads from a run (the read model's numbers, counts of events
//! by kind, settings), and the [`Tracker`] that counts events as they happen.

use super::*;

/// Counts events by kind as they come (from a cursor), so the page's checklist and
/// narration read new events only, once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tracker {
    cursor: u64,
    counts: VecMap<(&'static str, Option<GroupId>), u64>,
    /// Events that name a partition, by (kind, topic, partition).
    on_partition: VecMap<(&'static str, TopicId, u32), u64>,
    first: VecMap<&'static str, u64>,
}

impl Tracker {
    /// Reads the events since the last update.
    pub fn update(&mut self, sim: &Sim) {
        // Time went back (a seek, a reset): count again from the start.
        if sim.event_count() < self.cursor {
            *self = Tracker::default();
        }
        let Tracker {
            cursor,
            counts,
            on_partition,
            first,
        } = self;
        *cursor = view::visit_events_since(sim, *cursor, |e| {
            let kind = e.kind().name();
            *counts.entry((kind, None)).or_insert(0) += 1;
            if let Event::RecordAppended { tp, .. } = e {
                *on_partition
                    .entry((kind, tp.topic, tp.partition.0))
                    .or_insert(0) += 1;
            }
            if let Event::Group { group, .. } = e {
                *counts.entry((kind, Some(*group))).or_insert(0) += 1;
            }
            first.entry(kind).or_insert_with(|| e.at_ms());
        });
    }

    /// How many events of a kind happened (in one group, if given).
    pub fn count(&self, kind: &str, group: Option<GroupId>) -> u64 {
        self.counts
            .iter()
            .find(|((k, g), _)| *k == kind && *g == group)
            .map_or(0, |(_, n)| *n)
    }

    /// How many events of a kind happened on one partition (only events that carry one).
    pub fn count_on(&self, kind: &str, topic: TopicId, partition: u32) -> u64 {
        self.on_partition
            .iter()
            .find(|((k, t, p), _)| *k == kind && *t == topic && *p == partition)
            .map_or(0, |(_, n)| *n)
    }

    /// When the first event of a kind happened.
    pub fn first_at(&self, kind: &str) -> Option<u64> {
        self.first
            .iter()
            .find(|(k, _)| **k == kind)
            .map(|(_, t)| *t)
    }
}

// ---- measuring --------------------------------------------------------------------------

fn group_id(sim: &Sim, name: &str) -> Option<GroupId> {
    view::group_id(sim, name)
}

fn topic_id(sim: &Sim, name: &str) -> Option<TopicId> {
    view::topic_id(sim, name)
}

/// The value of a predicate's measure now (a setting is not a number: 0).
pub fn measure_now(sim: &Sim, p: &Predicate, tracker: &Tracker) -> u64 {
    let group = group_id(sim, p.group.as_deref().unwrap_or("payments"));
    match &p.measure {
        Measure::Setting(_) => 0,
        Measure::Events(kind) => match p.partition {
            Some(partition) => topic_id(sim, p.topic.as_deref().unwrap_or("orders"))
                .map_or(0, |t| tracker.count_on(kind, t, partition)),
            None => tracker.count(kind, p.group.as_ref().and(group)),
        },
        Measure::Metric(m) => metric(sim, *m, group, p.topic.as_deref(), p.partition),
    }
}

/// One metric now. A group or topic that does not exist (yet) measures 0.
pub fn metric(
    sim: &Sim,
    m: Metric,
    group: Option<GroupId>,
    topic: Option<&str>,
    partition: Option<u32>,
) -> u64 {
    let topic_or_orders = || topic_id(sim, topic.unwrap_or("orders"));
    let totals = || group.and_then(|g| view::totals(sim, g)).unwrap_or_default();
    let g = || group.and_then(|g| view::group(sim, g));
    let ledger = || group.map_or(0, |g| ledger_metric(sim, m, g));
    // The group's partitions (of one topic, if named), with their lag.
    let lags = || -> Vec<u64> {
        let Some(gid) = group else {
            return Vec::new();
        };
        let topics = match topic {
            Some(t) => topic_id(sim, t).into_iter().collect(),
            None => view::subscribed_topics(sim, gid),
        };
        let partitions =
            |t: TopicId| (0..view::partition_count(sim, t)).map(move |p| Tp::new(t, p));
        topics
            .into_iter()
            .flat_map(partitions)
            .map(|tp| {
                let pm = view::partition_metrics(sim, gid, tp);
                pm.lag.unwrap_or(pm.log_end_offset)
            })
            .collect()
    };
    match m {
        Metric::Produced => match topic {
            None => sim.ledger().produced(),
            Some(name) => topic_id(sim, name).map_or(0, |t| sim.ledger().produced_to(t)),
        },
        Metric::Once => totals().once,
        Metric::Duplicate => totals().duplicate,
        Metric::Lost => totals().lost,
        Metric::Pending => totals().pending,
        Metric::Skipped => totals().skipped,
        Metric::Failed => totals().failed,
        Metric::Deleted => totals().deleted,
        Metric::Compacted => totals().compacted,
        Metric::DeadLettered => totals().dead_lettered,
        Metric::OutOfOrder => totals().out_of_order,
        Metric::LogDuplicates => sim.ledger().log_duplicates,
        // acks=0 records are sent, never acknowledged (their callback gets offset -1).
        Metric::Acked => view::producers(sim).iter().map(|p| p.acked).sum(),
        Metric::ProducerFailed => view::producers(sim).iter().map(|p| p.failed).sum(),
        Metric::AckedThenLost => sim.ledger().acked_then_lost(),
        Metric::RowsWithoutEvents | Metric::EventsWithoutRows => service_gaps(sim, m),
        Metric::BrokersAlive => view::brokers_alive(sim),
        Metric::OfflinePartitions | Metric::UnderReplicated => {
            let (offline, under) =
                topic_or_orders().map_or((0, 0), |t| view::offline_and_under_replicated(sim, t));
            [offline, under][usize::from(m == Metric::UnderReplicated)]
        }
        Metric::Partitions => {
            topic_or_orders().map_or(0, |t| u64::from(view::partition_count(sim, t)))
        }
        Metric::Generation => g().map_or(0, |g| g.generation.max(0) as u64),
        Metric::Rebalances => g().map_or(0, |g| u64::from(g.rebalances)),
        Metric::StopTheWorldMs => g().map_or(0, |g| g.stop_the_world_ms),
        Metric::Members | Metric::IdleMembers | Metric::OwnedPartitions => {
            g().map_or(0, |g| member_metric(&g, m))
        }
        Metric::LagTotal => lags().iter().sum(),
        Metric::LagMax => lags().into_iter().max().unwrap_or(0),
        Metric::Processed | Metric::Resurrected => ledger(),
        Metric::DoubleCharges
        | Metric::Deduped
        | Metric::DeadLetters
        | Metric::OutOfOrderByCustomer
        | Metric::OutOfOrderByOrder => ledger(),
        // A log too long to fold is not "matching": the goal stays unmet.
        Metric::TableMismatches => group
            .and_then(|g| view::effects(sim, g)?.mismatched)
            .unwrap_or(u64::MAX),
        Metric::Lag | Metric::Committed => match (group, topic_or_orders(), partition) {
            (Some(gid), Some(t), Some(p)) => partition_metric(sim, m, gid, Tp::new(t, p)),
            _ => 0,
        },
        Metric::LogEndOffset | Metric::LogStartOffset | Metric::LogBytes | Metric::TableKeys => {
            topic_or_orders().map_or(0, |t| log_metric(sim, m, t, partition))
        }
    }
}

/// One partition's lag or committed offset for a group (0 for a partition that does not
/// exist).
fn partition_metric(sim: &Sim, m: Metric, group: GroupId, tp: Tp) -> u64 {
    if tp.p() >= view::partition_count(sim, tp.topic) {
        return 0;
    }
    let pm = view::partition_metrics(sim, group, tp);
    if m == Metric::Lag {
        pm.lag.unwrap_or(pm.log_end_offset)
    } else {
        pm.committed.unwrap_or(0)
    }
}

/// The producing services' dual-write gaps, summed over producers.
fn service_gaps(sim: &Sim, m: Metric) -> u64 {
    (0..view::producers(sim).len())
        .filter_map(|i| view::service_db(sim, crate::engine::ids::ProducerId(i as u16)))
        .map(|s| match m {
            Metric::RowsWithoutEvents => s.rows_without_events,
            _ => s.events_without_rows,
        })
        .sum()
}

/// The running members of a group, those of them that own nothing, or the partitions
/// they own.
fn member_metric(g: &view::GroupView, m: Metric) -> u64 {
    let running = g.members.iter().filter(alive);
    match m {
        Metric::IdleMembers => running.filter(|m| m.owned.is_empty()).count() as u64,
        Metric::OwnedPartitions => running.map(|m| m.owned.len()).sum::<usize>() as u64,
        _ => running.count() as u64,
    }
}

/// A member that is running (active, idle or joining).
fn alive(m: &&view::MemberView) -> bool {
    matches!(
        m.status,
        view::MemberStatus::Active | view::MemberStatus::Idle | view::MemberStatus::Joining
    )
}

/// The metrics of a topic's logs on their leaders: log end, log start and bytes of one
/// partition (or the topic's sum, smallest start), and the keys of its table.
fn log_metric(sim: &view::Sim, m: Metric, t: TopicId, partition: Option<u32>) -> u64 {
    if m == Metric::TableKeys {
        return view::table(sim, t)
            .iter()
            .filter(|r| r.value.is_some())
            .count() as u64;
    }
    let sizes = view::partition_sizes(sim, t)
        .into_iter()
        .filter(|s| partition.is_none_or(|p| s.partition == p));
    match m {
        Metric::LogStartOffset => sizes.map(|s| s.log_start_offset).min().unwrap_or(0),
        Metric::LogBytes => sizes.map(|s| s.size_bytes).sum(),
        _ => sizes.map(|s| s.log_end_offset).sum(),
    }
}

/// A group's ledger counts: records processed (repeats counted), resurrected keys, and the
/// effect side (double charges, deliveries the idempotent consumer skipped).
fn ledger_metric(sim: &view::Sim, m: Metric, group: GroupId) -> u64 {
    let Some(g) = sim.ledger().groups.get(group.index()) else {
        return 0;
    };
    match m {
        Metric::Processed => return g.processed_count(),
        Metric::DoubleCharges => return g.effects.doubled(),
        Metric::Deduped => return g.effects.skipped(),
        Metric::DeadLetters => return g.dead_letters.len() as u64,
        Metric::OutOfOrderByCustomer => return g.entities.out_of_order_customers,
        Metric::OutOfOrderByOrder => return g.entities.out_of_order_orders,
        _ => {}
    }
    let resurrected = |a: &&crate::engine::ledger::Anomaly| {
        a.kind == crate::engine::ledger::AnomalyKind::Resurrected
    };
    g.anomalies.iter().filter(resurrected).count() as u64
}
