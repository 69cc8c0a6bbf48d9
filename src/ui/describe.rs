//! `kafka-topics --describe` and `kafka-consumer-groups --describe`, laid out as the
//! tools print them, and where the group's coordinator lives.

use leptos::prelude::*;

use super::state::expect_lab;
use crate::engine::view;

/// The most keys a compacted topic's table lists.
const MAX_TABLE_ROWS: usize = 40;
/// Partitions per topic whose segment files are listed.
const MAX_SEGMENT_PARTITIONS: u32 = 6;
/// Newest segments listed per partition.
const MAX_SEGMENTS_LISTED: usize = 4;

/// Each partition's segment files on its leader, as `ls` of the partition's directory would
/// name them (the base offset, 20 digits), with the size, the newest record's timestamp
/// (what `retention.ms` compares) and whether it is the active segment (never deleted or
/// cleaned while active).
pub fn segment_files(sim: &view::Sim) -> String {
    let mut out = Vec::new();
    for t in view::topics(sim) {
        for p in 0..t.partitions.min(MAX_SEGMENT_PARTITIONS) {
            let segments = view::segments(sim, view::Tp::new(t.id, p));
            out.push(format!("{}-{p}/", t.name));
            let older = segments.len().saturating_sub(MAX_SEGMENTS_LISTED);
            if older > 0 {
                out.push(format!("  … {older} older segment(s)"));
            }
            for (i, s) in segments.iter().enumerate().skip(older) {
                let newest = if s.size_bytes == 0 {
                    "empty".to_owned()
                } else {
                    format!(
                        "newest record {}",
                        super::format::clock(s.largest_timestamp_ms, true)
                    )
                };
                let state = if i + 1 == segments.len() {
                    "active"
                } else {
                    "closed"
                };
                // Two lines each, so the state is in view in a narrow drawer.
                out.push(format!("  {:020}.log  {state}", s.base_offset));
                out.push(format!("      {} B, {newest}", s.size_bytes));
            }
        }
        if t.partitions > MAX_SEGMENT_PARTITIONS {
            let more = t.partitions - MAX_SEGMENT_PARTITIONS;
            out.push(format!("{}: {more} more partition(s) not listed", t.name));
        }
    }
    out.join("\n")
}

