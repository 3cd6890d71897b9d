// Test fixture (run as a child process by reaper.test.ts): starts one labelled container, prints its id, then
// waits to be SIGKILLed, so the container is left behind exactly as a crashed harness would leave it.
import { containerSchema } from '../scenario/schema.js';
import { startContainer } from './runtime.js';

const [runId, dir, cacheDir] = process.argv.slice(2) as [string, string, string];
const c = await startContainer({
  name: 'orphan',
  runId,
  dir,
  cacheDir,
  config: containerSchema.parse({ image: 'harness/busybox', command: ['sleep', '600'] }),
});
process.stdout.write(`${c.id}\n`);
setInterval(() => undefined, 60_000);
