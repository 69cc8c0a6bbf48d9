//! The effect side of the shown group: its application's database (a balance per key) in
//! the Groups panel, double charges in red, what the idempotent consumer skipped, and each
//! balance against the log's projection (each record charged once), with the two ways a
//! table goes wrong on purpose: a corrupting deploy, and a truncation to rebuild it.

use leptos::prelude::*;

use super::state::expect_lab;
use crate::engine::view::{self, Command};

/// Rows shown (double-charged keys first).
const MAX_ROWS: usize = 12;

/// The shown group's application database.
#[component]
pub fn AppTable() -> impl IntoView {
    let lab = expect_lab();
    let effects = Memo::new(move |_| {
        let g = lab.selection.group.get();
        lab.with(|l| view::effects(l.sim(), g))
    });
    move || {
        effects.get().map(|e| {
            let summary = summary(&e);
            let alert = e.double_charges > 0;
            let per_customer = e.per_customer;
            let more = e.rows.len().saturating_sub(MAX_ROWS);
            let check = match e.mismatched {
                Some(0) => "Every balance is what the log says: each record the group has read, charged once.".to_owned(),
                Some(n) => format!("{n} balance(s) differ from the log: rebuild the table by replaying it."),
                None => "The log is too long to check every balance here.".to_owned(),
            };
            let off_log = e.mismatched.is_some_and(|n| n > 0);
            view! {
                <h3 class="lab-panel__subtitle">{if per_customer { "The application's database: balance per customer (each paid order)" } else { "The application's database: balance per key" }}</h3>
                <p class="lab-effects__summary" class:lab-effects__summary--alert=alert data-testid="effects-summary">{summary}</p>
                <table class="lab-effects" data-testid="effects-table">
                    <thead><tr><th>{if per_customer { "customer" } else { "key" }}</th><th>"charges"</th><th>"balance"</th><th>"log says"</th></tr></thead>
                    <tbody>
                        {e.rows.into_iter().take(MAX_ROWS).map(|r| {
                            let doubled = r.doubled > 0;
                            let off = r.expected.is_some_and(|x| x != r.amount);
                            view! {
                                <tr class:lab-effects__row--doubled=doubled || off>
                                    <td><code>{r.key}</code></td>
                                    <td>{r.charges}{doubled.then(|| format!(" ({} charged twice)", r.doubled))}</td>
                                    <td>{format!("${}", r.amount)}</td>
                                    <td>{r.expected.map_or_else(|| "–".to_owned(), |x| if off { format!("${x} ≠") } else { format!("${x}") })}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                {(more > 0).then(|| view! { <p class="lab-hint">{format!("… and {more} more {}", if per_customer { "customers" } else { "keys" })}</p> })}
                <p class="lab-effects__summary" class:lab-effects__summary--alert=off_log data-testid="effects-check">{check}</p>
                <div class="lab-row">
                    <button class="lab-button lab-button--small" data-testid="corrupt-table"
                        title="Lab: a buggy deploy halves every balance"
                        on:click=move |_| lab.act(Command::CorruptTable { group: lab.selection.group.get_untracked() })>"Corrupt the table"</button>
                    <button class="lab-button lab-button--small" data-testid="truncate-table"
                        title="Empty the table and its stored event ids, to rebuild them by seeking to the beginning and replaying"
                        on:click=move |_| lab.act(Command::TruncateTable { group: lab.selection.group.get_untracked() })>"Truncate the table"</button>
                </div>
                <p class="lab-hint">"Lab: each record charges an amount derived from its id to its key's row, in the same step it is processed; the database survives a crash."</p>
            }
        })
    }
}

/// One line on the guard and what it did.
fn summary(e: &view::EffectsView) -> String {
    let n = e.double_charges;
    match e.dedupe {
        "event-id" => format!(
            "dedupe=event-id: each record's id is stored with its charge; {} repeated deliveries skipped, 0 charged twice",
            e.deduped
        ),
        "upsert" => format!(
            "dedupe=upsert: each charge is a row keyed by its record's id; {} repeated deliveries rewrote their own row, 0 charged twice",
            e.deduped
        ),
        "stored-offsets" if n > 0 => format!(
            "dedupe=stored-offsets: {n} record(s) charged twice: a delivery that did not start from the stored offsets charged again"
        ),
        "stored-offsets" => "dedupe=stored-offsets: each partition's offset is stored with its charges, and a new owner starts there; nothing charged twice".to_owned(),
        _ if n > 0 => format!(
            "dedupe=off: {n} record(s) charged twice or more: each duplicate delivery charged again"
        ),
        _ => "dedupe=off: every delivery charges; nothing charged twice yet".to_owned(),
    }
}
