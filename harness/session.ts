// A Session is a booted scenario: every machine locked, built, started and SSH-ready, with a Target each.
// `harness run` and the vitest fixture share it: boot -> (steps | tests) -> teardown by policy.
import type { EventBus, TeardownPolicy } from './events.js';
import { HarnessError, SshConnectionLost, VmExited } from './errors.js';
import { projectKeyPair, keyPairFromFile, type KeyPair } from './keys.js';
import { acquireLock, type Release } from './lock.js';
import type { HarnessPaths } from './paths.js';
import { vmFiles } from './paths.js';
import type { Plan, PlannedVm } from './plan.js';
import { getProvider, type ProviderContext } from './providers/registry.js';
import type { Provider, StartedMachine, BuiltImage } from './providers/provider.js';
import { consoleTail } from './providers/vm-state.js';
import { readVmRecord, writeVmRecord } from './vm-record.js';
import { waitForSsh } from './readiness.js';
import { redactConsoleLog } from './redact-file.js';
import { connectSsh } from './ssh/connect.js';
import { SshTarget } from './targets/ssh-target.js';
import type { Target } from './targets/target.js';
import { RunningVm } from './machine.js';
import { buildImage } from '../iso/index.js';
import { probeKernelFromCache } from '../iso/probe-kernel.js';
import { scenarioFileLocator } from './scenario/file-locator.js';

/** Console lines a destroyed or disk-preserved VM leaves in its run (its log file is removed with its dir). */
export const CONSOLE_LINES_KEPT = 200;

export interface SessionContext {
  bus: EventBus;
  paths: HarnessPaths;
  signal?: AbortSignal;
}

/** A started container (loaded lazily: VM-only runs never load testcontainers). */
type RunningContainer = Awaited<ReturnType<typeof import('./containers/runtime.js')['startContainer']>>;

interface LiveContainer {
  name: string;
  container?: RunningContainer;
  release: Release;
}

interface LiveVm {
  planned: PlannedVm;
  provider: Provider;
  release: Release;
  image?: BuiltImage;
  machine?: StartedMachine;
  target?: Target;
  vm?: RunningVm;
}

export class Session {
  private constructor(
    readonly plan: Plan,
    private readonly ctx: SessionContext,
    private readonly keys: KeyPair,
    private readonly live: Map<string, LiveVm>,
    private readonly containers = new Map<string, LiveContainer>(),
  ) {}

