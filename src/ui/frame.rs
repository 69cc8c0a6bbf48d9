//! The page's frame clock: `requestAnimationFrame` loops (play, skip) and the wall clock
//! they budget the engine by.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

/// Wall-clock ms from the page's monotonic clock.
pub fn wall_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// A frame callback that holds itself until its loop ends.
type Slot = Rc<RefCell<Option<Closure<dyn FnMut(f64)>>>>;

/// Calls `frame` before each paint with the frame's time, until it returns false.
pub fn each_frame(mut frame: impl FnMut(f64) -> bool + 'static) {
    let slot: Slot = Rc::new(RefCell::new(None));
    let again = slot.clone();
    *slot.borrow_mut() = Some(Closure::new(move |t: f64| {
        if frame(t) {
            if let Some(cb) = again.borrow().as_ref() {
                request(cb);
            }
        } else {
            // The loop owns itself through `again`; dropping the closure ends it.
            again.borrow_mut().take();
        }
    }));
    let first = slot.borrow();
    if let Some(cb) = first.as_ref() {
        request(cb);
    }
}

fn request(cb: &Closure<dyn FnMut(f64)>) {
    if let Some(w) = web_sys::window() {
        let _ = w.request_animation_frame(cb.as_ref().unchecked_ref());
    }
}

#[cfg(target_arch = "wasm32")]
/// Runs `f` in a task after the second frame from now: work the first paint must not wait
/// for (the level files' 56 requests cost the main thread ~100 ms on a slow machine), kept
/// out of the task that follows the first frame too.
pub fn after_first_paint(f: impl FnOnce() + 'static) {
    let mut f = Some(f);
    let mut frames = 0;
    each_frame(move |_| {
        frames += 1;
        if frames < 2 {
            return true;
        }
        if let (Some(f), Some(w)) = (f.take(), web_sys::window()) {
            let task = Closure::once_into_js(f);
            let _ =
                w.set_timeout_with_callback_and_timeout_and_arguments_0(task.unchecked_ref(), 0);
        }
        false
    });
}
