// README (providers table): "a remote `qemu+ssh://` URI is accepted by `doctor` and status queries, but starting VMs
// there is refused with the reason (disk, ISO and the SSH forward would have to live on that host)". Through
// `harness run` of a libvirt scenario on qemu+ssh://127.0.0.1:1/system: the exact refusal and its fix, exit 3, and
// nothing behind it — no VM dir, no port reservation, no domain on the local daemon, and no ssh ever spawned (an
// `ssh` first on PATH records any call: virsh reaches qemu+ssh:// hosts through it).
import { execa } from 'execa';
import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { describeReal, itReal } from '../../fixtures/real-backend.js';
import { LibvirtProvider } from '../../harness/providers/libvirt.js';
import { domainName } from '../../harness/providers/libvirt/naming.js';
import { makeSandbox, output, type Sandbox } from './sandbox.js';

const URI = 'qemu+ssh://127.0.0.1:1/system';
const SCENARIO = `name: readme-remote
vms:
  far:
    provider: libvirt
    memory: 256M
    libvirt: { uri: "${URI}" }
steps:
  - name: never runs
    on: far
    run: "true"
`;

const probe = await new LibvirtProvider({}).probe();

describeReal('README: starting a VM on a remote qemu+ssh:// URI is refused', !probe.available && `${probe.reason} (fix: ${probe.fix})`, () => {
  let sb: Sandbox;
  let sshCalls: string;

  beforeAll(async () => {
    sb = await makeSandbox('remote');
    await mkdir(join(sb.root, 'bin'));
    sshCalls = join(sb.root, 'ssh-called');
    await writeFile(join(sb.root, 'bin', 'ssh'), `#!/bin/sh\necho "$@" >> ${sshCalls}\nexit 255\n`);
    await chmod(join(sb.root, 'bin', 'ssh'), 0o755);
    await sb.write('remote.yaml', SCENARIO);
  });
  afterAll(async () => sb?.dispose());

  itReal('harness run exits 3 with the reason and the fix, contacts nothing and leaves nothing', undefined, async () => {
    const t = performance.now();
    const r = await sb.cli(['run', join(sb.root, 'remote.yaml')], { env: { PATH: `${join(sb.root, 'bin')}:${process.env.PATH}` } });
    console.log(`remote refusal: harness run ${((performance.now() - t) / 1000).toFixed(1)}s`);
    expect(r.exitCode, output(r)).toBe(3);
    expect(output(r)).toContain(
      `libvirt is not available: starting VMs on a remote URI (${URI}) is not supported yet: ` +
        'the disk, the ISO and the 127.0.0.1 SSH forward would have to live on 127.0.0.1',
    );
    expect(output(r)).toContain('fix: use qemu:///system or qemu:///session');

    await expect(stat(sshCalls)).rejects.toThrow(/ENOENT/);
    expect(await sb.vmDirs()).toEqual([]);
    expect(await sb.reservations(['far'])).toEqual([]);
    const domains = String((await execa('virsh', ['-q', '-c', 'qemu:///system', 'list', '--all', '--name'])).stdout).split('\n');
    expect(domains).not.toContain(domainName('far', sb.vmsDir));
  }, 120_000);
});
