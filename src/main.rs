//! Browser entry point: install the panic hook and mount the lab. Nothing else lives here.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(|| leptos::view! { <kafka_lab::ui::App/> });
    // The static boot line in index.html has done its job.
    if let Some(boot) = leptos::prelude::document().get_element_by_id("lab-boot") {
        boot.remove();
    }
}
