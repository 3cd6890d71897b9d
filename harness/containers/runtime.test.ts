// Real dockerd: containers start from the locally built busybox image, publish on 127.0.0.1 only, stream their
// logs, run steps through exec, and leave nothing behind on success or failure.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeReal } from '../../fixtures/real-backend.js';
import type { HarnessEvent, EmittedEvent } from '../events.js';
import { containerSchema, type ContainerInput } from '../scenario/schema.js';
import { dockerode } from './docker-client.js';
import { ContainerImageError, ContainerNotReady } from './errors.js';
import { LABEL_RUN_ID } from './labels.js';
import { startContainer, type RunningContainer } from './runtime.js';
import { containersWithLabel, dockerUnavailable, listeningAddresses } from './test-helpers.js';

const noDocker = await dockerUnavailable();
/** Each test starts one or two containers and waits for readiness: 1-10 s measured here; room for a loaded 2-core host. */
const CONTAINER_MS = 120_000;
const HTTPD = ['sh', '-c', 'echo booting-marker; mkdir -p /www && echo hello-from-busybox > /www/index.html && exec httpd -f -v -p 80 -h /www'];

describeReal('container runtime (real dockerd)', noDocker, () => {
  let work: string;
  const runId = `rt-${process.pid}-${Date.now()}`;
  const started: RunningContainer[] = [];

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'harness-containers-'));
  });
  afterAll(async () => {
    for (const c of started) await c.stop();
    await rm(work, { recursive: true, force: true });
  });

  function start(name: string, input: ContainerInput, events: EmittedEvent[] = []) {
    return startContainer({
      name,
      runId,
      config: containerSchema.parse(input),
      dir: join(work, name),
      baseDir: work,
      cacheDir: join(work, 'cache'),
      emit: (e) => events.push(e),
    }).then((c) => {
      started.push(c);
      return c;
    });
  }

  it('serves HTTP on a port published on 127.0.0.1 only, with state events and a captured log', async () => {
    const events: EmittedEvent[] = [];
    const web = await start('web', { image: 'harness/busybox', ports: [80], command: HTTPD, wait: { http: { port: 80, path: '/' } } }, events);

    const res = await fetch(web.url(80));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('hello-from-busybox\n');

    const hostPort = web.hostPort(80);
    expect(web.host).toBe('127.0.0.1');
    const addresses = await listeningAddresses(hostPort);
    expect(addresses.length).toBeGreaterThan(0);
    expect(addresses.every((a) => a === '127.0.0.1')).toBe(true);
    const inspect = await (await dockerode()).getContainer(web.id).inspect();
    expect(inspect.NetworkSettings.Ports['80/tcp']).toEqual([{ HostIp: '127.0.0.1', HostPort: String(hostPort) }]);

    const states = events.filter((e): e is Extract<HarnessEvent, { type: 'container.state' }> => e.type === 'container.state');
    expect(states.map((s) => s.status)).toEqual(['starting', 'running']);
    expect(states[1]).toMatchObject({ name: 'web', id: web.id, ports: [{ container: 80, host: hostPort }] });

    const logLines = events.filter((e) => e.type === 'vm.log').map((e) => (e as { stream: string; line: string }));
    expect(logLines).toContainEqual(expect.objectContaining({ stream: 'container', line: 'booting-marker' }));

    await web.stop();
    await web.stop(); // idempotent
    expect(await readFile(web.logFile, 'utf8')).toContain('booting-marker');
    expect(events.filter((e) => e.type === 'container.state').map((e) => (e as { status: string }).status)).toEqual(['starting', 'running', 'stopping', 'removed']);
    expect(events).toContainEqual(expect.objectContaining({ type: 'artifact', kind: 'container-log', path: web.logFile }));
    expect(await containersWithLabel(`${LABEL_RUN_ID}=${runId}`)).toEqual([]);
  }, CONTAINER_MS);

  it('runs commands through exec: exit codes, separate streams, env, stdin, output cap, and a killed timeout', async () => {
    const box = await start('box', { image: 'harness/busybox', command: ['sleep', '600'] });
    const t = box.target();
    expect(t.kind).toBe('container');

    const r = await t.exec('echo out; echo err >&2; exit 7');
    expect(r).toMatchObject({ exitCode: 7, stdout: 'out\n', stderr: 'err\n', timedOut: false, droppedBytes: { stdout: 0, stderr: 0 }, maxOutputBytes: 1024 * 1024 });
    expect((await t.exec('echo "$GREETING"', { env: { GREETING: 'hi there' } })).stdout).toBe('hi there\n');
    expect((await t.exec('tr a-z A-Z', { stdin: 'shout' })).stdout).toBe('SHOUT');

    const big = await t.exec('head -c 3000000 /dev/zero | tr "\\0" x', { maxOutputBytes: 1000 });
    expect(big.exitCode).toBe(0);
    expect(big.stdout).toBe('x'.repeat(1000));
    expect(big.droppedBytes.stdout).toBe(3_000_000 - 1000);
    expect(big.maxOutputBytes).toBe(1000); // the cap in effect is reported with what it dropped

    const slow = await t.exec('echo started; sleep 300 | cat', { timeoutMs: 1500 });
    expect(slow).toMatchObject({ exitCode: null, timedOut: true, stdout: 'started\n' });
    const ps = await t.exec('ps -o pid,args');
    expect(ps.stdout).not.toContain('sleep 300');
  }, CONTAINER_MS);

  it('ends a command on abort as its timeout would, rejecting with the reason; an aborted signal runs nothing', async () => {
    const box = await start('aborts', { image: 'harness/busybox', command: ['sleep', '600'] });
    const t = box.target();
    const ac = new AbortController();
    const reason = new Error('SIGINT');
    const running = t.exec('echo started > /tmp/started; sleep 300 | cat', { signal: ac.signal, timeoutMs: 600_000 });
    for (let i = 0; (await t.exec('cat /tmp/started')).stdout !== 'started\n'; i++) {
      if (i > 100) throw new Error('the command never started');
      await new Promise((r) => setTimeout(r, 100));
    }
    ac.abort(reason);
    await expect(running).rejects.toBe(reason);
    expect((await t.exec('ps -o pid,args')).stdout).not.toContain('sleep 300');

    await expect(t.exec('touch /tmp/never', { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await expect(t.copyTo(join(work, 'nothing-here'), '/tmp/never-copied', { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect((await t.exec('ls /tmp')).stdout.split('\n')).not.toContain('never');
  }, CONTAINER_MS);

  it('copies files and directories both ways', async () => {
    const box = await start('files', { image: 'harness/busybox', command: ['sleep', '600'] });
    const t = box.target();
    const local = join(work, 'copy-src');
    await mkdir(join(local, 'sub'), { recursive: true });
    await writeFile(join(local, 'a.txt'), 'alpha\n');
    await writeFile(join(local, 'sub', 'b.txt'), 'beta\n');

    await t.copyTo(join(local, 'a.txt'), '/data/deep/a.txt');
    expect((await t.exec('cat /data/deep/a.txt')).stdout).toBe('alpha\n');
    await t.copyTo(local, '/tree');
    expect((await t.exec('cat /tree/sub/b.txt')).stdout).toBe('beta\n');

    await t.exec('echo made-inside > /tmp/out.txt; mkdir -p /tmp/d/e; echo nested > /tmp/d/e/f');
    await t.copyFrom('/tmp/out.txt', join(work, 'back', 'out.txt'));
    expect(await readFile(join(work, 'back', 'out.txt'), 'utf8')).toBe('made-inside\n');
    await t.copyFrom('/tmp/d', join(work, 'back', 'd'));
    expect(await readFile(join(work, 'back', 'd', 'e', 'f'), 'utf8')).toBe('nested\n');
    await expect(t.copyFrom('/no/such/file', join(work, 'back', 'x'))).rejects.toThrow(/expected \/no\/such\/file to exist/);
  }, CONTAINER_MS);

  it('waits for a port that opens late (checked inside the container, not at docker-proxy)', async () => {
    const late = await start('late', {
      image: 'harness/busybox',
      ports: [8080],
      command: ['sh', '-c', 'sleep 2; mkdir -p /w; echo late > /w/index.html; exec httpd -f -p 8080 -h /w'],
      wait: { port: 8080 },
    });
    const res = await fetch(late.url(8080));
    expect(await res.text()).toBe('late\n');
  }, CONTAINER_MS);

  it('builds an image from a Dockerfile FROM the local base, and reuses it', async () => {
    const ctx = join(work, 'ctx');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'index.html'), 'built-page\n');
    await writeFile(join(ctx, 'Dockerfile'), 'FROM harness/busybox\nCOPY index.html /www/index.html\nCMD ["httpd", "-f", "-p", "80", "-h", "/www"]\n');
    const events: EmittedEvent[] = [];
    const built = await start('built', { build: { context: 'ctx' }, ports: [80] }, events);
    expect(await (await fetch(built.url(80))).text()).toBe('built-page\n');
    expect(built.image).toMatch(/^harness\/build:[0-9a-f]{12}$/);
    const again: EmittedEvent[] = [];
    const second = await start('built2', { build: { context: 'ctx' }, ports: [80] }, again);
    expect(second.image).toBe(built.image);
    expect(again).toContainEqual(expect.objectContaining({ type: 'image.finished', reused: true, path: built.image }));
  }, CONTAINER_MS);

  it('removes a container that never becomes ready and says what it printed', async () => {
    const failRun = `${runId}-fail`;
    const err = await startContainer({
      name: 'never',
      runId: failRun,
      config: containerSchema.parse({ image: 'harness/busybox', command: ['sh', '-c', 'echo still-warming-up; sleep 600'], wait: { log: 'ready to serve' }, startupTimeout: '2s' }),
      dir: join(work, 'never'),
      cacheDir: join(work, 'cache'),
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ContainerNotReady);
    expect((err as ContainerNotReady).message).toMatch(/not ready within 2s/);
    expect((err as ContainerNotReady).logTail).toContain('still-warming-up');
    expect(await containersWithLabel(`${LABEL_RUN_ID}=${failRun}`)).toEqual([]);
  }, CONTAINER_MS);

  it('reports the exit code and output of a container that dies before it is ready, and removes it', async () => {
    const deadRun = `${runId}-dead`;
    const err = await startContainer({
      name: 'dies',
      runId: deadRun,
      config: containerSchema.parse({ image: 'harness/busybox', ports: [80], command: ['sh', '-c', 'echo cannot-start >&2; exit 3'], startupTimeout: '3s' }),
      dir: join(work, 'dies'),
      cacheDir: join(work, 'cache'),
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ContainerNotReady);
    expect((err as ContainerNotReady).lastError).toMatch(/exited with code 3/);
    expect((err as ContainerNotReady).logTail).toContain('cannot-start');
    expect(await containersWithLabel(`${LABEL_RUN_ID}=${deadRun}`)).toEqual([]);
  }, CONTAINER_MS);

  it('refuses an image that is not in the engine, creating nothing', async () => {
    const missRun = `${runId}-miss`;
    await expect(
      startContainer({ name: 'miss', runId: missRun, config: containerSchema.parse({ image: 'nginx:1.25' }), dir: join(work, 'miss'), cacheDir: join(work, 'cache') }),
    ).rejects.toThrow(ContainerImageError);
    expect(await containersWithLabel(`${LABEL_RUN_ID}=${missRun}`)).toEqual([]);
  }, CONTAINER_MS);
});
