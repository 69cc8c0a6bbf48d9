//! Browser component tests: mount the lab in headless Chromium, act, and check the DOM.
//! Each test queries only inside its own mount, and mounts an ephemeral lab (no local
//! storage), because async tests may interleave.
#![cfg(target_arch = "wasm32")]

use kafka_lab::engine::view::{java_partition, Command, GroupId, MemberId};
use kafka_lab::lab::scenario::Scenario;
use kafka_lab::lab::Lab as EngineLab;
use kafka_lab::ui::App;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

/// One mounted lab and its host element.
struct Lab<M: Mountable> {
    host: web_sys::HtmlElement,
    _handle: leptos::mount::UnmountHandle<M>,
}

fn new_host() -> web_sys::HtmlElement {
    let host: web_sys::HtmlElement = document().create_element("div").unwrap().unchecked_into();
    document().body().unwrap().append_child(&host).unwrap();
    host
}

fn mount() -> Lab<impl Mountable> {
    let host = new_host();
    let handle = leptos::mount::mount_to(host.clone(), || view! { <App ephemeral=true/> });
    Lab {
        host,
        _handle: handle,
    }
}

impl<M: Mountable> Lab<M> {
    fn query(&self, selector: &str) -> Option<web_sys::Element> {
        self.host.query_selector(selector).unwrap()
    }

    fn count(&self, selector: &str) -> u32 {
        self.host.query_selector_all(selector).unwrap().length()
    }

    fn text(&self, selector: &str) -> String {
        self.query(selector)
            .and_then(|e| e.text_content())
            .unwrap_or_default()
    }

    fn number(&self, selector: &str) -> u64 {
        self.text(selector)
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{selector} holds `{}`, not a number", self.text(selector)))
    }

    fn set_input(&self, selector: &str, value: &str) {
        let input: web_sys::HtmlInputElement = self.query(selector).unwrap().unchecked_into();
        input.set_value(value);
        input
            .dispatch_event(&web_sys::Event::new("input").unwrap())
            .unwrap();
    }

    /// Clicks any element, HTML or SVG, as a user would (the event bubbles).
    fn click(&self, selector: &str) {
        let el = self
            .query(selector)
            .unwrap_or_else(|| panic!("nothing matches {selector}"));
        let init = web_sys::MouseEventInit::new();
        init.set_bubbles(true);
        let ev = web_sys::MouseEvent::new_with_mouse_event_init_dict("click", &init).unwrap();
        el.dispatch_event(&ev).unwrap();
    }

    /// Opens the drawer at a tab and lets the page render it.
    async fn open_tab(&self, tab: &str) {
        if self.query("[data-testid=drawer]").is_none() {
            self.click("[data-testid=drawer-toggle]");
            leptos::task::tick().await;
        }
        self.click(&format!("[data-testid=tab-{tab}]"));
        leptos::task::tick().await;
    }

    fn stage(&self) -> String {
        self.query("[data-testid=stage]").unwrap().inner_html()
    }
}

impl<M: Mountable> Drop for Lab<M> {
    fn drop(&mut self) {
        self.host.remove();
    }
}

#[wasm_bindgen_test]
async fn producing_a_key_puts_it_in_its_lane_with_the_computation() {
    let lab = mount();
    lab.open_tab("produce").await;
    lab.set_input("[data-testid=key-input]", "order-42");
    lab.click("[data-testid=produce]");
    leptos::task::tick().await;
    let expected = java_partition(b"order-42", 3);
    assert_eq!(
        lab.count(&format!(
            "[data-partition='{expected}'] [data-key='order-42']"
        )),
        1
    );
    assert_eq!(lab.count("[data-key='order-42']"), 1, "in one lane only");
    assert_eq!(
        lab.text("[data-testid=computation]"),
        "murmur2(\"order-42\") = 501153024 → 501153024 mod 3 = 0 → offset 0"
    );
}

