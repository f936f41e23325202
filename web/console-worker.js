// The in-page console: runs a learner's JavaScript, written for the AWS SDK
// for JavaScript v3 (`@aws-sdk/client-kinesis`), against the playground's
// engine. A worker of its own: no DOM, off the page's thread, and the page
// terminates it when the learner presses Stop.
//
// Messages in: { run: code } and { reply: { id, status, body } }.
// Messages out: { log: { level, text } }, { api: { id, operation, body } },
// { done: true } and { error: text }.
import * as sdk from './sdk-kinesis.js';
import { Buffer } from './node-buffer.js';

let nextId = 1;
const waiting = new Map();

// The SDK's HTTP handler, replaced: a request becomes a message to the
// page, which hands it to the simulation; the reply becomes the response.
const requestHandler = {
  metadata: { handlerProtocol: 'shardlab' },
  async handle(request) {
    const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]));
    const target = headers['x-amz-target'] ?? '';
    const operation = target.startsWith('Kinesis_20131202.') ? target.slice('Kinesis_20131202.'.length) : target;
    const body = typeof request.body === 'string' ? request.body : new TextDecoder().decode(request.body ?? new Uint8Array());
    const id = nextId++;
    const reply = await new Promise((resolve) => {
      waiting.set(id, resolve);
      self.postMessage({ api: { id, operation, body } });
    });
    return {
      response: {
        statusCode: reply.status,
        reason: undefined,
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': `${id}-shardlab` },
        body: new TextEncoder().encode(reply.body),
      },
    };
  },
  updateHttpClientConfig() {},
  httpHandlerConfigs: () => ({}),
};

const KinesisClient = sdk.consoleClientClass(requestHandler);
const module = { ...sdk, KinesisClient };
delete module.consoleClientClass;

const show = (value) => {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value, (k, v) => (v instanceof Uint8Array ? `<${v.length} bytes: ${new TextDecoder().decode(v)}>` : typeof v === 'bigint' ? String(v) : v), 2);
  } catch {
    return String(value);
  }
};
const log = (level) => (...values) => self.postMessage({ log: { level, text: values.map(show).join(' ') } });
const consoleObject = { log: log('log'), info: log('log'), warn: log('warn'), error: log('error'), debug: log('log') };

const PACKAGE = '@aws-sdk/client-kinesis';

// `import { A, B as C } from '@aws-sdk/client-kinesis'` becomes
// `const { A, B: C } = __sdk`; `import * as k from ...` becomes
// `const k = __sdk`; `require('@aws-sdk/client-kinesis')` is `__sdk`.
function rewrite(code) {
  return code.replace(/^\s*import\s+([^;]*?)\s+from\s+['"]([^'"]+)['"];?/gm, (_, what, from) => {
    if (from !== PACKAGE) throw new Error(`only ${PACKAGE} can be imported in this console, not ${from}`);
    const star = what.match(/^\*\s+as\s+(\w+)$/);
    if (star) return `const ${star[1]} = __sdk;`;
    return `const ${what.replace(/\s+as\s+/g, ': ')} = __sdk;`;
  });
}

function require(name) {
  if (name === PACKAGE) return module;
  throw new Error(`only ${PACKAGE} can be required in this console, not ${name}`);
}

self.onmessage = async (message) => {
  const data = message.data;
  if (data.reply) {
    const resolve = waiting.get(data.reply.id);
    waiting.delete(data.reply.id);
    resolve?.(data.reply);
    return;
  }
  if (typeof data.run !== 'string') return;
  try {
    const body = rewrite(data.run);
    const run = new Function('__sdk', 'console', 'require', 'Buffer', `return (async () => {\n${body}\n})();`);
    await run(module, consoleObject, require, Buffer);
    self.postMessage({ done: true });
  } catch (e) {
    const name = e && e.name && e.name !== 'Error' ? `${e.name}: ` : '';
    self.postMessage({ error: `${name}${e && e.message ? e.message : e}` });
  }
};

self.postMessage({ ready: true });
