// Starts a scenario's container through testcontainers and hands back a RunningContainer: its host ports on
// 127.0.0.1, its log, a Target for steps, and an idempotent stop(). Every failure path removes what it started.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { StartedTestContainer } from 'testcontainers';
import type { EmittedEvent } from '../events.js';
import { HarnessError } from '../errors.js';
import { harnessPaths, vmFiles } from '../paths.js';
import type { ContainerConfig } from '../scenario/schema.js';
import type { Target } from '../targets/target.js';
import { ContainerTarget } from './container-target.js';
import { ContainerLog } from './container-log.js';
import { dockerClient, dockerode, LOOPBACK } from './docker-client.js';
import { ContainerImageError, ContainerNotReady } from './errors.js';
import { harnessLabels } from './labels.js';
import { BASE_REPO, buildImage, ensureBaseImage, imageExists } from './local-image.js';
import { LoopbackContainer } from './loopback-container.js';
import { reapOrphanContainers } from './reaper.js';
import { toWaitStrategy } from './wait.js';

export interface StartContainerOptions {
  /** The scenario's name for it (`containers.<name>`). */
  name: string;
  config: ContainerConfig;
  runId: string;
  emit?: (e: EmittedEvent) => void;
  /** Its state dir (log file, container.json); default vms/<name>. */
  dir?: string;
  /** What `build.context` is relative to (the scenario file's folder); default the current directory. */
  baseDir?: string;
  /** Where image-build locks live; default the harness cache. */
  cacheDir?: string;
  /** Docker volumes (or absolute host paths) to mount, e.g. the container provider's preserved "disk". */
  mounts?: Array<{ source: string; target: string }>;
}

export interface PortMapping {
  container: number;
  host: number;
}

/** A container that is up and ready. `stop()` removes it; afterwards only the fields remain. */
export interface RunningContainer extends AsyncDisposable {
  readonly name: string;
  readonly id: string;
  readonly image: string;
  /** Always 127.0.0.1: ports are published there only. A VM under qemu user networking reaches it as 10.0.2.2. */
  readonly host: string;
  readonly ports: PortMapping[];
  readonly logFile: string;
  /** The host port published for `containerPort`; throws if that port was not in `ports:`. */
  hostPort(containerPort: number): number;
  /** `http://127.0.0.1:<hostPort><path>`. */
  url(containerPort: number, path?: string): string;
  logTail(lines?: number): string[];
  /** A Target running steps through the container's exec. */
  target(): Target;
  /** Removes the container (idempotent). */
  stop(): Promise<void>;
  /** Teardown policy keep: leave it running and exempt it from orphan reaping; `harness` can find it by container.json. */
  keep(): Promise<void>;
}

/** Builds or finds the image, starts the container, waits until ready. */
export async function startContainer(opts: StartContainerOptions): Promise<RunningContainer> {
  const { name, config, runId } = opts;
  const emit = opts.emit ?? (() => undefined);
  const dir = resolve(opts.dir ?? vmFiles(harnessPaths().vms, name).dir);
  await mkdir(dir, { recursive: true });
  await dockerClient();
  const reaped = await reapOrphanContainers();
  if (reaped.length) emit({ type: 'log', level: 'info', message: `removed ${reaped.length} orphaned container(s): ${reaped.map((r) => `${r.name ?? '?'} (pid ${r.pid})`).join(', ')}` });

  const image = await resolveImage(opts, emit);
  const logFile = join(dir, `${name}.log`);
  await rm(logFile, { force: true });
  const log = new ContainerLog(name, logFile, emit);
  const builder = new LoopbackContainer(image)
    .withLabels(harnessLabels(runId, name, process.pid, dir))
    .withExposedPorts(...config.ports)
    .withEnvironment(config.env)
    .withStartupTimeout(config.startupTimeout)
    .withLogConsumer((stream) => log.attach(stream));
  if (config.command) builder.withCommand(config.command);
  if (opts.mounts?.length) builder.withBindMounts(opts.mounts);
  const wait = toWaitStrategy(config.wait, config.ports);
  // testcontainers stops and removes a container that fails its wait before rethrowing, so a container that
  // died early must be inspected inside the wait, while it still exists, to report its exit code.
  let exitedBeforeReady: Awaited<ReturnType<typeof exitedState>>;
  if (wait) {
    const ready = wait.waitUntilReady.bind(wait);
    wait.waitUntilReady = async (...args: Parameters<typeof ready>) => {
      try {
        return await ready(...args);
      } catch (e) {
        exitedBeforeReady = await exitedState(args[0].id);
        throw e;
      }
    };
    builder.withWaitStrategy(wait);
  }

  emit({ type: 'container.state', name, image, status: 'starting', ports: [] });
  let started: StartedTestContainer;
  try {
    started = await builder.start();
  } catch (e) {
    const id = builder.createdId;
    const exited = exitedBeforeReady ?? (id ? await exitedState(id) : undefined);
    if (id) await forceRemove(id);
    log.finish();
    await log.closed;
    emit({ type: 'container.state', name, image, id, status: 'removed', ports: [] });
    emit({ type: 'artifact', vm: name, kind: 'container-log', path: logFile });
    if (e instanceof HarnessError) throw e;
    const why = exited ? `it exited with code ${exited.exitCode}; ${(e as Error).message}` : (e as Error).message;
    const tail = log.lastLines().length ? log.lastLines() : (exited?.logTail ?? []);
    throw new ContainerNotReady(name, config.startupTimeout, tail, why, { cause: e });
  }
  const ports = config.ports.map((p) => ({ container: p, host: started.getMappedPort(p) }));
  const running = new StartedHarnessContainer(name, image, started, ports, log, dir, emit);
  try {
    await writeFile(join(dir, 'container.json'), JSON.stringify({ name, id: started.getId(), image, runId, host: LOOPBACK, ports }, null, 2));
  } catch (e) {
    await running.stop();
    throw e;
  }
  emit({ type: 'container.state', name, image, id: started.getId(), status: 'running', ports });
  return running;
}

