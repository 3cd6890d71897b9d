// Lets testcontainers load on Node 20. Why: testcontainers 12 depends on undici 8 (engines: node >= 22.19), which
// at load time uses two Node 22 APIs: zlib.createZstdDecompress and worker_threads.markAsUncloneable. On Node 20
// both are undefined and `import 'testcontainers'` throws. The stand-ins: zstd decoding throws if ever needed
// (only if a server answers an HTTP wait with `Content-Encoding: zstd`), and markAsUncloneable (a hint that
// stops an object being posted to a worker) does nothing. Import this before 'testcontainers' (docker-client.ts
// does). Remove once the project runs Node >= 22, or pins testcontainers 11 (undici 7 supports Node 20).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const zlib = require('node:zlib') as Record<string, unknown>;
const workerThreads = require('node:worker_threads') as Record<string, unknown>;

if (typeof zlib.createZstdDecompress !== 'function') {
  zlib.createZstdDecompress = () => {
    throw new Error(`zstd-encoded HTTP responses need Node >= 22.15 (this is ${process.version})`);
  };
}
if (typeof workerThreads.markAsUncloneable !== 'function') {
  workerThreads.markAsUncloneable = () => undefined;
}
