// The provider conformance suite against the libvirt provider on qemu:///system (skipped when libvirtd doesn't answer).
import { execaSync } from 'execa';
import { projectKeyPair } from '../../harness/keys.js';
import { harnessPaths } from '../../harness/paths.js';
import { LibvirtProvider } from '../../harness/providers/libvirt.js';
import { describeProviderConformance } from './provider-conformance.js';

const URI = 'qemu:///system';
const probe = execaSync('virsh', ['-c', URI, 'version'], { reject: false, timeout: 30_000 });
const why = probe.exitCode === 0 ? undefined : `\`virsh -c ${URI} version\` failed: ${String(probe.stderr || probe.shortMessage).trim().split('\n').pop()}`;

describeProviderConformance(
  'libvirt',
  async () => new LibvirtProvider({ uri: URI, cacheDir: harnessPaths().cache, privateKeyPath: (await projectKeyPair(harnessPaths().keys)).privateKeyPath }),
  {
    skip: why,
  },
);