  /** Boots every machine of the plan in parallel. On any failure, tears down what started (by policy) and rethrows. */
  static async boot(plan: Plan, ctx: SessionContext): Promise<Session> {
    const keys = plan.scenario.ssh.privateKeyFile ? await keyPairFromFile(plan.scenario.ssh.privateKeyFile) : await projectKeyPair(ctx.paths.keys);
    const providerCtx: ProviderContext = { paths: ctx.paths, privateKeyPath: keys.privateKeyPath, probeKernel: () => probeKernelFromCache(ctx.paths.cache) };
    const session = new Session(plan, ctx, keys, new Map());
    const results = await Promise.allSettled([
      ...Object.entries(plan.scenario.containers).map(([key, config]) => session.bootContainer(key, config)),
      ...plan.vms.map((p) => session.bootOne(p, providerCtx)),
    ]);
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) {
      await session.teardown(true);
      throw failure.reason;
    }
    return session;
  }

  private async bootContainer(key: string, config: Plan['scenario']['containers'][string]): Promise<void> {
    const { bus, paths } = this.ctx;
    const files = vmFiles(paths.vms, key);
    const release = await acquireLock(files.lock, `container ${key}`, { waitMs: this.plan.lockWaitMs });
    const live: LiveContainer = { name: key, release };
    this.containers.set(key, live);
    const { startContainer } = await import('./containers/runtime.js');
    live.container = await startContainer({ name: key, config, runId: bus.runId, emit: bus.emit.bind(bus), dir: files.dir, baseDir: this.plan.dir, cacheDir: paths.cache });
  }

  /** A started container, by its scenario name (e.g. to give a VM its published port). */
  container(key: string): RunningContainer {
    const c = this.containers.get(key)?.container;
    if (!c) throw new HarnessError(`no running container named ${key}`);
    return c;
  }

  private async bootOne(planned: PlannedVm, providerCtx: ProviderContext): Promise<void> {
    const { bus, paths, signal } = this.ctx;
    const emit = bus.emit.bind(bus);
    const provider = getProvider(planned.config.provider, providerCtx);
    const lockPath = vmFiles(paths.vms, planned.name).lock;
    const release = await acquireLock(lockPath, `VM ${planned.name}`, {
      waitMs: this.plan.lockWaitMs,
      onWait: (h) => emit({ type: 'log', level: 'warn', message: `VM ${planned.name} is locked by pid ${h?.pid ?? '?'}; waiting` }),
    });
    const live: LiveVm = { planned, provider, release };
    this.live.set(planned.key, live);
    signal?.throwIfAborted();

    emit({ type: 'image.started', vm: planned.name, builder: builderName(planned.config.image) });
    const t0 = Date.now();
    const image = await buildImage(planned.config.image, {
      authorizedKeys: [this.keys.publicKey, ...this.plan.scenario.ssh.authorizedKeys],
      cacheDir: paths.cache,
      baseDir: this.plan.dir,
      signal,
      onProgress: (message) => emit({ type: 'log', level: 'info', message: `${planned.name}: ${message}` }),
      // Image errors name the scenario file, line and field; cloud-init seeds take their hostname from the VM.
      source: { file: this.plan.file, path: ['vms', planned.key, 'image'], locate: scenarioFileLocator(this.plan.file) },
      vmName: planned.name,
    });
    live.image = image;
    emit({ type: 'image.finished', vm: planned.name, builder: image.builder, path: image.path, cacheKey: image.cacheKey, reused: image.reused ?? false, durationMs: Date.now() - t0 });
    signal?.throwIfAborted();

    const machine = await provider.start({ name: planned.name, config: planned.config, image, dir: vmFiles(paths.vms, planned.name).dir, vmsDir: paths.vms, runId: bus.runId, teardown: this.plan.teardown, emit, signal });
    live.machine = machine;
    const target = await waitForSsh(machine, {
      timeoutMs: planned.config.bootTimeout,
      emit,
      signal,
      connect: async () =>
        new SshTarget(
          planned.name,
          () => connectSsh({ host: machine.sshHost, port: machine.sshPort, user: image.user, privateKey: this.keys.privateKey, hostPublicKey: image.hostPublicKey, readyTimeoutMs: 10_000, signal }),
          { isAlive: () => machine.isAlive() },
        ),
    });
    live.target = target;
    live.vm = new RunningVm(target, {
      name: planned.name,
      host: machine.sshHost,
      port: machine.sshPort,
      user: image.user,
      privateKeyPath: this.keys.privateKeyPath,
      hostPublicKey: image.hostPublicKey,
      dir: machine.dir,
      forwards: machine.forwards,
      isAlive: () => machine.isAlive(),
      consoleTail: () => consoleTail(machine.consoleLog, 30),
    });
    emit({ type: 'vm.status', vm: planned.name, from: 'Starting', to: 'Running', message: `SSH ready on 127.0.0.1:${machine.sshPort}` });
  }

  /** The verb API for a machine, by its scenario name. */
  vm(key: string): RunningVm {
    const l = this.live.get(key);
    if (!l?.vm) throw new HarnessError(`no running machine named ${key} in scenario ${this.plan.scenario.name} (have: ${[...this.live.keys()].join(', ')})`);
    return l.vm;
  }

  target(key: string): Target {
    const c = this.containers.get(key)?.container;
    if (c) return c.target();
    const l = this.live.get(key);
    if (!l?.target) throw new HarnessError(`no running machine named ${key}`);
    return l.target;
  }

  machine(key: string): StartedMachine | undefined {
    return this.live.get(key)?.machine;
  }

  /** Turns an error during a step into VmExited (with the console tail) when the machine is gone. */
  async explainFailure(key: string, e: unknown): Promise<unknown> {
    const m = this.live.get(key)?.machine;
    if (!m) return e;
    // A lost connection may be noticed a moment before the dying process is reported gone: look again briefly.
    const looks = e instanceof SshConnectionLost ? 10 : 1;
    for (let i = 0; i < looks; i++) {
      if (!(await m.isAlive())) return new VmExited(m.name, await consoleTail(m.consoleLog, 30), (e as Error)?.message);
      if (i + 1 < looks) await new Promise((r) => setTimeout(r, 100));
    }
    return e;
  }

  /** Tears every machine down by policy, each in its own try so one failure doesn't skip the rest. */
  async teardown(failed: boolean, policyOverride?: TeardownPolicy): Promise<void> {
    const policy = policyOverride ?? this.plan.teardown;
    const emit = this.ctx.bus.emit.bind(this.ctx.bus);
    await Promise.all(
      [...this.live.values()].map(async (l) => {
        const name = l.planned.name;
        emit({ type: 'teardown.started', vm: name, policy });
        try {
          await l.target?.close().catch(() => undefined);
          const keep = policy === 'keep' || (policy === 'keep-on-failure' && failed);
          if (keep && l.machine) {
            const rec = await readVmRecord(this.ctx.paths.vms, name);
            if (rec) await writeVmRecord(this.ctx.paths.vms, { ...rec, kept: true });
            // The console log stays (the VM runs on): what the run put there is redacted now, in place, and qemu /
            // virtlogd keep appending to the same file; output after this is redacted when `harness vm stop` runs.
            await redactConsoleLog(l.machine.consoleLog, { live: true }).catch((e: unknown) =>
              emit({ type: 'log', level: 'warn', message: `${name}: could not redact the console log ${l.machine!.consoleLog}: ${(e as Error).message}` }),
            );
            emit({ type: 'teardown.finished', vm: name, policy, action: 'kept', hint: keepHint(name, l, this.keys) });
          } else if (l.machine || l.image) {
            // The console log goes with the VM dir: its last lines go into the run first (redacted), so the record,
            // the HTML and JUnit reports still show how the machine's console ended.
            if (l.machine) {
              for (const line of await consoleTail(l.machine.consoleLog, CONSOLE_LINES_KEPT).catch(() => [])) emit({ type: 'vm.log', vm: name, stream: 'console', line });
            }
            emit({ type: 'vm.status', vm: name, from: 'Running', to: 'Stopping' });
            await l.provider.clean(name, this.ctx.paths.vms, { preserveDisk: policy === 'preserve-disk' });
            emit({ type: 'vm.status', vm: name, from: 'Stopping', to: policy === 'preserve-disk' ? 'Stopped' : 'NotCreated' });
            emit({ type: 'teardown.finished', vm: name, policy, action: policy === 'preserve-disk' ? 'disk-preserved' : 'destroyed' });
          }
        } catch (e) {
          emit({ type: 'vm.event', vm: name, kind: 'ErrorOccurred', severity: 'Error', message: `teardown failed: ${(e as Error).message}` });
        } finally {
          await l.release().catch(() => undefined);
        }
      }),
    );
    this.live.clear();
    await Promise.all(
      [...this.containers.values()].map(async (c) => {
        try {
          if (policy === 'keep' || (policy === 'keep-on-failure' && failed)) await c.container?.keep();
          else await c.container?.stop();
        } catch (e) {
          emit({ type: 'log', level: 'error', message: `container ${c.name}: teardown failed: ${(e as Error).message}` });
        } finally {
          await c.release().catch(() => undefined);
        }
      }),
    );
    this.containers.clear();
  }
}

function builderName(image: Plan['vms'][number]['config']['image']): string {
  return 'builder' in image ? image.builder : 'iso';
}

/**
 * How to reach a kept VM: the harness command, and plain OpenSSH with the host key pinned through a known_hosts
 * file written into the VM dir now (printing StrictHostKeyChecking=yes without it would fail at once).
 */
function keepHint(name: string, l: LiveVm, keys: KeyPair): string {
  const plain = l.vm?.sshCommand() ?? `ssh -i ${keys.privateKeyPath} -p ${l.machine?.sshPort} ${l.image?.user ?? 'root'}@127.0.0.1`;
  return [`harness vm ssh ${name}`, plain].join('   or   ');
}
