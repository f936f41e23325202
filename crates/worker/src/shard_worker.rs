//! The inside of a shard worker.

use std::cell::RefCell;

use js_sys::{Array, ArrayBuffer, Uint8Array};
use shardlab_engine::protocol::{HostReply, ShardServer};
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

/// Copies `bytes` into `spare` when it is large enough, else into a fresh
/// `ArrayBuffer`, and posts a view of them, transferring the buffer so it
/// is moved, not cloned. The receiver copies the bytes out and sends the
/// buffer back with its answer: one buffer goes to and fro between the
/// coordinator and each worker. (A fresh buffer per message is a fresh
/// allocation whose pages fault in as the bytes are copied: profiled in
/// Chromium, copying a fast-forward's batches took the simulation worker
/// 1.5 s into fresh buffers, 0.2 s into buffers used before.)
pub(crate) fn post_bytes(
    post: impl FnOnce(&JsValue, &Array) -> Result<(), JsValue>,
    bytes: &[u8],
    spare: Option<ArrayBuffer>,
) -> Result<(), JsValue> {
    let len = bytes.len() as u32;
    let buffer = spare
        // Large enough, and not kept far larger than the messages (as one
        // that carried a restore would be).
        .filter(|b| {
            b.byte_length() >= len && b.byte_length() <= (16 << 20).max(len.saturating_mul(4))
        })
        // Room to grow, so that a slightly larger next message fits.
        .unwrap_or_else(|| ArrayBuffer::new(len.saturating_add((len / 4).min(1 << 20)).max(64)));
    let view = Uint8Array::new_with_byte_offset_and_length(&buffer, 0, len);
    view.copy_from(bytes);
    post(&view, &Array::of1(&buffer))
}

/// The bytes of a message posted by [`post_bytes`] (a view) or as a whole
/// `ArrayBuffer`, and the buffer, to be used again for the answer.
pub(crate) fn received_bytes(data: JsValue) -> Result<(Vec<u8>, ArrayBuffer), JsValue> {
    let view = match data.dyn_into::<Uint8Array>() {
        Ok(view) => view,
        Err(data) => Uint8Array::new(&JsValue::from(data.dyn_into::<ArrayBuffer>()?)),
    };
    Ok((view.to_vec(), view.buffer()))
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
        let (reply, spare) = match received_bytes(event.data()) {
            Ok((bytes, buffer)) => match server.borrow_mut().handle_bytes(&bytes) {
                Ok(reply) => (reply, Some(buffer)),
                // Asked to crash: fail as a real bug would, with a panic (a
                // trap in wasm) that the coordinator sees as this worker's
                // error event.
                Err(_) => panic!("shard worker crashed on request"),
            },
            Err(other) => (
                HostReply::Failed {
                    reason: format!("shard worker expects bytes, got {other:?}"),
                }
                .encode(),
                None,
            ),
        };
        let posted = post_bytes(
            |msg, transfer| reply_to.post_message_with_transfer(msg, transfer),
            &reply,
            spare,
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
