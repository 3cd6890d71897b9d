// The qemu provider: runs qemu-system-x86_64 directly. One qcow2 overlay per VM on a cached base, user-mode
// networking with SSH forwarded on 127.0.0.1, QMP monitor socket, serial console logged to a file,
// pidfile and ports file in vms/<name>/ (the quickemu layout).
import { execa } from 'execa';
import { access, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { VmStatus } from '../events.js';
import { HarnessError, ProviderUnavailable } from '../errors.js';
import { vmFiles } from '../paths.js';
import { allocatePorts, releasePorts, transferPorts } from '../ports.js';
import { toMiB } from '../scenario/units.js';
import { decideAccel } from './kvm-probe.js';
import type { MachineSpec, ProbeResult, Provider, StartedMachine, CleanOptions, ForceCleaned, ForceCleanOptions } from './provider.js';
import { qmpCommand } from './qmp.js';
import {
  formatPortsFile,
  livePid,
  markStopping,
  pidfileStatus,
  removeVmDir,
  sigkill,
} from './vm-state.js';
import { readVmRecord, writeVmRecord, type VmRecord } from '../vm-record.js';
import { pidAlive } from '../lock.js';
import { findOnPath } from '../find-on-path.js';
import { redactConsoleLog } from '../redact-file.js';

const QEMU = 'qemu-system-x86_64';
const INSTALL = 'apt-get install -y qemu-system-x86 qemu-utils';

export interface QemuProviderOptions {
  cacheDir: string;
  /** Private key path recorded in vm.json so `harness vm ssh` can log in later. */
  privateKeyPath: string;
  /** A kernel to boot-test KVM with (from the tiny image); optional. */
  probeKernel?: () => Promise<string | undefined>;
  binary?: string;
  /** How long `stop` waits for the guest to power off after an ACPI power-button press. Default 15 s. */
  stopGraceMs?: number;
}

export class QemuProvider implements Provider {
  readonly name = 'qemu';
  constructor(private readonly opts: QemuProviderOptions) {}

  async probe(): Promise<ProbeResult> {
    const missing = await this.missingTool();
    if (missing) return { provider: 'qemu', available: false, reason: `${missing} not found`, fix: INSTALL };
    const v = await execa(this.opts.binary ?? QEMU, ['--version'], { reject: false });
    if (v.exitCode !== 0) return { provider: 'qemu', available: false, reason: `${this.opts.binary ?? QEMU} --version failed: ${v.stderr || v.stdout}`.trim(), fix: INSTALL };
    return { provider: 'qemu', available: true, reason: v.stdout.split('\n')[0] ?? 'qemu present' };
  }

  /** The first of qemu and qemu-img that is not on PATH (looked up in-process: start must not pay for spawns). */
  private async missingTool(): Promise<string | undefined> {
    for (const tool of [this.opts.binary ?? QEMU, 'qemu-img']) if (!(await findOnPath(tool))) return tool;
    return undefined;
  }

  async start(spec: MachineSpec): Promise<StartedMachine> {
    const missing = await this.missingTool();
    if (missing) throw new ProviderUnavailable('qemu', `${missing} not found`, INSTALL);
    const files = vmFiles(spec.vmsDir, spec.name);
    if (await livePid(spec.vmsDir, spec.name)) throw new HarnessError(`VM ${spec.name} is already running (see harness vm status ${spec.name})`);
    await mkdir(files.dir, { recursive: true });

    const decision = await decideAccel({ requested: spec.config.accel, kernel: await this.opts.probeKernel?.(), cacheDir: this.opts.cacheDir });
    spec.emit({ type: 'vm.accel', vm: spec.name, accel: decision.accel, reason: decision.reason });

    await this.prepareDisk(spec, files.disk);
    // The bind can still lose to a foreign process between our check and qemu's bind: retry on that clash.
    for (let attempt = 1; ; attempt++) {
      const guestPorts = spec.config.ports.map((p) => p.guest);
      const fixed = [spec.config.sshPort, ...spec.config.ports.map((p) => p.host)];
      const auto = await allocatePorts(fixed.filter((p) => p === undefined).length, { owner: `${spec.vmsDir}/${spec.name}` });
      const ports = fixed.map((p) => p ?? auto.shift()!);
      const sshPort = ports[0]!;
      const forwards = Object.fromEntries(guestPorts.map((g, i) => [g, ports[i + 1]!]));
      const allPorts = [sshPort, ...Object.values(forwards)];
      try {
        await writeFile(files.ports, formatPortsFile(sshPort, forwards));
        const record: VmRecord = {
          name: spec.name,
          provider: 'qemu',
          config: spec.config,
          accel: decision.accel,
          sshPort,
          forwards,
          user: spec.image.user,
          hostPublicKey: spec.image.hostPublicKey,
          privateKeyPath: this.opts.privateKeyPath,
          image: { path: spec.image.path, builder: spec.image.builder, cacheKey: spec.image.cacheKey, kind: spec.image.kind, seedIso: spec.image.seedIso },
          runId: spec.runId,
          teardown: spec.teardown,
          ownerPid: process.pid,
          createdAt: new Date().toISOString(),
        };
        await writeVmRecord(spec.vmsDir, record);
        const args = qemuArgs(spec, files, decision.accel, sshPort, forwards);
        spec.emit({ type: 'vm.status', vm: spec.name, from: 'Stopped', to: 'Starting', message: `${QEMU} ${decision.accel}` });
        // -daemonize: qemu returns once the machine is set up, so bind and config errors surface here.
        // The daemon inherits our stdio: give it files, not pipes, or execa would wait for the daemon to exit.
        const errFile = join(files.dir, 'qemu.stderr');
        const r = await execa(this.opts.binary ?? QEMU, args, { reject: false, stdin: 'ignore', stdout: 'ignore', stderr: { file: errFile }, timeout: 30_000 });
        if (r.exitCode !== 0) {
          const msg = (await readFile(errFile, 'utf8').catch(() => '')).trim() || (r.timedOut ? 'timed out' : `signal ${r.signal ?? '?'}`);
          if (/host forwarding rule|Could not set up host forwarding|Address already in use/i.test(msg) && attempt < 5) {
            // Said out loud (it lands in the run record): a clash between two harness runs means the reservation failed.
            spec.emit({ type: 'log', level: 'warn', message: `${spec.name}: port clash on 127.0.0.1 (${allPorts.join(', ')}) at attempt ${attempt}: retrying with fresh ports` });
            await releasePorts(allPorts);
            continue;
          }
          throw new HarnessError(`qemu failed to start ${spec.name} (exit ${r.exitCode}): ${msg.split('\n').slice(-5).join('\n')}`);
        }
        const pid = await livePid(spec.vmsDir, spec.name);
        if (!pid) throw new HarnessError(`qemu started ${spec.name} but its pidfile names no live process`);
        await transferPorts(allPorts, pid, `${spec.vmsDir}/${spec.name}`);
        spec.emit({
          type: 'vm.created',
          vm: spec.name,
          provider: 'qemu',
          arch: spec.config.arch,
          cpus: spec.config.cpus,
          memoryMiB: toMiB(spec.config.memory),
          disk: files.disk,
          sshPort,
          dir: files.dir,
        });
        spec.emit({ type: 'artifact', vm: spec.name, kind: 'console-log', path: files.log });
        return started(spec.name, files, sshPort, forwards, decision.accel, pid);
      } catch (e) {
        await releasePorts(allPorts);
        throw e;
      }
    }
  }

  /** One overlay per VM: on the cloud image for disk images, on a cached blank base for ISO boots. Reused when preserved. */
  private async prepareDisk(spec: MachineSpec, disk: string): Promise<void> {
    if (await exists(disk)) return; // a preserved disk: start again from it
    const size = spec.config.disk ?? 1024 ** 3;
    let base: string;
    let fmt: string;
    if (spec.image.kind === 'disk') {
      base = spec.image.path;
      fmt = (await execa('qemu-img', ['info', '--output=json', base])).stdout.includes('"format": "qcow2"') ? 'qcow2' : 'raw';
    } else {
      base = join(this.opts.cacheDir, 'bases', `blank-${size}.qcow2`);
      fmt = 'qcow2';
      if (!(await exists(base))) {
        await mkdir(join(this.opts.cacheDir, 'bases'), { recursive: true });
        const tmp = `${base}.${process.pid}.tmp`;
        await execa('qemu-img', ['create', '-q', '-f', 'qcow2', tmp, String(size)]);
        await rename(tmp, base);
      }
    }
    const args = ['create', '-q', '-f', 'qcow2', '-b', base, '-F', fmt, disk];
    if (spec.image.kind === 'disk' && spec.config.disk) args.push(String(spec.config.disk));
    await execa('qemu-img', args);
  }

  async status(name: string, vmsDir: string): Promise<VmStatus> {
    return pidfileStatus(vmsDir, name);
  }

  async attach(name: string, vmsDir: string): Promise<StartedMachine | undefined> {
    const rec = await readVmRecord(vmsDir, name);
    const pid = await livePid(vmsDir, name);
    if (!rec || !pid) return undefined;
    return started(name, vmFiles(vmsDir, name), rec.sshPort, rec.forwards, rec.accel, pid);
  }

  /**
   * Stops the VM and keeps its disk: the guest first gets the ACPI power button (QMP system_powerdown) and the
   * grace period to shut down cleanly, so what it wrote reaches the disk; then QMP quit, SIGTERM, SIGKILL.
   */
  async stop(name: string, vmsDir: string): Promise<void> {
    await this.halt(name, vmsDir, true);
    // qemu wrote the console log itself, secrets included; no one writes it now (a restart appends to it).
    await redactConsoleLog(vmFiles(vmsDir, name).log);
  }

  /** Never leaves a process behind. `graceful` first asks the guest to power off (pointless when the disk goes). */
  private async halt(name: string, vmsDir: string, graceful: boolean): Promise<void> {
    const files = vmFiles(vmsDir, name);
    const pid = await livePid(vmsDir, name);
    if (!pid) return;
    const clearStopping = await markStopping(vmsDir, name);
    if (graceful && (await qmpCommand(files.monitor, 'system_powerdown', undefined, 2000).then(() => true, () => false))) {
      await exited(pid, this.opts.stopGraceMs ?? 15_000);
    }
    if (pidAlive(pid)) await qmpCommand(files.monitor, 'quit', undefined, 2000).catch(() => undefined);
    for (const [signal, waitMs] of [[undefined, 3000], ['SIGTERM', 3000], ['SIGKILL', 3000]] as const) {
      if (signal) {
        try {
          process.kill(pid, signal);
        } catch {
          /* already gone */
        }
      }
      if (await exited(pid, waitMs)) break;
    }
    await clearStopping();
    const rec = await readVmRecord(vmsDir, name);
    if (rec) await releasePorts([rec.sshPort, ...Object.values(rec.forwards)]);
  }

  /** A disk that is kept (preserveDisk) gets a graceful stop; one about to be deleted does not need it. */
  async clean(name: string, vmsDir: string, options: CleanOptions = {}): Promise<void> {
    await this.halt(name, vmsDir, options.preserveDisk ?? false);
    await removeVmDir(vmsDir, name, options.preserveDisk ?? false);
  }

  /** The second Ctrl-C: SIGKILL through the pidfile (no QMP, no waiting); the state dir goes by policy, kept with `keep`. */
  async forceClean(name: string, vmsDir: string, options: ForceCleanOptions = {}): Promise<ForceCleaned> {
    const pid = await livePid(vmsDir, name);
    const killedPids = pid !== undefined && sigkill(pid) ? [pid] : [];
    if (!options.keep) await removeVmDir(vmsDir, name, options.preserveDisk ?? false);
    return { killedPids, killedContainers: [] };
  }
}

function qemuArgs(spec: MachineSpec, files: ReturnType<typeof vmFiles>, accel: 'kvm' | 'tcg', sshPort: number, forwards: Record<number, number>): string[] {
  const hostfwd = [`hostfwd=tcp:127.0.0.1:${sshPort}-:22`, ...Object.entries(forwards).map(([g, h]) => `hostfwd=tcp:127.0.0.1:${h}-:${g}`)].join(',');
  const args = [
    // The VM dir in -name marks the process as ours (crash reaping matches /proc/PID/cmdline against it).
    '-name', `${spec.name},process=harness-${spec.name},debug-threads=off`,
    '-machine', `pc,accel=${accel}`,
    '-smp', String(spec.config.cpus),
    '-m', String(toMiB(spec.config.memory)),
    '-nodefaults',
    '-display', 'none',
    '-chardev', `socket,id=ser0,path=${files.serial},server=on,wait=off,logfile=${files.log},logappend=on`,
    '-serial', 'chardev:ser0',
    '-qmp', `unix:${files.monitor},server=on,wait=off`,
    '-pidfile', files.pid,
    '-drive', `file=${files.disk},if=virtio,format=qcow2,cache=unsafe`,
    '-netdev', `user,id=n0,${hostfwd}`,
    '-device', 'virtio-net-pci,netdev=n0',
    '-object', 'rng-random,id=rng0,filename=/dev/urandom',
    '-device', 'virtio-rng-pci,rng=rng0',
    '-daemonize',
  ];
  if (accel === 'kvm') args.push('-cpu', 'host');
  if (spec.image.kind === 'iso') args.push('-cdrom', spec.image.path, '-boot', 'order=d');
  const direct = spec.image.directBoot;
  if (direct) args.push('-kernel', direct.kernel, '-initrd', direct.initrd, '-append', direct.cmdline);
  if (spec.image.seedIso) args.push('-drive', `file=${spec.image.seedIso},media=cdrom,readonly=on`);
  args.push('-sandbox', 'on,obsolete=deny,resourcecontrol=deny');
  return args;
}

function started(
  name: string,
  files: ReturnType<typeof vmFiles>,
  sshPort: number,
  forwards: Record<number, number>,
  accel: 'kvm' | 'tcg',
  pid: number,
): StartedMachine {
  return {
    name,
    provider: 'qemu',
    sshHost: '127.0.0.1',
    sshPort,
    forwards,
    accel,
    consoleLog: files.log,
    dir: files.dir,
    pid,
    isAlive: async () => pidAlive(pid),
  };
}

/** Waits up to `ms` for the process to go; true once it has. */
async function exited(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (pidAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return !pidAlive(pid);
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}
