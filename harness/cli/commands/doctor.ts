// `harness doctor`: which providers and tools work here, why not, and the command that installs what's missing.
import { execa } from 'execa';
import type { CliCommand } from '../command.js';
import { parse } from '../args.js';
import { harnessPaths } from '../../paths.js';
import type { ProbeResult } from '../../providers/provider.js';
import { getProvider, providerNames } from '../../providers/registry.js';
import { probeKvm } from '../../providers/kvm-probe.js';
import { probeKernelFromCache } from '../../../iso/probe-kernel.js';
import { extraProbes } from '../../doctor-probes.js';
import { probeNixSetup } from '../../nix-setup-probe.js';
import { inspectKvmAccess } from '../../providers/libvirt/kvm-access.js';

interface ToolCheck {
  name: string;
  command: string[];
  purpose: string;
  fix: string;
}

// quickemu and Lima are not listed: the harness has no provider for them yet, so installing them would enable nothing.
const TOOLS: ToolCheck[] = [
  { name: 'qemu-img', command: ['qemu-img', '--version'], purpose: 'VM disk overlays', fix: 'apt-get install -y qemu-utils' },
  { name: 'apt-get', command: ['apt-get', '--version'], purpose: 'fetching kernel/busybox/dropbear for the tiny image', fix: 'use a Debian or Ubuntu host' },
  { name: 'xorriso', command: ['xorriso', '-version'], purpose: 'ISO images (tiny, cloud-init seeds)', fix: 'apt-get install -y xorriso' },
  { name: 'grub-mkrescue', command: ['grub-mkrescue', '--version'], purpose: 'bootable tiny ISO', fix: 'apt-get install -y grub-pc-bin grub-common mtools' },
  { name: 'mformat', command: ['mformat', '--version'], purpose: 'grub-mkrescue EFI image', fix: 'apt-get install -y mtools' },
  { name: 'dropbearconvert', command: ['sh', '-c', 'command -v dropbearconvert'], purpose: 'pinned dropbear host keys', fix: 'apt-get install -y dropbear-bin' },
  { name: 'ssh', command: ['ssh', '-V'], purpose: 'interactive `harness vm ssh`', fix: 'apt-get install -y openssh-client' },
];

export const doctorCommand: CliCommand = {
  name: 'doctor',
  usage: 'usage: harness doctor [--json]',
  async run(args, io) {
    const { values } = parse(args, { json: { type: 'boolean' } }, false);
    const paths = harnessPaths(io.env, io.cwd);
    const results: ProbeResult[] = [];
    for (const name of providerNames()) {
      results.push(await getProvider(name, { paths, privateKeyPath: '' }).probe().catch((e: Error) => ({ provider: name, available: false, reason: e.message })));
    }
    const kvm = await probeKvm({ requested: 'auto', kernel: await probeKernelFromCache(paths.cache), cacheDir: paths.cache });
    results.push({ provider: 'kvm', available: kvm.works, reason: kvm.reason, fix: kvm.works ? undefined : 'none needed: VMs run under TCG (slower); use a host with hardware virtualization for KVM' });
    // libvirt's capability cache against /dev/kvm's owner and mode: the state that makes every `virsh define` take 35-44 s.
    const access = inspectKvmAccess();
    results.push({ provider: 'libvirt-kvm', available: !access.invalidatesCaches, reason: access.reason, fix: access.fix });
    for (const p of extraProbes) results.push(await p().catch((e: Error) => ({ provider: 'probe', available: false, reason: e.message })));
    for (const t of TOOLS) {
      const r = await execa(t.command[0]!, t.command.slice(1), { reject: false, timeout: 10_000 });
      const ok = r.exitCode === 0;
      results.push({ provider: t.name, available: ok, reason: ok ? `${t.purpose}: ${String(r.stdout || r.stderr).split('\n')[0]}` : `${t.purpose}: not found`, fix: ok ? undefined : t.fix });
    }
    // nix: present, and (as root) its build users exist, or every nixos build fails.
    results.push(await probeNixSetup());
    if (values.json) io.out(JSON.stringify(results, null, 2) + '\n');
    else {
      for (const r of results) {
        io.out(`${r.available ? 'ok     ' : 'MISSING'} ${r.provider.padEnd(16)} ${r.reason}\n`);
        if (!r.available && r.fix) io.out(`        ${''.padEnd(16)} fix: ${r.fix}\n`);
      }
    }
    return results.find((r) => r.provider === 'qemu')?.available ? 0 : 3;
  },
};
