//! Files in and out of the page: a download of some JSON, and the text of a file the user
//! picked or dropped. No Kafka here; callers decide what the text means.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

/// The largest file the page reads (runs and progress are far smaller).
pub const MAX_FILE_BYTES: f64 = 4_000_000.0;

/// Offers `text` as a download named `name`.
///
/// # Errors
/// The browser refused (no document, or blobs disabled), in words.
pub fn download(name: &str, text: &str) -> Result<(), String> {
    let fail = |what: &str| format!("the browser could not {what}");
    let parts = js_sys::Array::of1(&text.into());
    let bag = web_sys::BlobPropertyBag::new();
    bag.set_type("application/json");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &bag)
        .map_err(|_| fail("make the file"))?;
    let url =
        web_sys::Url::create_object_url_with_blob(&blob).map_err(|_| fail("make the file"))?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| fail("reach the page"))?;
    let a: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|_| fail("start the download"))?
        .unchecked_into();
    a.set_href(&url);
    a.set_download(name);
    a.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

/// Reads the first file of a list (an `<input type="file">` or a drop) as text, then calls
/// `done` with it, or with why it could not be read.
pub fn read_first(
    files: Option<web_sys::FileList>,
    done: impl FnOnce(Result<String, String>) + 'static,
) {
    let Some(file) = files.and_then(|f| f.get(0)) else {
        done(Err("no file was given".into()));
        return;
    };
    if file.size() > MAX_FILE_BYTES {
        done(Err(format!("{} is larger than 4 MB", file.name())));
        return;
    }
    let Ok(reader) = web_sys::FileReader::new() else {
        done(Err("the browser cannot read files here".into()));
        return;
    };
    // One callback for both outcomes: the reader's result is a string only on success.
    let done = std::rc::Rc::new(std::cell::RefCell::new(Some(done)));
    let name = file.name();
    let finish = {
        let reader = reader.clone();
        let done = done.clone();
        Closure::<dyn FnMut()>::new(move || {
            if let Some(done) = done.borrow_mut().take() {
                done(
                    reader
                        .result()
                        .ok()
                        .and_then(|r| r.as_string())
                        .ok_or_else(|| format!("{name} could not be read as text")),
                );
            }
        })
    };
    reader.set_onloadend(Some(finish.as_ref().unchecked_ref()));
    // The reader calls back once; the closure must outlive this function.
    finish.forget();
    if reader.read_as_text(&file).is_err() {
        if let Some(done) = done.borrow_mut().take() {
            done(Err("the browser could not read the file".into()));
        }
    }
}

/// A file picker dressed as a button (the input stays in the tab order; its label shows
/// focus): hands the picked file's text, or why it could not be read, to `on_text`.
pub fn file_button(
    label: &'static str,
    testid: &'static str,
    accept: &'static str,
    on_text: impl Fn(Result<String, String>) + Copy + 'static,
) -> impl leptos::IntoView {
    use leptos::prelude::*;
    view! {
        <label class="lab-button lab-file">
            {label}
            <input type="file" accept=accept class="lab-sr-only" data-testid=testid on:change=move |ev| {
                let input: web_sys::HtmlInputElement = event_target(&ev);
                read_first(input.files(), on_text);
                // The same file picked again must fire again.
                input.set_value("");
            }/>
        </label>
    }
}