#[wasm_bindgen_test]
async fn an_overlong_key_shows_an_error_and_adds_nothing() {
    let lab = mount();
    lab.open_tab("produce").await;
    lab.set_input("[data-testid=key-input]", &"x".repeat(300));
    lab.click("[data-testid=produce]");
    leptos::task::tick().await;
    assert!(lab
        .text(".lab-notice__text--error")
        .contains("at most 256 bytes"));
    assert_eq!(lab.count(".lab-cell"), 0);
}

#[wasm_bindgen_test]
async fn adding_a_partition_adds_a_lane_and_names_moved_keys() {
    let lab = mount();
    lab.open_tab("produce").await;
    lab.click("[data-testid=produce-random]");
    leptos::task::tick().await;
    assert_eq!(lab.count(".lab-cell"), 10);
    lab.click("[data-testid=add-partition]");
    leptos::task::tick().await;
    assert_eq!(lab.count(".lab-lane"), 4);
    assert_eq!(lab.text("[data-testid=partition-count]"), "4");
    assert!(lab
        .text("[data-testid=notice]")
        .contains("Now 4 partitions"));
}

#[wasm_bindgen_test]
async fn after_ten_seconds_the_group_is_stable_with_two_linked_members() {
    let lab = mount();
    lab.click("[data-testid=advance-10s]");
    leptos::task::tick().await;
    assert_eq!(lab.count(".lab-member"), 2);
    // Every partition is linked to exactly one owner.
    assert_eq!(lab.count("[data-link^='p']"), 3);
    lab.open_tab("groups").await;
    assert_eq!(lab.text("[data-testid=generation]"), "1");
    assert!(lab.text("[data-testid=group-state]").contains("Stable"));
    lab.open_tab("describe").await;
    assert!(lab.text("[data-testid=describe]").starts_with("GROUP"));
}

#[wasm_bindgen_test]
async fn a_crash_with_commit_after_batch_fills_the_ledger_and_explains_it() {
    let lab = mount();
    lab.open_tab("setup").await;
    lab.click("[data-testid=commit-mode-after-batch]");
    leptos::task::tick().await;
    lab.click("[data-testid=advance-10s]");
    leptos::task::tick().await;
    lab.click("[data-member=c1] [data-action=crash]");
    leptos::task::tick().await;
    assert!(lab.text("[data-member=c1]").contains("crashed"));
    for _ in 0..3 {
        lab.click("[data-testid=advance-10s]");
    }
    leptos::task::tick().await;
    assert!(lab.number("[data-testid=count-duplicate-value]") > 0);
    lab.open_tab("anomalies").await;
    lab.click(".lab-anomaly--duplicate");
    leptos::task::tick().await;
    assert!(lab.text("[data-testid=cause]").contains("crashed"));
}

#[wasm_bindgen_test]
async fn the_calculator_refuses_a_bad_count_and_treats_an_empty_key_as_null() {
    let lab = mount();
    lab.open_tab("calculator").await;
    lab.set_input("[data-testid=calc-count]", "65");
    leptos::task::tick().await;
    assert!(lab.text("[data-testid=calc-out]").contains("from 1 to 64"));
    lab.set_input("[data-testid=calc-count]", "3");
    leptos::task::tick().await;
    assert_eq!(
        lab.text("[data-testid=calc-java]"),
        format!("p{}", java_partition(b"order-42", 3))
    );
    lab.set_input("[data-testid=calc-key]", "");
    leptos::task::tick().await;
    assert!(lab.text("[data-testid=calc-null]").contains("null key"));
    assert_eq!(lab.count("[data-testid=calc-java]"), 0);
}

