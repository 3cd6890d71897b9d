// The provider conformance suite against the qemu provider (qemu-system-x86_64 run directly, TCG here).
import { qemuUnavailable } from '../../fixtures/backend-probes.js';
import { projectKeyPair } from '../../harness/keys.js';
import { harnessPaths } from '../../harness/paths.js';
import { QemuProvider } from '../../harness/providers/qemu.js';
import { describeProviderConformance } from './provider-conformance.js';

describeProviderConformance(
  'qemu',
  async () => new QemuProvider({ cacheDir: harnessPaths().cache, privateKeyPath: (await projectKeyPair(harnessPaths().keys)).privateKeyPath }),
  { unavailable: await qemuUnavailable() },
);
