//! `kafka-consumer-groups --describe`, laid out as the tool prints it.

use leptos::prelude::*;

use super::state::expect_lab;

/// The describe output for group 0, as monospaced columns.
#[component]
pub fn DescribePanel() -> impl IntoView {
    let lab = expect_lab();
    let text = Memo::new(move |_| {
        lab.with(|sim| {
            let rows = sim.describe_group(lab.group.get());
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
                        lab.with(|s| {
                            let id = s.groups().get(lab.group.get() as usize).map_or("-".into(), |g| g.group_id.clone());
                            format!("kafka-consumer-groups --describe --group {id}")
                        })
                    }}
                </code>
            </h2>
            <pre class="lab-describe__out" data-testid="describe">{move || text.get()}</pre>
        </section>
    }
}