#[wasm_bindgen_test]
async fn a_corrupt_saved_lab_is_discarded_with_a_notice() {
    // The one test that uses storage: the real App reads it at mount.
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    storage
        .set_item(kafka_lab::ui::STORAGE_KEY, "{not json")
        .unwrap();
    let host = new_host();
    let lab = Lab {
        host: host.clone(),
        _handle: leptos::mount::mount_to(host, || view! { <App/> }),
    };
    leptos::task::tick().await;
    assert!(lab
        .text(".lab-notice__text--error")
        .contains("could not be restored"));
    assert_eq!(lab.text("[data-testid=time]"), "t = 0.0 s");
    assert_eq!(
        storage.get_item(kafka_lab::ui::STORAGE_KEY).unwrap(),
        None,
        "the corrupt entry is removed"
    );
}

#[wasm_bindgen_test]
async fn adding_a_group_shows_it_on_the_stage_and_in_describe() {
    let lab = mount();
    lab.open_tab("groups").await;
    lab.click("[data-testid=add-group]");
    leptos::task::tick().await;
    assert_eq!(lab.count(".lab-member"), 1, "group-2 has one consumer");
    lab.open_tab("describe").await;
    assert!(lab.text("#describe-title").contains("--group group-2"));
}

#[wasm_bindgen_test]
async fn step_names_the_event_it_ran() {
    let lab = mount();
    lab.click("[data-testid=step]");
    leptos::task::tick().await;
    let words = lab.text("[data-testid=step-words]");
    assert!(words.starts_with("t = "), "{words}");
    assert!(
        !words.contains("nothing visible"),
        "the first event is visible: {words}"
    );
}

#[wasm_bindgen_test]
async fn starting_over_equals_a_fresh_load() {
    let fresh = mount();
    leptos::task::tick().await;
    let reset = mount();
    reset.click("[data-testid=advance-10s]");
    reset.open_tab("produce").await;
    reset.click("[data-testid=produce-random]");
    reset.open_tab("setup").await;
    reset.click("[data-testid=reset]");
    leptos::task::tick().await;
    reset.click("[data-testid=reset-confirm]");
    leptos::task::tick().await;
    assert_eq!(reset.text("[data-testid=time]"), "t = 0.0 s");
    assert_eq!(
        reset.stage(),
        fresh.stage(),
        "the stage at t = 0 is a fresh load's"
    );
    fresh.click("[data-testid=step]");
    reset.click("[data-testid=step]");
    leptos::task::tick().await;
    assert_eq!(reset.stage(), fresh.stage(), "and so is the next event");
}

#[wasm_bindgen_test]
fn the_pinned_run_has_the_same_trace_hash_in_the_browser() {
    let text = include_str!("data/golden_trace.txt");
    let hex = text.lines().find(|l| !l.starts_with('#')).unwrap();
    let pinned = u64::from_str_radix(hex.trim(), 16).unwrap();
    let mut lab = EngineLab::fresh(Scenario::default()).unwrap();
    lab.advance_to(10_000);
    lab.command(Command::CrashConsumer {
        group: GroupId(0),
        consumer: MemberId(0),
    })
    .unwrap();
    lab.advance_to(60_000);
    assert_eq!(lab.sim().trace_hash(), pinned);
}

#[wasm_bindgen_test]
async fn a_group_reading_two_topics_shows_both_with_their_lanes() {
    let lab = mount();
    lab.open_tab("produce").await;
    lab.click("[data-testid=add-topic]");
    leptos::task::tick().await;
    assert!(lab
        .text("[data-testid=topics]")
        .contains("topic-2 (2 partitions)"));
    lab.open_tab("groups").await;
    lab.click("[data-testid=add-group]");
    leptos::task::tick().await;
    leptos::task::tick().await;
    assert_eq!(
        lab.count(".lab-topic"),
        2,
        "orders and topic-2; notice: {}; topics on stage: {:?}",
        lab.text("[data-testid=notice]"),
        lab.text(".lab-stage")
    );
    assert_eq!(lab.count(".lab-lane"), 5, "3 + 2 lanes");
    lab.click("[data-testid=advance-10s]");
    leptos::task::tick().await;
    // The new group's consumer owns partitions of both topics.
    assert_eq!(lab.count("[data-link]"), 5);
}
