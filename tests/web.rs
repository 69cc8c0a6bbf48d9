//! Browser component tests: mount the lab in headless Chromium, act, and check the DOM.
//! Each test queries only inside its own mount, and mounts an ephemeral lab (no local
//! storage), because async tests may interleave.
#![cfg(target_arch = "wasm32")]

use kafka_lab::engine::partitioner::java_partition;
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

    fn set_input(&self, selector: &str, value: &str) {
        let input: web_sys::HtmlInputElement = self.query(selector).unwrap().unchecked_into();
        input.set_value(value);
        input
            .dispatch_event(&web_sys::Event::new("input").unwrap())
            .unwrap();
    }

    fn select(&self, selector: &str, value: &str) {
        let select: web_sys::HtmlSelectElement = self.query(selector).unwrap().unchecked_into();
        select.set_value(value);
        select
            .dispatch_event(&web_sys::Event::new("change").unwrap())
            .unwrap();
    }

    fn click(&self, selector: &str) {
        let el: web_sys::HtmlElement = self.query(selector).unwrap().unchecked_into();
        el.click();
    }
}

impl<M: Mountable> Drop for Lab<M> {
    fn drop(&mut self) {
        self.host.remove();
    }
}

#[wasm_bindgen_test]
async fn producing_a_key_puts_it_in_its_lane() {
    let lab = mount();
    lab.set_input("[data-testid=key-input]", "order-42");
    lab.click("[data-testid=produce]");
    leptos::task::tick().await;
    let expected = java_partition(b"order-42", 3);
    assert!(lab
        .query(&format!(
            "[data-partition='{expected}'] [data-key='order-42']"
        ))
        .is_some());
    assert_eq!(
        lab.text("[data-testid=computation]"),
        "murmur2(\"order-42\") = 501153024 → 501153024 mod 3 = 0"
    );
}

#[wasm_bindgen_test]
async fn an_overlong_key_shows_an_error_and_adds_nothing() {
    let lab = mount();
    lab.set_input("[data-testid=key-input]", &"x".repeat(300));
    lab.click("[data-testid=produce]");
    leptos::task::tick().await;
    assert!(lab
        .text(".lab-notice__text--error")
        .contains("at most 256 bytes"));
    assert_eq!(lab.count(".lab-record"), 0);
}

#[wasm_bindgen_test]
async fn adding_a_partition_adds_a_lane() {
    let lab = mount();
    lab.click("[data-testid=produce-random]");
    leptos::task::tick().await;
    assert_eq!(lab.count(".lab-record"), 10);
    lab.click("[data-testid=add-partition]");
    leptos::task::tick().await;
    assert_eq!(lab.count(".lab-lane"), 4);
    assert_eq!(lab.text("[data-testid=partition-count]"), "4");
}

#[wasm_bindgen_test]
async fn the_group_panel_shows_members_and_generation_after_time_passes() {
    let lab = mount();
    lab.click("[data-testid=advance-10s]");
    leptos::task::tick().await;
    assert_eq!(lab.text("[data-testid=generation]"), "1");
    assert!(lab.text("[data-testid=group-state]").contains("Stable"));
    assert_eq!(lab.count(".lab-member"), 2);
    assert!(lab.text("[data-testid=describe]").starts_with("GROUP"));
}

#[wasm_bindgen_test]
async fn a_crash_with_commit_after_batch_fills_the_ledger() {
    let lab = mount();
    lab.select("[data-testid=commit-mode]", "after-batch");
    leptos::task::tick().await;
    lab.click("[data-testid=advance-10s]");
    leptos::task::tick().await;
    lab.click("[aria-label='crash c1']");
    for _ in 0..3 {
        lab.click("[data-testid=advance-10s]");
    }
    leptos::task::tick().await;
    let dups: u64 = lab.text("[data-testid=count-duplicate]").parse().unwrap();
    assert!(dups > 0);
    lab.click(".lab-anomaly--duplicate");
    leptos::task::tick().await;
    assert!(lab.text("[data-testid=cause]").contains("crashed"));
}

#[wasm_bindgen_test]
async fn the_calculator_refuses_a_bad_count() {
    let lab = mount();
    lab.set_input("[data-testid=calc-count]", "65");
    leptos::task::tick().await;
    assert!(lab.text("[data-testid=calc-out]").contains("from 1 to 64"));
    lab.set_input("[data-testid=calc-count]", "3");
    leptos::task::tick().await;
    assert_eq!(
        lab.text("[data-testid=calc-java]"),
        format!("p{}", java_partition(b"order-42", 3))
    );
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
async fn adding_a_group_switches_every_panel_to_it() {
    let lab = mount();
    lab.click("[data-testid=add-group]");
    leptos::task::tick().await;
    assert!(lab.text("#ledger-title").contains("group-2"));
    assert!(lab.text("#describe-title").contains("--group group-2"));
    lab.click("[data-testid=advance-10s]");
    leptos::task::tick().await;
    assert_eq!(
        lab.count(".lab-swimlane__row"),
        1,
        "group-2 has one consumer"
    );
    assert!(lab.text("[data-testid=lane-marker]").contains("group-2"));
}
