// The AWS SDK for JavaScript v3's Kinesis client (@aws-sdk/client-kinesis
// from npm), bundled into the site as sdk-kinesis.js by `cargo xtask dist`
// (esbuild) for the in-page console (console-worker.js). Only the console
// worker loads it.
//
// `KinesisClient` is the SDK's own, with two settings the console fixes:
// requests go to the playground's engine (through `requestHandler`) rather
// than over the network, and a region and credentials are filled in when
// the code gives none (nothing checks the signature), so code written for
// AWS runs unchanged.
import * as kinesis from '@aws-sdk/client-kinesis';

export * from '@aws-sdk/client-kinesis';

export function consoleClientClass(requestHandler) {
  return class KinesisClient extends kinesis.KinesisClient {
    constructor(config = {}) {
      super({
        region: 'us-east-1',
        credentials: { accessKeyId: 'SHARDLAB', secretAccessKey: 'shardlab' },
        ...config,
        requestHandler,
        // The engine answers at once or within a tick: no retry storms.
        maxAttempts: config.maxAttempts ?? 1,
      });
    }
  };
}
