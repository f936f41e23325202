//! The inside of a shard worker.

use std::cell::RefCell;

use js_sys::{Array, ArrayBuffer, Uint8Array};
use shardlab_engine::protocol::{HostReply, ShardServer};
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

/// Copies `bytes` into a fresh `ArrayBuffer` and posts it, transferring
/// ownership so the buffer is moved, not cloned.
pub(crate) fn post_bytes(
    post: impl FnOnce(&JsValue, &Array) -> Result<(), JsValue>,
    bytes: &[u8],
) -> Result<(), JsValue> {
    let array = Uint8Array::new_with_length(bytes.len() as u32);
    array.copy_from(bytes);
    let buffer = array.buffer();
    post(&buffer, &Array::of1(&buffer))
}

/// Makes this worker a shard host. The JS bootstrap calls it once the wasm
/// module is initialised; it answers `"ready"` and then one reply per request
/// (see `shardlab_engine::protocol`).
#[wasm_bindgen]
pub fn shard_worker_start() -> Result<(), JsValue> {
    console_error_panic_hook::set_once();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().dyn_into()?;
    let server = RefCell::new(ShardServer::new());
    let reply_to = scope.clone();
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let reply = match event.data().dyn_into::<ArrayBuffer>() {
            Ok(buffer) => {
                let handled = server
                    .borrow_mut()
                    .handle_bytes(&Uint8Array::new(&buffer).to_vec());
                match handled {
                    Ok(reply) => reply,
                    // Asked to crash: fail as a real bug would, with a
                    // panic (a trap in wasm) that the coordinator sees as
                    // this worker's error event.
                    Err(_) => panic!("shard worker crashed on request"),
                }
            }
            Err(other) => HostReply::Failed {
                reason: format!("shard worker expects an ArrayBuffer, got {other:?}"),
            }
            .encode(),
        };
        let posted = post_bytes(
            |msg, transfer| reply_to.post_message_with_transfer(msg, transfer),
            &reply,
        );
        if let Err(e) = posted {
            web_sys::console::error_2(&"shard worker could not reply".into(), &e);
        }
    });
    scope.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    onmessage.forget();
    scope.post_message(&JsValue::from_str("ready"))
}
