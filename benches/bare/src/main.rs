//! A bare Leptos counter: the floor for the lab's first render.
use leptos::prelude::*;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(|| {
        let count = RwSignal::new(0);
        view! {
            <main>
                <h1>"Counter"</h1>
                <button on:click=move |_| count.update(|c| *c += 1)>{move || count.get()}</button>
            </main>
        }
    });
}
