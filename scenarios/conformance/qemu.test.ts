// The provider conformance suite against the qemu provider (qemu-system-x86_64 run directly, TCG here).
import { execaSync } from 'execa';
import { projectKeyPair } from '../../harness/keys.js';
import { harnessPaths } from '../../harness/paths.js';
import { QemuProvider } from '../../harness/providers/qemu.js';
import { describeProviderConformance } from './provider-conformance.js';

const qemuMissing = execaSync('qemu-system-x86_64', ['--version'], { reject: false }).exitCode !== 0;

describeProviderConformance(
  'qemu',
  async () => new QemuProvider({ cacheDir: harnessPaths().cache, privateKeyPath: (await projectKeyPair(harnessPaths().keys)).privateKeyPath }),
  {
    skip: qemuMissing ? 'qemu-system-x86_64 not found (apt-get install -y qemu-system-x86 qemu-utils)' : undefined,
  },
);
