// Runs a learner's Lambda function (a Firehose transformation, or an event
// source mapping's handler, in AWS Lambda's Node.js handler shape) off the
// page and off the simulation: a worker of its own, with no DOM, that the
// simulation terminates if the function runs past its time limit. Each
// message is one invocation: { source, event } in, { ok: <response JSON
// text> } or { error: <text> } out.

import { Buffer } from './node-buffer.js';

const handlers = new Map();

function load(source) {
  if (handlers.has(source)) return handlers.get(source);
  // `export const handler = ...` (ES module style) becomes exports.handler.
  const code = source
    .replace(/^\s*export\s+(const|let|var)\s+handler\s*=/m, 'exports.handler =')
    .replace(/^\s*export\s+(async\s+)?function\s+handler\b/m, 'exports.handler = $1function handler');
  const module = { exports: {} };
  const define = new Function('module', 'exports', 'Buffer', `${code}
;return typeof handler === 'function' ? handler : module.exports.handler;`);
  const handler = define(module, module.exports, Buffer);
  if (typeof handler !== 'function') {
    throw new Error('the code defines no handler: write exports.handler = async (event) => { ... }');
  }
  handlers.set(source, handler);
  return handler;
}

// Loaded: the simulation starts an invocation's time limit only now, so a
// slow start-up never counts against the function.
self.postMessage({ ready: true });

self.onmessage = async (message) => {
  const { source, event } = message.data;
  try {
    const result = await load(source)(JSON.parse(event), { functionName: 'transform' });
    self.postMessage({ ok: JSON.stringify(result ?? null) });
  } catch (e) {
    self.postMessage({ error: String(e && e.message ? e.message : e) });
  }
};
