//! The UI's handle on the simulation worker.

use shardlab_sim::control::{Command, Event};
use wasm_bindgen::prelude::*;
use web_sys::{ErrorEvent, MessageEvent, Worker, WorkerOptions, WorkerType};
use yew::Callback;

pub struct SimWorker {
    worker: Worker,
    _onmessage: Closure<dyn FnMut(MessageEvent)>,
    _onerror: Closure<dyn FnMut(ErrorEvent)>,
}

/// `relative` resolved against the page's base URL, so the site works at a
/// domain's root and under a GitHub Pages sub-path alike.
pub(crate) fn site_url(relative: &str) -> Result<String, String> {
    let base = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.base_uri().ok().flatten())
        .ok_or("The page has no base URL.")?;
    web_sys::Url::new_with_base(relative, &base)
        .map(|u| u.href())
        .map_err(|e| format!("Bad URL {relative}: {e:?}"))
}

/// Starts the module worker `relative` (a script of the site), named
/// `name` (as browsers' task managers show it).
pub(crate) fn module_worker(relative: &str, name: &str) -> Result<Worker, String> {
    let url = site_url(relative)?;
    let options = WorkerOptions::new();
    options.set_type(WorkerType::Module);
    options.set_name(name);
    Worker::new_with_options(&url, &options)
        .map_err(|e| format!("Could not start the {name} worker ({url}): {e:?}"))
}

impl SimWorker {
    pub fn start(
        on_event: Callback<Event>,
        on_failure: Callback<String>,
    ) -> Result<SimWorker, String> {
        let worker = module_worker("./sim-worker.js", "simulation")?;
        let bad_message = on_failure.clone();
        let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            match serde_wasm_bindgen::from_value::<Event>(event.data()) {
                Ok(e) => on_event.emit(e),
                Err(e) => bad_message.emit(format!("Unreadable message from the simulation: {e}")),
            }
        });
        let onerror = Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
            event.prevent_default();
            on_failure.emit(format!("The simulation worker failed: {}", event.message()));
        });
        worker.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        worker.set_onerror(Some(onerror.as_ref().unchecked_ref()));
        Ok(SimWorker {
            worker,
            _onmessage: onmessage,
            _onerror: onerror,
        })
    }

    pub fn send(&self, command: &Command) -> Result<(), String> {
        let value = serde_wasm_bindgen::to_value(command).map_err(|e| e.to_string())?;
        self.worker
            .post_message(&value)
            .map_err(|e| format!("Could not reach the simulation: {e:?}"))
    }
}

impl Drop for SimWorker {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}