/// The describe output for the shown group, as monospaced columns (scrolls sideways
/// inside its box, never clipped).
#[component]
pub fn DescribePanel() -> impl IntoView {
    let lab = expect_lab();
    let text = Memo::new(move |_| {
        lab.with(|l| {
            let sim = l.sim();
            let rows = view::describe(sim, lab.selection.group.get());
            let dash = |v: Option<u64>| v.map_or("-".to_owned(), |n| n.to_string());
            let mut table = vec![[
                "GROUP".to_owned(),
                "TOPIC".into(),
                "PARTITION".into(),
                "CURRENT-OFFSET".into(),
                "LOG-END-OFFSET".into(),
                "LAG".into(),
                "CONSUMER-ID".into(),
                "HOST".into(),
                "CLIENT-ID".into(),
            ]];
            for r in rows {
                table.push([
                    r.group,
                    r.topic,
                    r.partition.to_string(),
                    dash(r.current_offset),
                    r.log_end_offset.to_string(),
                    dash(r.lag),
                    r.consumer_id,
                    r.host,
                    r.client_id,
                ]);
            }
            let widths: Vec<usize> = (0..9)
                .map(|c| {
                    table
                        .iter()
                        .map(|row| row[c].chars().count())
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            table
                .iter()
                .map(|row| {
                    row.iter()
                        .zip(&widths)
                        .map(|(cell, w)| format!("{cell:<w$}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                        .trim_end()
                        .to_owned()
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
    });
    // Kafka's own layout: tab-separated fields, partition lines indented by a tab.
    let topics = Memo::new(move |_| {
        lab.with(|l| {
            let join = |v: &[u32]| v.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
            let mut out = String::new();
            for t in view::describe_topics(l.sim()) {
                out.push_str(&format!(
                    "Topic: {}\tPartitionCount: {}\tReplicationFactor: {}\tConfigs: {}\n",
                    t.topic,
                    t.partition_count,
                    t.replication_factor,
                    t.configs.join(",")
                ));
                for p in &t.partitions {
                    out.push_str(&format!(
                        "\tTopic: {}\tPartition: {}\tLeader: {}\tReplicas: {}\tIsr: {}\n",
                        t.topic,
                        p.partition,
                        p.leader
                            .map_or_else(|| "none".to_owned(), |b| b.to_string()),
                        join(&p.replicas),
                        join(&p.isr)
                    ));
                }
            }
            out.trim_end().to_owned()
        })
    });
    // kafka-log-dirs reports each partition's size; the segments and log start say why.
    let sizes = Memo::new(move |_| {
        lab.with(|l| {
            let sim = l.sim();
            let mut out = String::from("TOPIC     PARTITION SIZE(B)  SEGMENTS LOG-START LOG-END");
            for t in view::topics(sim) {
                for s in view::partition_sizes(sim, t.id) {
                    out.push_str(&format!(
                        "\n{:<9} {:<9} {:<8} {:<8} {:<9} {}",
                        t.name,
                        s.partition,
                        s.size_bytes,
                        s.segments,
                        s.log_start_offset,
                        s.log_end_offset
                    ));
                }
            }
            out
        })
    });
    // The table each compacted topic stands for: what a reader from the log start rebuilds.
    let tables = Memo::new(move |_| {
        lab.with(|l| {
            let sim = l.sim();
            let mut out = Vec::new();
            for t in view::topics(sim).into_iter().filter(|t| t.compacted) {
                let rows = view::table(sim, t.id);
                let live = rows.iter().filter(|r| r.value.is_some()).count();
                let mut text = format!("{}: {live} key(s) with a value", t.name);
                for r in rows.iter().take(MAX_TABLE_ROWS) {
                    let value = r
                        .value
                        .clone()
                        .unwrap_or_else(|| "null (tombstone: deleted)".into());
                    text.push_str(&format!(
                        "\n  {} = {value}   (p{}, offset {}, update {})",
                        r.key, r.partition, r.offset, r.version
                    ));
                }
                if rows.len() > MAX_TABLE_ROWS {
                    text.push_str(&format!("\n  … and {} more", rows.len() - MAX_TABLE_ROWS));
                }
                out.push(text);
            }
            out.join("\n")
        })
    });
    let coordinator = move || {
        lab.with(|l| {
            let group = lab.selection.group.get();
            let name = view::group_name(l.sim(), group);
            let (broker, partition) = view::coordinator(l.sim(), group);
            match broker {
                Some(broker) => format!(
                    "The coordinator of {name} is broker {broker}, the leader of \
                     __consumer_offsets partition {partition} (Utils.abs(\"{name}\".hashCode()) % 50)."
                ),
                None => format!(
                    "{name} has no coordinator now: __consumer_offsets partition {partition} \
                     (Utils.abs(\"{name}\".hashCode()) % 50) has no live replica to lead it."
                ),
            }
        })
    };
    view! {
        <section class="lab-panel lab-describe" aria-labelledby="topics-title">
            <h2 id="topics-title" class="lab-panel__title">
                <code>"kafka-topics --bootstrap-server localhost:9092 --describe"</code>
            </h2>
            <pre class="lab-describe__out" data-testid="describe-topics" tabindex="0" aria-label="the topics' describe output; scroll sideways for every column">{move || topics.get()}</pre>
            <p class="lab-hint">"Leader none means the partition is offline. The TopicId and the Elr columns Kafka 4 prints are left out."</p>
            <p data-testid="coordinator">{coordinator}</p>
        </section>
        <section class="lab-panel lab-describe" aria-labelledby="log-dirs-title">
            <h2 id="log-dirs-title" class="lab-panel__title">
                <code>"kafka-log-dirs --bootstrap-server localhost:9092 --describe"</code>
            </h2>
            <pre class="lab-describe__out" data-testid="log-dirs" tabindex="0" aria-label="each partition's size, segments and log start">{move || sizes.get()}</pre>
            <p class="lab-hint">"The tool prints JSON with a size per partition; the lab adds the segment count and the log start, on each partition's leader."</p>
            <h3 class="lab-panel__subtitle">"Segment files on each leader"</h3>
            <pre class="lab-describe__out" data-testid="segment-files" tabindex="0" aria-label="each partition's segment files">{move || lab.with(|l| segment_files(l.sim()))}</pre>
            <p class="lab-hint">"Retention deletes a closed segment once its newest record is older than retention.ms; the active one only rolls (segment.ms, segment.bytes)."</p>
            {move || {
                let t = tables.get();
                (!t.is_empty()).then(|| view! {
                    <h3 class="lab-panel__subtitle">"The table a compacted topic stands for"</h3>
                    <pre class="lab-describe__out" data-testid="compacted-table" tabindex="0" aria-label="each key with its latest value">{t}</pre>
                    <p class="lab-hint">"Each key with its latest record a reader from the log start sees. Older records of a key stay until the cleaner passes; the active segment is never cleaned."</p>
                })
            }}
        </section>
        <section class="lab-panel lab-describe" aria-labelledby="describe-title">
            <h2 id="describe-title" class="lab-panel__title">
                <code>
                    {move || {
                        lab.with(|l| {
                            let id = view::group_name(l.sim(), lab.selection.group.get());
                            format!("kafka-consumer-groups --bootstrap-server localhost:9092 --describe --group {id}")
                        })
                    }}
                </code>
            </h2>
            <pre class="lab-describe__out" data-testid="describe" tabindex="0" aria-label="the describe output; scroll sideways for every column">{move || text.get()}</pre>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::segment_files;
    use crate::lab::{history::Session, Scenario};

    /// Segments that roll every 5 s: by 12 s p0 has closed ones and one active, named by
    /// base offset as Kafka names the files.
    #[test]
    fn segment_files_name_each_segment_and_the_active_one() {
        let mut scenario = Scenario::default();
        scenario.set("partitions", "1").unwrap();
        scenario.set("segment.ms", "5000").unwrap();
        let sim = Session::new(scenario).replay_to(12_000).unwrap();
        let text = segment_files(&sim);
        assert!(text.starts_with("orders-0/"), "{text}");
        assert!(text.contains("00000000000000000000.log"), "{text}");
        assert_eq!(text.matches(" active").count(), 1, "{text}");
        assert!(text.contains(" closed"), "{text}");
        assert!(text.contains("newest record t = "), "{text}");
    }
}