class StartedHarnessContainer implements RunningContainer {
  readonly host = LOOPBACK;
  readonly id: string;
  private stopping?: Promise<void>;

  constructor(
    readonly name: string,
    readonly image: string,
    private readonly started: StartedTestContainer,
    readonly ports: PortMapping[],
    private readonly log: ContainerLog,
    private readonly dir: string,
    private readonly emit: (e: EmittedEvent) => void,
  ) {
    this.id = started.getId();
  }

  get logFile(): string {
    return this.log.path;
  }

  hostPort(containerPort: number): number {
    const m = this.ports.find((p) => p.container === containerPort);
    if (!m) throw new HarnessError(`container ${this.name}: expected a published port ${containerPort}, found ${this.ports.map((p) => p.container).join(', ') || 'none'} (add it to ports:)`);
    return m.host;
  }

  url(containerPort: number, path = '/'): string {
    return `http://${this.host}:${this.hostPort(containerPort)}${path.startsWith('/') ? path : `/${path}`}`;
  }

  logTail(lines = 30): string[] {
    return this.log.lastLines(lines);
  }

  target(): Target {
    return new ContainerTarget(this.name, this.started);
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  async keep(): Promise<void> {
    const file = join(this.dir, 'container.json');
    const rec = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    await writeFile(file, JSON.stringify({ ...rec, kept: true }, null, 2));
    this.emit({ type: 'container.state', name: this.name, image: this.image, id: this.id, status: 'kept', ports: this.ports });
  }

  private async doStop(): Promise<void> {
    this.emit({ type: 'container.state', name: this.name, image: this.image, id: this.id, status: 'stopping', ports: this.ports });
    try {
      await this.started.stop({ timeout: 1_000, remove: true });
    } catch {
      await forceRemove(this.id);
    }
    // The followed log stream ends with the container; don't hang on it if the engine never closes it.
    await Promise.race([this.log.closed, new Promise((r) => setTimeout(r, 2_000).unref())]);
    this.log.finish();
    await rm(join(this.dir, 'container.json'), { force: true });
    this.emit({ type: 'container.state', name: this.name, image: this.image, id: this.id, status: 'removed', ports: [] });
    this.emit({ type: 'artifact', vm: this.name, kind: 'container-log', path: this.log.path });
  }
}

/** The image tag to run: built from `build:`, the busybox base (built on demand), or one already in the engine. */
async function resolveImage(opts: StartContainerOptions, emit: (e: EmittedEvent) => void): Promise<string> {
  const { name, config } = opts;
  const wantsBase = config.image === BASE_REPO || config.image?.startsWith(`${BASE_REPO}:`);
  if (config.build || wantsBase) {
    const builder = config.build ? 'docker-build' : 'busybox-import';
    emit({ type: 'image.started', vm: name, builder });
    const built = config.build
      ? await buildImage({ context: resolve(opts.baseDir ?? '.', config.build.context), dockerfile: config.build.dockerfile, cacheDir: opts.cacheDir })
      : await ensureBaseImage({ cacheDir: opts.cacheDir });
    const cacheKey = built.tag.slice(built.tag.lastIndexOf(':') + 1);
    emit({ type: 'image.finished', vm: name, builder, path: built.tag, cacheKey, reused: built.reused, durationMs: built.durationMs });
    if (config.build || config.image === BASE_REPO || config.image === `${BASE_REPO}:latest`) return built.tag;
    if (config.image !== built.tag) throw new ContainerImageError(config.image!, `expected the current busybox base ${built.tag}; write image: ${BASE_REPO} to follow it`);
    return built.tag;
  }
  const image = config.image!;
  if (!(await imageExists(image))) {
    throw new ContainerImageError(image, 'it is not in the local engine and no registry is reachable; build it with `build:` (FROM harness/busybox) or load it with docker load/import');
  }
  return image;
}

/** For a container that stopped before it was ready: its exit code and last output (the log stream never attached). */
async function exitedState(id: string): Promise<{ exitCode: number; logTail: string[] } | undefined> {
  try {
    const c = (await dockerode()).getContainer(id);
    // A wait strategy can fail on a container that is exiting ("409 ... is not running") while inspect still says
    // Running for a moment: look again briefly before deciding it did not exit.
    let info = await c.inspect();
    for (let i = 0; info.State.Running && i < 10; i++) {
      await new Promise((r) => setTimeout(r, 200));
      info = await c.inspect();
    }
    if (info.State.Running) return undefined;
    const raw = (await c.logs({ stdout: true, stderr: true, tail: 30, follow: false })) as unknown as Buffer;
    return { exitCode: info.State.ExitCode, logTail: demuxLogs(raw).split('\n').filter(Boolean) };
  } catch {
    return undefined;
  }
}

/** Docker's multiplexed log format: 8-byte frame headers (stream, 0, 0, 0, size32be) before each chunk. */
export function demuxLogs(buf: Buffer): string {
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const size = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}

async function forceRemove(id: string): Promise<void> {
  try {
    await (await dockerode()).getContainer(id).remove({ force: true, v: true });
  } catch (e) {
    const code = (e as { statusCode?: number }).statusCode;
    if (code !== 404 && code !== 409) throw e;
  }
}
