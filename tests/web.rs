//! Browser component tests: mount the lab in headless Chromium, act, and check the DOM.
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

fn query(selector: &str) -> Option<web_sys::Element> {
    document().query_selector(selector).unwrap()
}

fn mount() -> (
    web_sys::HtmlElement,
    leptos::mount::UnmountHandle<impl Mountable>,
) {
    let host: web_sys::HtmlElement = document().create_element("div").unwrap().unchecked_into();
    document().body().unwrap().append_child(&host).unwrap();
    let handle = leptos::mount::mount_to(host.clone(), App);
    (host, handle)
}

fn set_input(selector: &str, value: &str) {
    let input: web_sys::HtmlInputElement = query(selector).unwrap().unchecked_into();
    input.set_value(value);
    input
        .dispatch_event(&web_sys::Event::new("input").unwrap())
        .unwrap();
}

fn click(selector: &str) {
    let el: web_sys::HtmlElement = query(selector).unwrap().unchecked_into();
    el.click();
}

#[wasm_bindgen_test]
async fn producing_a_key_puts_it_in_its_lane() {
    let (host, _handle) = mount();
    set_input("[data-testid=key-input]", "order-42");
    click("[data-testid=produce]");
    leptos::task::tick().await;

    let expected = java_partition(b"order-42", 3);
    let cell = query(&format!(
        "[data-partition='{expected}'] [data-key='order-42']"
    ));
    assert!(cell.is_some(), "order-42 must appear in lane p{expected}");
    let text = query("[data-testid=computation]")
        .unwrap()
        .text_content()
        .unwrap();
    assert_eq!(
        text,
        "murmur2(\"order-42\") = 501153024 → 501153024 mod 3 = 0"
    );
    host.remove();
}

#[wasm_bindgen_test]
async fn an_overlong_key_shows_an_error_and_adds_nothing() {
    let (host, _handle) = mount();
    set_input("[data-testid=key-input]", &"x".repeat(300));
    click("[data-testid=produce]");
    leptos::task::tick().await;
    let notice = query(".lab-notice__text--error").expect("an error notice");
    assert!(notice.text_content().unwrap().contains("at most 256 bytes"));
    assert!(query(".lab-record").is_none());
    host.remove();
}

#[wasm_bindgen_test]
async fn adding_a_partition_adds_a_lane() {
    let (host, _handle) = mount();
    click("[data-testid=produce-random]");
    leptos::task::tick().await;
    assert_eq!(
        document()
            .query_selector_all(".lab-record")
            .unwrap()
            .length(),
        10
    );
    click("[data-testid=add-partition]");
    leptos::task::tick().await;
    assert_eq!(
        document().query_selector_all(".lab-lane").unwrap().length(),
        4
    );
    assert_eq!(
        query("[data-testid=partition-count]")
            .unwrap()
            .text_content()
            .unwrap(),
        "4"
    );
    host.remove();
}

fn text(selector: &str) -> String {
    query(selector)
        .and_then(|e| e.text_content())
        .unwrap_or_default()
}

#[wasm_bindgen_test]
async fn the_group_panel_shows_members_and_generation_after_time_passes() {
    let (host, _handle) = mount();
    click("[data-testid=advance-10s]");
    leptos::task::tick().await;
    assert_eq!(text("[data-testid=generation]"), "1");
    assert!(text("[data-testid=group-state]").contains("Stable"));
    assert_eq!(
        document()
            .query_selector_all(".lab-member")
            .unwrap()
            .length(),
        2
    );
    assert!(text("[data-testid=describe]").starts_with("GROUP"));
    host.remove();
}

#[wasm_bindgen_test]
async fn a_crash_with_commit_after_batch_fills_the_ledger() {
    let (host, _handle) = mount();
    let select: web_sys::HtmlSelectElement =
        query("[data-testid=commit-mode]").unwrap().unchecked_into();
    select.set_value("after-batch");
    select
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    leptos::task::tick().await;
    click("[data-testid=advance-10s]");
    leptos::task::tick().await;
    click("[aria-label='crash c1']");
    for _ in 0..3 {
        click("[data-testid=advance-10s]");
    }
    leptos::task::tick().await;
    let dups: u64 = text("[data-testid=count-duplicate]").parse().unwrap();
    assert!(dups > 0);
    click(".lab-anomaly--duplicate");
    leptos::task::tick().await;
    assert!(text("[data-testid=cause]").contains("crashed"));
    host.remove();
}

#[wasm_bindgen_test]
async fn the_calculator_refuses_a_bad_count() {
    let (host, _handle) = mount();
    set_input("[data-testid=calc-count]", "65");
    leptos::task::tick().await;
    assert!(text("[data-testid=calc-out]").contains("from 1 to 64"));
    set_input("[data-testid=calc-count]", "3");
    leptos::task::tick().await;
    assert_eq!(
        text("[data-testid=calc-java]"),
        format!("p{}", java_partition(b"order-42", 3))
    );
    host.remove();
}
