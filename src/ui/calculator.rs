//! Predict the partition: the Java client's and librdkafka's answers for a key.

use leptos::prelude::*;

use crate::engine::view::{crc32_partition, java_partition, murmur2, to_positive, MAX_PARTITIONS};

/// Type a key and a partition count; see both clients' partitions and whether they agree.
#[component]
pub fn Calculator() -> impl IntoView {
    let key = RwSignal::new(String::from("order-42"));
    let count = RwSignal::new(String::from("3"));
    let result = move || {
        let n: u32 = match count.get().trim().parse() {
            Ok(n) if (1..=MAX_PARTITIONS).contains(&n) => n,
            _ => {
                return Err(format!(
                    "partition count must be a whole number from 1 to {MAX_PARTITIONS}"
                ))
            }
        };
        let k = key.get();
        // The producer treats an empty key as null: nothing to hash.
        if k.is_empty() {
            return Ok(None);
        }
        let java = java_partition(k.as_bytes(), n);
        let rd = crc32_partition(k.as_bytes(), n);
        let hash = murmur2(k.as_bytes());
        Ok(Some((hash, to_positive(hash), n, java, rd)))
    };
    view! {
        <section class="lab-panel lab-calculator" aria-labelledby="calc-title">
            <h2 id="calc-title" class="lab-panel__title">"Predict the partition"</h2>
            <label class="lab-field">
                <span class="lab-field__label">"key"</span>
                <input
                    class="lab-field__input"
                    aria-label="calculator key"
                    data-testid="calc-key"
                    placeholder="empty = null key"
                    prop:value=move || key.get()
                    on:input=move |ev| key.set(event_target_value(&ev))
                />
            </label>
            <label class="lab-field">
                <span class="lab-field__label">"partitions"</span>
                <input
                    class="lab-field__input"
                    aria-label="calculator partition count"
                    data-testid="calc-count"
                    inputmode="numeric"
                    prop:value=move || count.get()
                    on:input=move |ev| count.set(event_target_value(&ev))
                />
            </label>
            <div class="lab-calculator__out" data-testid="calc-out" aria-live="polite">
                {move || match result() {
                    Err(e) => view! { <p class="lab-notice__text lab-notice__text--error">{e}</p> }.into_any(),
                    Ok(None) => view! {
                        <p data-testid="calc-null">
                            "An empty key is a null key: there is nothing to hash. The Java producer picks the partition itself (sticky: it fills one batch, then moves on); librdkafka's consistent_random picks at random."
                        </p>
                    }
                    .into_any(),
                    Ok(Some((hash, positive, n, java, rd))) => {
                        view! {
                            <p class="lab-mono">{format!("murmur2 = {hash} → toPositive = {positive} → {positive} mod {n} = {java}")}</p>
                            <p>"Java client: " <strong data-testid="calc-java">"p" {java}</strong></p>
                            <p>"librdkafka (crc32): " <strong data-testid="calc-librdkafka">"p" {rd}</strong></p>
                            <p data-testid="calc-agree">
                                {if java == rd { "They agree." } else { "They disagree: mixed clients split this key." }}
                            </p>
                        }
                            .into_any()
                    }
                }}
            </div>
        </section>
    }
}
