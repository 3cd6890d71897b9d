// The provider conformance suite against the libvirt provider on qemu:///system (skipped when libvirtd doesn't answer,
// failed under CI=true).
import { libvirtUnavailable } from '../../fixtures/backend-probes.js';
import { projectKeyPair } from '../../harness/keys.js';
import { harnessPaths } from '../../harness/paths.js';
import { LibvirtProvider } from '../../harness/providers/libvirt.js';
import { SLOW_DEFINE_MS } from '../../harness/providers/libvirt/testing/timeouts.js';
import { describeProviderConformance } from './provider-conformance.js';

const URI = 'qemu:///system';

describeProviderConformance(
  'libvirt',
  async () => new LibvirtProvider({ uri: URI, cacheDir: harnessPaths().cache, privateKeyPath: (await projectKeyPair(harnessPaths().keys)).privateKeyPath }),
  // Each start defines its domain: up to SLOW_DEFINE_MS more when /dev/kvm puts libvirtd in its slow state.
  { unavailable: await libvirtUnavailable(URI), startOverheadMs: SLOW_DEFINE_MS },
);
