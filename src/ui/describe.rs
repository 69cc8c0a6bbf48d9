//! `kafka-consumer-groups --describe`, laid out as the tool prints it.

use leptos::prelude::*;

use super::state::expect_lab;
use crate::engine::view;

/// The describe output for the shown group, as monospaced columns (scrolls sideways
/// inside its box, never clipped).
#[component]
pub fn DescribePanel() -> impl IntoView {
    let lab = expect_lab();
    let text = Memo::new(move |_| {
        lab.with(|l| {
            let sim = l.sim();
            let rows = view::describe(sim, lab.group.get());
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
    view! {
        <section class="lab-panel lab-describe" aria-labelledby="describe-title">
            <h2 id="describe-title" class="lab-panel__title">
                <code>
                    {move || {
                        lab.with(|l| {
                            let id = view::group_name(l.sim(), lab.group.get());
                            format!("kafka-consumer-groups --bootstrap-server localhost:9092 --describe --group {id}")
                        })
                    }}
                </code>
            </h2>
            <pre class="lab-describe__out" data-testid="describe" tabindex="0" aria-label="the describe output; scroll sideways for every column">{move || text.get()}</pre>
        </section>
    }
}
