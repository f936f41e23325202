// The part of Node's Buffer that Lambda transformation blueprints and
// Kinesis examples use, for the workers that run a learner's JavaScript
// (lambda-worker.js, console-worker.js): Buffer.from(text | base64 |
// bytes, encoding) and .toString('utf8' | 'base64'). A Uint8Array, so the
// AWS SDK takes it as a record's Data.
export class Buffer extends Uint8Array {
  static from(input, encoding) {
    if (input instanceof Uint8Array) return new Buffer(input);
    if (encoding === 'base64') return new Buffer(Uint8Array.from(atob(String(input)), (c) => c.charCodeAt(0)));
    return new Buffer(new TextEncoder().encode(String(input)));
  }

  toString(encoding) {
    if (encoding === 'base64') {
      let s = '';
      for (const b of this) s += String.fromCharCode(b);
      return btoa(s);
    }
    return new TextDecoder().decode(this);
  }
}
