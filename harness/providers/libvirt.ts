// The libvirt provider: VMs as libvirt domains, driven through `virsh -c URI` (no Node binding). The domain
// XML, the virsh wrapper, the state mapping, snapshots and reaping live in ./libvirt/; this file is the lifecycle.
// Persistent domains (define + start): `stop` leaves the domain defined (status Stopped), `clean` undefines it.
// The caller holds the per-VM lock around start/stop/clean; nothing here takes it.
import { existsSync } from 'node:fs';
import { access, chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, homedir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { HarnessError, ProviderUnavailable } from '../errors.js';
import type { Accel, VmStatus } from '../events.js';
import { vmFiles } from '../paths.js';
import { allocatePorts, releasePorts, transferPorts } from '../ports.js';
import { realClock, retryUntil, RetryTimeout, type Clock } from '../retry.js';
import { decideAccel, type AccelDecision } from './kvm-probe.js';
import type { CleanOptions, ForceCleaned, ForceCleanOptions, MachineSpec, ProbeResult, Provider, StartedMachine } from './provider.js';
import { sshBanner } from './ssh-probe.js';
import { buildDomainXml, type Forward, type HarnessMetadata } from './libvirt/domain-xml.js';
import { readForwards } from './libvirt/domain-read.js';
import { collectInventory, type DomainInventory } from './libvirt/inventory.js';
import { domainName, macFor } from './libvirt/naming.js';
import { localReapUris } from './libvirt/reap-uris.js';
import { listHarnessDomains, reapOrphanDomains, readDomainMetadata, undefineDomain, writeDomainMetadata, type HarnessDomain } from './libvirt/reap.js';
import * as snap from './libvirt/snapshots.js';
import { isActive, mapDomState, parseDomState, type ParsedDomState } from './libvirt/state.js';
import { assertQemuCanReach, createBlank, createOverlay, systemQemuUser, type QemuUser } from './libvirt/storage.js';
import { DEFAULT_LIBVIRT_URI, parseLibvirtUri, type LibvirtUri } from './libvirt/uri.js';
import { isNotFound, Virsh, VirshFailed } from './libvirt/virsh.js';
import { libvirtExtra, type LibvirtExtra } from './libvirt/vm-record.js';
import { formatPortsFile, isStopping, livePid, markStopping, removeVmDir, sigkill } from './vm-state.js';
import { readVmRecord, writeVmRecord, type VmRecord } from '../vm-record.js';
import { registerProvider } from './registry.js';
import { registerReaper } from '../reap.js';
import { redactConsoleLog } from '../redact-file.js';
import { toMiB } from '../scenario/units.js';
import { kvmMismatchWarningOnce, type KvmAccessReport } from './libvirt/kvm-access.js';

export interface LibvirtProviderOptions {
  /** Default connection; a VM's `libvirt.uri` overrides it. Default qemu:///system. */
  uri?: string;
  /** Private key path recorded in vm.json so `harness vm ssh` can log in later (as the qemu provider does). */
  privateKeyPath?: string;
  /** Where the KVM probe caches its answer (harnessPaths().cache). */
  cacheDir?: string;
  /** A kernel to boot-test KVM with (from the tiny image); optional. */
  probeKernel?: () => Promise<string | undefined>;
  virshBinary?: string;
  /** Resolves `accel: auto|kvm|tcg` (default: harness/providers/kvm-probe.ts decideAccel with cacheDir/probeKernel). */
  decideAccel?: (requested: 'auto' | 'kvm' | 'tcg') => Promise<AccelDecision>;
  /** Whether SSH answers on 127.0.0.1:port (Starting vs Running). Default: an SSH banner arrives. */
  sshAnswers?: (port: number) => Promise<boolean>;
  /** How long `stop` waits after an ACPI shutdown before `virsh destroy`. Default 30 s. */
  stopGraceMs?: number;
  /** Size of the blank disk an ISO-booted VM gets when the scenario sets none. Default 2 GiB (sparse). */
  blankDiskBytes?: number;
  /** The user qemu runs as under qemu:///system (for the directory access check); null skips the check. */
  qemuUser?: QemuUser | null;
  /** Where port reservations live (harness/ports.ts); default its machine-wide dir. */
  portsDir?: string;
  clock?: Clock;
  /** Reads /dev/kvm against libvirt's qemu user (default: libvirt/kvm-access.ts on the real host). */
  inspectKvmAccess?: () => KvmAccessReport;
}

/** A started libvirt VM: the common shape plus what libvirt knows about it. */
export interface LibvirtStartedMachine extends StartedMachine {
  domain: string;
  uri: string;
  inventory: DomainInventory;
}

const GiB = 1024 ** 3;

export class LibvirtProvider implements Provider {
  readonly name = 'libvirt';
  readonly uri: LibvirtUri;
  private readonly clock: Clock;

  constructor(private readonly opts: LibvirtProviderOptions = {}) {
    this.uri = parseLibvirtUri(opts.uri ?? DEFAULT_LIBVIRT_URI);
    this.clock = opts.clock ?? realClock;
  }

  virsh(uri = this.uri.uri): Virsh {
    return new Virsh(uri, this.opts.virshBinary);
  }

  /** virsh present, libvirtd answering on the URI, qemu-img present (overlays). */
  async probe(): Promise<ProbeResult> {
    const no = (reason: string, fix: string): ProbeResult => ({ provider: this.name, available: false, reason, fix, details: { uri: this.uri.uri } });
    const bin = await execa(this.opts.virshBinary ?? 'virsh', ['--version'], { reject: false, stdin: 'ignore' });
    if (bin.exitCode !== 0) return no(`virsh is not installed (${bin.code ?? `exit ${bin.exitCode}`})`, 'apt-get install -y libvirt-daemon-system libvirt-clients');
    const v = this.virsh();
    const ver = await v.run(['version'], { timeoutMs: 30_000 });
    if (ver.exitCode !== 0) {
      const why = ver.timedOut ? 'timed out' : ver.stderr.trim().split('\n').pop() ?? `exit ${ver.exitCode}`;
      const fix =
        this.uri.transport === 'ssh'
          ? `check that \`ssh ${this.uri.user ? `${this.uri.user}@` : ''}${this.uri.host}\` works and libvirtd runs there`
          : !existsSync('/usr/sbin/libvirtd')
            ? 'apt-get install -y libvirt-daemon-system'
            : this.uri.mode === 'system'
              ? 'virtlogd -d; libvirtd -d   (no systemd: start both as root)'
              : 'libvirtd --daemon --timeout=120   (as the user; virsh normally spawns the session daemon itself)';
      return no(`libvirtd does not answer on ${this.uri.uri}: ${why}`, fix);
    }
    const img = await execa('qemu-img', ['--version'], { reject: false, stdin: 'ignore' });
    if (img.exitCode !== 0) return no('qemu-img is not installed (needed for disk overlays)', 'apt-get install -y qemu-utils');
    const details: Record<string, string> = { uri: this.uri.uri, virsh: String(bin.stdout).trim() };
    for (const m of ver.stdout.matchAll(/^(Using library|Running hypervisor):\s*(.+)$/gm)) details[m[1] === 'Using library' ? 'libvirt' : 'hypervisor'] = m[2]!.trim();
    return { provider: this.name, available: true, reason: `libvirtd answers on ${this.uri.uri} (${details.libvirt ?? 'libvirt'}, ${details.hypervisor ?? 'QEMU'})`, details };
  }

  async start(spec: MachineSpec): Promise<LibvirtStartedMachine> {
    const { name, config, image, vmsDir } = spec;
    const uri = parseLibvirtUri(config.libvirt?.uri ?? this.uri.uri, { file: '(scenario)', path: `vms.${name}.libvirt.uri` });
    if (uri.transport !== 'local') {
      throw new ProviderUnavailable(
        'libvirt',
        `starting VMs on a remote URI (${uri.uri}) is not supported yet: the disk, the ISO and the 127.0.0.1 SSH forward would have to live on ${uri.host}`,
        'use qemu:///system or qemu:///session',
      );
    }
    const virsh = this.virsh(uri.uri);
    const domain = domainName(name, vmsDir);
    const before = await domState(virsh, domain);
    if (isActive(before)) throw new HarnessError(`libvirt domain ${domain} (VM ${name}) is already ${before!.state}: expected it shut off or absent; stop or clean it first`);

    const f = vmFiles(vmsDir, name);
    await mkdir(f.dir, { recursive: true });
    await chmod(f.dir, 0o755); // qemu (libvirt-qemu) must search it; private keys never live here
    const created: { disk?: boolean; defined?: boolean; ports: number[] } = { ports: [] };
    try {
      const iso = image.kind === 'iso' ? image.path : undefined;
      const user = this.opts.qemuUser === null ? undefined : (this.opts.qemuUser ?? (privileged(uri) ? systemQemuUser() : undefined));
      if (privileged(uri)) {
        const warning = kvmMismatchWarningOnce(spec.runId ?? '', this.opts.inspectKvmAccess);
        if (warning) spec.emit({ type: 'log', level: 'warn', message: warning });
      }
      if (user) await assertQemuCanReach([f.disk, ...(image.kind === 'disk' ? [image.path] : []), ...(iso ? [iso] : []), ...(image.seedIso ? [image.seedIso] : [])], user);
      if (!(await exists(f.disk))) {
        if (image.kind === 'disk') await createOverlay(f.disk, image.path, config.disk);
        else await createBlank(f.disk, config.disk ?? this.opts.blankDiskBytes ?? 2 * GiB);
        created.disk = true;
      }

      // Our ports were free when checked, but a foreign process can bind one before qemu does: on that clash,
      // release them and try again with fresh ones (a port the scenario fixed is retried as is, and fails again).
      let decision!: AccelDecision;
      let sshPort!: number;
      let forwards!: Forward[];
      let mac!: string;
      for (let attempt = 1; ; attempt++) {
        const need = (config.sshPort === undefined ? 1 : 0) + config.ports.filter((p) => p.host === undefined).length;
        created.ports = need ? await allocatePorts(need, { owner: `libvirt:${domain}`, dir: this.opts.portsDir }) : [];
        const pool = [...created.ports];
        sshPort = config.sshPort ?? pool.shift()!;
        forwards = config.ports.map((p) => ({ guest: p.guest, host: p.host ?? pool.shift()! }));

        decision ??= this.opts.decideAccel
          ? await this.opts.decideAccel(config.accel)
          : await decideAccel({ requested: config.accel, kernel: await this.opts.probeKernel?.(), cacheDir: this.opts.cacheDir });
        if (attempt === 1) spec.emit({ type: 'vm.accel', vm: name, accel: decision.accel, reason: decision.reason });

        const meta: HarnessMetadata = { runId: spec.runId ?? '', pid: process.pid, host: hostname(), vm: name, dir: f.dir };
        mac = macFor(domain);
        const xml = buildDomainXml({
          domainName: domain,
          accel: decision.accel,
          memoryMiB: toMiB(config.memory),
          cpus: config.cpus,
          disk: f.disk,
          iso,
          seedIso: image.seedIso,
          kernel: image.directBoot,
          consoleLog: f.log,
          sshPort,
          forwards,
          mac,
          metadata: meta,
        });
        const xmlPath = join(f.dir, 'domain.xml');
        await writeFile(xmlPath, xml);
        await rm(f.log, { force: true }); // one boot per console log: readiness tails must not show the last boot
        await virsh.ok(['define', xmlPath]);
        created.defined = before === undefined;
        const started = await virsh.run(['start', domain]);
        if (started.exitCode === 0) break;
        if (attempt < 4 && created.ports.length && /host forwarding|hostfwd/i.test(started.stderr)) {
          await releasePorts(created.ports, this.opts.portsDir);
          created.ports = [];
          continue;
        }
        throw new VirshFailed(virsh.uri, started);
      }

      spec.emit({ type: 'vm.status', vm: name, from: before ? 'Stopped' : 'NotCreated', to: 'Starting', message: `libvirt ${domain} (${decision.accel})` });
      const inventory = await collectInventory(virsh, domain, true);
      const pid = await qemuPid(uri, domain);
      if (pid) await writeFile(f.pid, `${pid}\n`); // lets the shared pidfile tools (livePid) see the qemu process
      if (pid && created.ports.length) await transferPorts(created.ports, pid, `libvirt:${domain}`, this.opts.portsDir);
      const fwd = Object.fromEntries(forwards.map((x) => [x.guest, x.host]));
      const extra: LibvirtExtra = { uri: uri.uri, domain, uuid: inventory.uuid, mac, reservedPorts: created.ports };
      const rec: VmRecord = {
        name,
        provider: 'libvirt',
        config,
        accel: decision.accel,
        sshPort,
        forwards: fwd,
        user: image.user,
        hostPublicKey: image.hostPublicKey,
        privateKeyPath: this.opts.privateKeyPath ?? '',
        image: { path: image.path, builder: image.builder, cacheKey: image.cacheKey, kind: image.kind, seedIso: image.seedIso },
        runId: spec.runId,
        teardown: spec.teardown,
        ownerPid: process.pid,
        createdAt: new Date(this.clock.now()).toISOString(),
        extra: { libvirt: extra },
      };
      await writeVmRecord(vmsDir, rec);
      await writeFile(f.ports, formatPortsFile(sshPort, fwd));
      spec.emit({ type: 'vm.created', vm: name, provider: 'libvirt', arch: config.arch, cpus: config.cpus, memoryMiB: toMiB(config.memory), disk: f.disk, sshPort, dir: f.dir });
      spec.emit({
        type: 'vm.event',
        vm: name,
        kind: 'ConfigurationUpdated',
        severity: 'Info',
        message: `libvirt domain ${domain} (${inventory.uuid}) started on ${uri.uri}`,
        details: { ...inventory, accel: decision.accel, sshPort, forwards: fwd },
      });
      spec.emit({ type: 'artifact', vm: name, kind: 'console-log', path: f.log });
      return this.machine(name, f.dir, f.log, { accel: decision.accel, sshPort, forwards: fwd }, virsh, inventory, pid);
    } catch (e) {
      // Leave nothing half-made: the domain we defined, the disk we created, the ports we reserved.
      if (created.defined) {
        await virsh.run(['destroy', domain]);
        await undefineDomain(virsh, domain).catch(() => undefined);
      }
      if (created.disk) await rm(f.disk, { force: true });
      if (created.ports.length) await releasePorts(created.ports, this.opts.portsDir);
      throw e;
    }
  }

  /** Status from `virsh domstate`; NotCreated when there is no domain; never takes the lock. */
  async status(name: string, vmsDir: string): Promise<VmStatus> {
    const { virsh, domain, rec } = await this.locate(name, vmsDir);
    const r = await virsh.run(['domstate', '--reason', domain], { timeoutMs: 30_000 });
    if (r.exitCode !== 0) return new VirshFailed(virsh.uri, r).notFound ? 'NotCreated' : 'Unknown';
    if (isActive(parseDomState(r.stdout)) && (await isStopping(vmsDir, name))) return 'Stopping';
    return mapDomState(parseDomState(r.stdout), async () => {
      const port = rec?.sshPort ?? readForwards(await virsh.ok(['dumpxml', domain])).find((x) => x.guest === 22)?.host;
      return port !== undefined && (await (this.opts.sshAnswers ?? defaultSshAnswers)(port));
    });
  }

  /** Reattaches to a running (or paused) domain; the forwarded ports are read back from its live XML. */
  async attach(name: string, vmsDir: string): Promise<LibvirtStartedMachine | undefined> {
    const { virsh, domain, uri } = await this.locate(name, vmsDir);
    if (!isActive(await domState(virsh, domain))) return undefined;
    const xml = await virsh.ok(['dumpxml', domain]);
    const all = readForwards(xml);
    const ssh = all.find((x) => x.guest === 22);
    if (!ssh) throw new HarnessError(`libvirt domain ${domain} has no hostfwd to guest port 22 in its XML: expected one, found ${JSON.stringify(all)}`);
    const forwards = Object.fromEntries(all.filter((x) => x !== ssh).map((x) => [x.guest, x.host]));
    const accel: Accel = /^<domain type=['"]kvm['"]/.test(xml) ? 'kvm' : 'tcg';
    const f = vmFiles(vmsDir, name);
    const inventory = await collectInventory(virsh, domain, uri.transport === 'local');
    return this.machine(name, f.dir, f.log, { accel, sshPort: ssh.host, forwards }, virsh, inventory, await qemuPid(uri, domain));
  }

  /** ACPI shutdown, then `virsh destroy` after the grace period. A paused domain is destroyed at once. */
  async stop(name: string, vmsDir: string): Promise<void> {
    const { virsh, domain, extra } = await this.locate(name, vmsDir);
    const clearStopping = await markStopping(vmsDir, name);
    try {
      await this.shutDown(virsh, domain);
    } finally {
      await clearStopping();
    }
    await rm(vmFiles(vmsDir, name).pid, { force: true });
    if (extra?.reservedPorts.length) await releasePorts(extra.reservedPorts, this.opts.portsDir);
    // libvirt (virtlogd) wrote the console log, secrets included; the domain is off, so no one writes it now.
    await redactConsoleLog(vmFiles(vmsDir, name).log);
  }

  /** ACPI shutdown, then destroy once the grace period is over (at once when paused). */
  private async shutDown(virsh: Virsh, domain: string): Promise<void> {
    const st = await domState(virsh, domain);
    if (isActive(st) && st!.state !== 'paused' && st!.state !== 'pmsuspended') {
      await virsh.run(['shutdown', domain]);
      try {
        await retryUntil(async () => (isActive(await domState(virsh, domain)) ? undefined : true), {
          timeoutMs: this.opts.stopGraceMs ?? 30_000,
          intervalMs: 500,
          clock: this.clock,
        });
      } catch (e) {
        if (!(e instanceof RetryTimeout)) throw e;
      }
    }
    if (isActive(await domState(virsh, domain))) {
      const r = await virsh.run(['destroy', domain]);
      if (r.exitCode !== 0 && isActive(await domState(virsh, domain))) throw new VirshFailed(virsh.uri, r);
    }
  }

  /** Destroys and undefines the domain, then removes the state dir (all but disk.qcow2 with preserveDisk). */
  async clean(name: string, vmsDir: string, options: CleanOptions = {}): Promise<void> {
    const { virsh, domain, extra } = await this.locate(name, vmsDir);
    if (isActive(await domState(virsh, domain))) await virsh.run(['destroy', domain]);
    await undefineDomain(virsh, domain);
    if (extra?.reservedPorts.length) await releasePorts(extra.reservedPorts, this.opts.portsDir);
    await removeVmDir(vmsDir, name, options.preserveDisk ?? false);
  }

  /**
   * The second Ctrl-C: qemu is SIGKILLed first (through our pidfile, else libvirt's), because `virsh destroy` on a
   * hung qemu sits through libvirt's own SIGTERM grace (10 s); then destroy, and unless `keep` undefine (snapshot
   * metadata, managed-save image), release the ports and remove the state dir by policy. Every virsh call is
   * bounded by `timeoutMs` (default 5 s), so a slow libvirtd cannot hold the exit.
   */
  async forceClean(name: string, vmsDir: string, options: ForceCleanOptions = {}): Promise<ForceCleaned> {
    const { domain, extra, uri } = await this.locate(name, vmsDir, options.config?.libvirt?.uri);
    const virsh = new Virsh(uri.uri, this.opts.virshBinary, options.timeoutMs ?? 5_000);
    const pid = (await livePid(vmsDir, name)) ?? (await domainQemuPid(uri, domain));
    const cleaned: ForceCleaned = { killedPids: pid && sigkill(pid) ? [pid] : [], killedContainers: [] };
    const destroyed = await virsh.run(['destroy', domain]);
    // Undefining a domain that still runs would only make it transient: stop here unless it is gone or shut off.
    if (destroyed.exitCode !== 0 && !isNotFound(destroyed.stderr) && !/not running/i.test(destroyed.stderr)) throw new VirshFailed(virsh.uri, destroyed);
    if (options.keep) return cleaned;
    await undefineDomain(virsh, domain);
    if (extra?.reservedPorts.length) await releasePorts(extra.reservedPorts, this.opts.portsDir);
    await removeVmDir(vmsDir, name, options.preserveDisk ?? false);
    return cleaned;
  }

  // ---- beyond the Provider interface: snapshots, ownership, reaping ----

  /** `virsh save`: RAM to `file`, domain shut off. */
  async saveMemory(name: string, vmsDir: string, file: string): Promise<void> {
    const { virsh, domain } = await this.locate(name, vmsDir);
    await snap.saveMemory(virsh, domain, file);
  }

  /** `virsh restore`: the domain runs again from `file`, as it was; returns it attached. */
  async restoreMemory(name: string, vmsDir: string, file: string): Promise<LibvirtStartedMachine> {
    const { virsh } = await this.locate(name, vmsDir);
    await snap.restoreMemory(virsh, file);
    const m = await this.attach(name, vmsDir);
    if (!m) throw new HarnessError(`virsh restore ${file} returned but VM ${name} is not running: expected an active domain`);
    return m;
  }

  async snapshotCreate(name: string, vmsDir: string, tag: string): Promise<void> {
    const { virsh, domain } = await this.locate(name, vmsDir);
    await snap.snapshotCreate(virsh, domain, tag);
  }

  async snapshotRevert(name: string, vmsDir: string, tag: string): Promise<void> {
    const { virsh, domain } = await this.locate(name, vmsDir);
    await snap.snapshotRevert(virsh, domain, tag);
  }

  async snapshotDelete(name: string, vmsDir: string, tag: string): Promise<void> {
    const { virsh, domain } = await this.locate(name, vmsDir);
    await snap.snapshotDelete(virsh, domain, tag);
  }

  async snapshotList(name: string, vmsDir: string): Promise<string[]> {
    const { virsh, domain } = await this.locate(name, vmsDir);
    return snap.snapshotList(virsh, domain);
  }

  /** Marks the domain itself kept (besides vm.json's `kept`), so the domain reaper spares it even without vm.json. */
  async markKept(name: string, vmsDir: string): Promise<void> {
    const { virsh, domain } = await this.locate(name, vmsDir);
    const meta = await readDomainMetadata(virsh, domain);
    if (!meta) throw new HarnessError(`libvirt domain ${domain} has no harness metadata: expected a domain the harness defined`);
    await writeDomainMetadata(virsh, domain, { ...meta, keep: true }, isActive(await domState(virsh, domain)));
  }

  listHarnessDomains(uri?: string): Promise<HarnessDomain[]> {
    return listHarnessDomains(this.virsh(uri));
  }

  /** Destroys + undefines harness domains whose recorded harness pid is dead on this host; never touches others. */
  reapOrphanDomains(uri?: string): Promise<string[]> {
    return reapOrphanDomains(this.virsh(uri));
  }

  /** Which daemon and domain a VM lives in: from vm.json when there is one, else `fallbackUri` or the default. */
  private async locate(name: string, vmsDir: string, fallbackUri?: string): Promise<{ virsh: Virsh; domain: string; extra?: LibvirtExtra; rec?: VmRecord; uri: LibvirtUri }> {
    const rec = await readVmRecord(vmsDir, name);
    const extra = libvirtExtra(rec);
    const uri = extra ? parseLibvirtUri(extra.uri) : fallbackUri ? parseLibvirtUri(fallbackUri) : this.uri;
    return { virsh: this.virsh(uri.uri), domain: extra?.domain ?? domainName(name, vmsDir), extra, rec: extra ? rec : undefined, uri };
  }

  private machine(
    name: string,
    dir: string,
    consoleLog: string,
    net: { accel: Accel; sshPort: number; forwards: Record<number, number> },
    virsh: Virsh,
    inventory: DomainInventory,
    pid: number | undefined,
  ): LibvirtStartedMachine {
    const domain = inventory.domain;
    return {
      name,
      provider: this.name,
      sshHost: '127.0.0.1',
      sshPort: net.sshPort,
      forwards: net.forwards,
      accel: net.accel,
      consoleLog,
      dir,
      pid,
      isAlive: async () => isActive(await domState(virsh, domain)),
      domain,
      uri: virsh.uri,
      inventory,
    };
  }
}

/** `virsh domstate --reason`; undefined when the domain does not exist. Other failures throw. */
async function domState(virsh: Virsh, domain: string): Promise<ParsedDomState | undefined> {
  const r = await virsh.run(['domstate', '--reason', domain], { timeoutMs: 30_000 });
  if (r.exitCode === 0) return parseDomState(r.stdout);
  const err = new VirshFailed(virsh.uri, r);
  if (err.notFound) return undefined;
  throw err;
}

/** The qemu pid libvirt records for a local domain (system: /run/libvirt/qemu; session: the user's runtime dir). */
async function qemuPid(uri: LibvirtUri, domain: string): Promise<number | undefined> {
  if (uri.transport !== 'local') return undefined;
  const base = privileged(uri) ? '/run/libvirt/qemu' : join(process.env.XDG_RUNTIME_DIR ?? join(homedir(), '.cache'), 'libvirt', 'qemu', 'run');
  const pid = Number((await readFile(join(base, `${domain}.pid`), 'utf8').catch(() => '')).trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** libvirt's qemu pid for `domain`, only while that process still is the domain's (guards against pid reuse). */
async function domainQemuPid(uri: LibvirtUri, domain: string): Promise<number | undefined> {
  const pid = await qemuPid(uri, domain);
  if (!pid) return undefined;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmdline.includes(`guest=${domain},`) || cmdline.includes(`guest=${domain}\0`) ? pid : undefined;
}

/** The privileged daemon runs it: qemu:///system, or qemu:///session as root (libvirt serves root's session from the system driver). */
function privileged(uri: LibvirtUri): boolean {
  return uri.mode === 'system' || process.getuid?.() === 0;
}

async function defaultSshAnswers(port: number): Promise<boolean> {
  return (await sshBanner(port)) !== undefined;
}


async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

// The registry builds providers by name (vm.json's `provider`), so `harness vm` and crash reaping can reach libvirt VMs.
registerProvider('libvirt', (ctx) => new LibvirtProvider({ privateKeyPath: ctx.privateKeyPath, cacheDir: ctx.paths.cache, probeKernel: ctx.probeKernel }));

// Domains whose harness died before writing vm.json (or whose vms/ is gone) are found by their metadata instead,
// on every local daemon that is up: the system one, and the user's session one (libvirt/reap-uris.ts; sockets only,
// no virsh spawned when none is there). One daemon failing does not spare the other's orphans.
registerReaper(async (_paths, log) => {
  const failed: string[] = [];
  for (const uri of localReapUris()) {
    try {
      for (const d of await new LibvirtProvider({ uri }).reapOrphanDomains()) log(`reaped libvirt domain ${d} on ${uri} left by a dead harness process`);
    } catch (e) {
      // A user the system daemon refuses (polkit, no libvirt group) cannot have defined domains there: nothing to reap.
      if (uri === 'qemu:///system' && process.getuid?.() !== 0 && e instanceof VirshFailed && /failed to connect to the hypervisor/i.test(e.result.stderr)) continue;
      failed.push(`${uri}: ${(e as Error).message}`);
    }
  }
  if (failed.length) throw new Error(`libvirt domain reaping failed on ${failed.join('; ')}`);
});
