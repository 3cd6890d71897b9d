// Steps `on: <container>` run here: `sh -c <command>` through the Docker exec API, with the same ExecResult shape,
// timeout and output cap as the SSH target. Why the raw API and not StartedTestContainer.exec: that one buffers all
// output and cannot be cancelled; here output streams into capped tails and a timed-out or aborted command is killed.
import { mkdir, mkdtemp, readdir, rename, rm, stat, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Duplex } from 'node:stream';
import { execa } from 'execa';
import type { StartedTestContainer } from 'testcontainers';
import { HarnessError } from '../errors.js';
import { dockerode } from './docker-client.js';
import { killProcessTree } from './kill-tree.js';
import { TailSink } from '../ssh/tail-sink.js';
import type { CopyOptions, ExecOptions, ExecResult, Target } from '../targets/target.js';

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_OUTPUT = 1024 * 1024;

export class ContainerTarget implements Target {
  readonly kind = 'container' as const;

  constructor(readonly name: string, private readonly container: StartedTestContainer) {}

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const { timeoutMs = DEFAULT_TIMEOUT_MS, maxOutputBytes = DEFAULT_MAX_OUTPUT, env = {}, stdin, signal: abort } = options;
    abort?.throwIfAborted();
    const docker = await dockerode();
    const started = Date.now();
    const exec = await docker.getContainer(this.container.getId()).exec({
      Cmd: ['sh', '-c', command],
      AttachStdout: true,
      AttachStderr: true,
      AttachStdin: stdin !== undefined,
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    });
    abort?.throwIfAborted(); // created but never started: nothing runs
    const stream = (await exec.start({ hijack: true, stdin: stdin !== undefined })) as Duplex;
    const out = new TailSink(maxOutputBytes);
    const err = new TailSink(maxOutputBytes);
    docker.modem.demuxStream(stream, out, err);
    const ended = new Promise<void>((res) => {
      stream.on('end', res);
      stream.on('close', res);
      stream.on('error', () => res());
    });
    if (stdin !== undefined) stream.end(stdin); // half-closes the hijacked connection: the command sees EOF

    // Whichever comes first: the command ends, its timeout, or the abort (which may have come while we set up).
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const outcome = await Promise.race([
      ended.then(() => 'ended' as const),
      new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), timeoutMs))),
      new Promise<'abort'>((res) => {
        onAbort = () => res('abort');
        if (abort?.aborted) onAbort();
        else abort?.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
    clearTimeout(timer);
    abort?.removeEventListener('abort', onAbort!);
    const timedOut = outcome === 'timeout';
    let exitCode: number | null = null;
    let signal: string | undefined;
    if (outcome !== 'ended') {
      // The Docker API cannot kill an exec; kill its process tree through the host pid (local engine).
      const { Pid } = await exec.inspect();
      await killProcessTree(Pid);
      signal = 'SIGKILL';
      await Promise.race([ended, new Promise((r) => setTimeout(r, 2_000).unref())]);
      stream.destroy();
    } else {
      const info = await exec.inspect();
      exitCode = info.ExitCode ?? null;
      if (info.Running) exitCode = null; // the stream closed under a live command: the connection dropped
    }
    abort?.throwIfAborted(); // aborted before we settled (even mid-timeout): a rejection, never a result
    return {
      command,
      exitCode,
      ...(signal ? { signal } : {}),
      stdout: out.text(),
      stderr: err.text(),
      durationMs: Date.now() - started,
      timedOut,
      droppedBytes: { stdout: out.dropped, stderr: err.dropped },
      maxOutputBytes,
    };
  }

  /** Copies a local file or directory to `remotePath` (absolute in the container; parents are created). */
  async copyTo(localPath: string, remotePath: string, options: CopyOptions = {}): Promise<void> {
    // testcontainers' copies take no signal: an abort stops a copy before it starts, not halfway.
    options.signal?.throwIfAborted();
    const target = posix.resolve('/', remotePath);
    const s = await stat(localPath).catch((e: unknown) => {
      throw new HarnessError(`copyTo ${this.name}: expected a local file or directory at ${localPath}, found none`, { cause: e });
    });
    if (s.isDirectory()) await this.container.copyDirectoriesToContainer([{ source: localPath, target }]);
    else await this.container.copyFilesToContainer([{ source: localPath, target }]);
  }

  /** Copies `remotePath` (file or directory) out of the container to exactly `localPath`. */
  async copyFrom(remotePath: string, localPath: string, options: CopyOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    const source = posix.resolve('/', remotePath);
    const work = await mkdtemp(join(tmpdir(), 'harness-copy-'));
    try {
      let archive: NodeJS.ReadableStream;
      try {
        archive = await this.container.copyArchiveFromContainer(source);
      } catch (e) {
        throw new HarnessError(`copyFrom ${this.name}: expected ${source} to exist in the container, found none`, { cause: e });
      }
      const tar = execa('tar', ['-x', '-C', work]);
      await pipeline(archive, tar.stdin!);
      await tar;
      const [entry] = await readdir(work);
      if (entry === undefined) throw new HarnessError(`copyFrom ${this.name}: the archive of ${source} was empty`);
      await mkdir(dirname(localPath), { recursive: true });
      await rm(localPath, { recursive: true, force: true });
      await rename(join(work, entry), localPath).catch(async () => {
        await cp(join(work, entry), localPath, { recursive: true }); // across filesystems
      });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /** Nothing to release: each exec is its own API call. */
  async close(): Promise<void> {}
}
