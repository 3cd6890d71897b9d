// The cloud-init builder end to end with real tools: a base image served by a local HTTP server on 127.0.0.1
// (verified and cached), a seed ISO made by real xorriso / genisoimage and read back with xorriso and isoinfo.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ProviderUnavailable, ScenarioError } from '../../harness/errors.js';
import { validatePublicKey } from '../../harness/scenario/ssh-key-format.js';
import { trickyUserKey } from '../nixos/testing/nix-tools.js';
import { readPublicKeyFile } from '../nixos/key-lines.js';
import { projectKeyPair } from '../../harness/keys.js';
import { findPrivateKeys } from '../testing/private-key-leaks.js';
import { buildCloudInitImage, type CloudInitBuildOptions } from './build.js';
import { DownloadFailed, DownloadVerificationFailed, downloadsDir, fetchVerified } from './download.js';
import { readIso } from './read-iso.js';
import { scenarioFileLocator } from '../../harness/scenario/file-locator.js';
import { makeSeedIso } from './seed-iso.js';

const user = trickyUserKey();
/** A small stand-in "cloud image": what matters here is the bytes and their hash. */
const BASE = Buffer.concat([Buffer.from('QFI\xfb', 'latin1'), Buffer.alloc(64 * 1024, 7)]);
const BASE_SHA = createHash('sha256').update(BASE).digest('hex');

let root: string;
let server: Server;
let baseUrl: string;
let hits = 0;
let n = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cloud-init-test-'));
  server = createServer((req, res) => {
    hits++;
    if (req.url === '/images/debian-12.qcow2') {
      res.writeHead(200, { 'content-length': BASE.length });
      res.end(BASE);
    } else {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  await rm(root, { recursive: true, force: true });
});

async function fresh() {
  const dir = join(root, `t${n++}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

const opts = (cacheDir: string, over: Partial<CloudInitBuildOptions> = {}): CloudInitBuildOptions => ({
  image: { base: `${baseUrl}/images/debian-12.qcow2`, sha256: BASE_SHA, user: 'root' },
  authorizedKeys: [user.publicKey],
  cacheDir,
  hostName: 'web-1',
  ...over,
});

describe('fetchVerified', () => {
  it('downloads over HTTP from 127.0.0.1 once, verified, into <cache>/downloads/<sha256>/', async () => {
    const cache = await fresh();
    const before = hits;
    const p = await fetchVerified(`${baseUrl}/images/debian-12.qcow2`, BASE_SHA, cache);
    expect(p).toBe(join(downloadsDir(cache), BASE_SHA, 'debian-12.qcow2'));
    expect((await readFile(p)).equals(BASE)).toBe(true);
    expect(await fetchVerified(`${baseUrl}/images/debian-12.qcow2`, BASE_SHA, cache)).toBe(p);
    expect(hits - before).toBe(1);
  });

  it('a wrong sha256 fails with both hashes and leaves nothing behind', async () => {
    const cache = await fresh();
    const wrong = 'a'.repeat(64);
    const err = await fetchVerified(`${baseUrl}/images/debian-12.qcow2`, wrong, cache).catch((e) => e);
    expect(err).toBeInstanceOf(DownloadVerificationFailed);
    expect(err.message).toBe(
      `sha256 check failed for ${baseUrl}/images/debian-12.qcow2: expected ${wrong}, got ${BASE_SHA} (${BASE.length} bytes); the download was discarded`,
    );
    expect(await readdir(downloadsDir(cache))).toEqual([]);
  });

  it('file:// URLs are verified and cached the same way; HTTP errors are DownloadFailed', async () => {
    const cache = await fresh();
    const src = join(cache, 'local.qcow2');
    await writeFile(src, BASE);
    const p = await fetchVerified(pathToFileURL(src).href, BASE_SHA, cache);
    expect(p).toBe(join(downloadsDir(cache), BASE_SHA, 'local.qcow2'));
    await expect(fetchVerified(pathToFileURL(src).href, 'b'.repeat(64), cache)).rejects.toBeInstanceOf(DownloadVerificationFailed);
    const missing = await fetchVerified(`${baseUrl}/nope.qcow2`, 'c'.repeat(64), cache).catch((e) => e);
    expect(missing).toBeInstanceOf(DownloadFailed);
    expect(missing.message).toContain('HTTP 404');
    expect((await readdir(downloadsDir(cache))).sort()).toEqual([BASE_SHA]);
  });
});

describe('buildCloudInitImage', () => {
  it('returns the verified base disk and a cidata seed with the keys and the pinned host key', async () => {
    const cache = await fresh();
    const img = await buildCloudInitImage(opts(cache));
    expect(img).toMatchObject({ kind: 'disk', user: 'root', builder: 'cloud-init', reused: false });
    expect(img.path).toBe(join(downloadsDir(cache), BASE_SHA, 'debian-12.qcow2'));
    expect(img.seedIso).toBe(join(cache, 'images', img.cacheKey, 'seed.iso'));
    expect(validatePublicKey(img.hostPublicKey!)).toBeUndefined();

    const iso = await readIso(img.seedIso);
    expect(iso.volumeId).toBe('cidata');
    // A second, independent reader agrees on the label (isoinfo from genisoimage).
    expect(execFileSync('isoinfo', ['-d', '-i', img.seedIso], { encoding: 'utf8' })).toMatch(/^Volume id: cidata$/m);
    expect([...iso.files.keys()].sort()).toEqual(['meta-data', 'user-data']);
    const userData = iso.files.get('user-data')!.toString('utf8');
    expect(userData.startsWith('#cloud-config\n')).toBe(true);
    const doc = parse(userData);
    expect(doc.ssh_authorized_keys).toEqual([user.publicKey]);
    expect(doc.disable_root).toBe(false);
    expect(doc.ssh_keys.ed25519_public).toBe(img.hostPublicKey);
    expect(doc.ssh_keys.ed25519_private).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    expect(parse(iso.files.get('meta-data')!.toString())).toEqual({ 'instance-id': `web-1-${img.cacheKey.slice(0, 16)}`, 'local-hostname': 'web-1' });
    expect((await stat(img.seedIso)).mode & 0o077).toBe(0);
  });

  it('private keys within its reach end up nowhere: not in the seed, the cache or the downloads', async () => {
    const cache = await fresh();
    // A project as the harness lays it out: the scenario folder (baseDir) holds the base image, the user's key
    // pair (the builder reads me.pub, next to me) and .harness/keys with the project key pair (HARNESS_KEYS_DIR).
    const project = join(cache, '..', `${basename(cache)}-project`);
    const keysDir = join(project, '.harness', 'keys');
    const projectKey = await projectKeyPair(keysDir);
    await writeFile(join(project, 'me'), user.privateKey, { mode: 0o600 });
    await writeFile(join(project, 'me.pub'), `${user.publicKey}\n`);
    await writeFile(join(project, 'debian-12.qcow2'), BASE);
    const img = await buildCloudInitImage(
      opts(cache, {
        baseDir: project,
        env: { ...process.env, HARNESS_KEYS_DIR: keysDir },
        image: { base: 'debian-12.qcow2', sha256: BASE_SHA, user: 'root' },
        authorizedKeys: [...(await readPublicKeyFile(join(project, 'me.pub'))), projectKey.publicKey],
      }),
    );
    const userData = parse((await readIso(img.seedIso)).files.get('user-data')!.toString());
    expect(userData.ssh_authorized_keys).toEqual([user.publicKey, projectKey.publicKey].sort()); // both public halves went in

    const scan = await findPrivateKeys([cache], [
      { label: 'the user key', privateKey: user.privateKey },
      { label: 'the project key', privateKey: projectKey.privateKey },
    ]);
    expect(scan.findings).toEqual([]);
    expect(scan.files).toBeGreaterThanOrEqual(2); // the seed and its cache record at least
    // The scan can fail: the host private key the seed must carry is found in the seed's bytes.
    const host = await findPrivateKeys([cache], [{ label: 'the host key', privateKey: userData.ssh_keys.ed25519_private }]);
    expect(host.findings).toContainEqual(`${img.seedIso}: the host key (the key file body (base64))`);
  });

  it('the same inputs reuse the seed and the download; a different user builds a new seed', async () => {
    const cache = await fresh();
    const first = await buildCloudInitImage(opts(cache));
    const before = hits;
    const again = await buildCloudInitImage(opts(cache));
    expect(again).toMatchObject({ reused: true, seedIso: first.seedIso, hostPublicKey: first.hostPublicKey, path: first.path });
    expect(hits).toBe(before);
    const alice = await buildCloudInitImage(opts(cache, { image: { base: first.path, sha256: BASE_SHA, user: 'alice' } }));
    expect(alice.cacheKey).not.toBe(first.cacheKey);
    expect(alice.user).toBe('alice');
    expect(parse((await readIso(alice.seedIso)).files.get('user-data')!.toString()).users[0].name).toBe('alice');
  });

  it('each VM gets its own seed: hostname and instance-id from the VM name, its own host key; the same VM reuses its seed', async () => {
    const cache = await fresh();
    const { hostName: _none, ...noHost } = opts(cache);
    const web = await buildCloudInitImage({ ...noHost, vmName: 'web' });
    const db = await buildCloudInitImage({ ...noHost, vmName: 'db' });
    const meta = async (i: { seedIso: string }) => parse((await readIso(i.seedIso)).files.get('meta-data')!.toString());
    expect(await meta(web)).toEqual({ 'instance-id': `web-${web.cacheKey.slice(0, 16)}`, 'local-hostname': 'web' });
    expect(await meta(db)).toEqual({ 'instance-id': `db-${db.cacheKey.slice(0, 16)}`, 'local-hostname': 'db' });
    expect(db.cacheKey).not.toBe(web.cacheKey);
    expect(db.seedIso).not.toBe(web.seedIso);
    expect(db.hostPublicKey).not.toBe(web.hostPublicKey);
    expect(await buildCloudInitImage({ ...noHost, vmName: 'web' })).toMatchObject({ reused: true, cacheKey: web.cacheKey, hostPublicKey: web.hostPublicKey });
    // A VM name that is no hostname becomes one (RFC 1123 label); names that map to the same label still differ.
    const odd = await buildCloudInitImage({ ...noHost, vmName: 'Web_1' });
    const odd2 = await buildCloudInitImage({ ...noHost, vmName: 'web-1' });
    expect((await meta(odd))['local-hostname']).toBe('web-1');
    expect(odd.cacheKey).not.toBe(odd2.cacheKey);
    // Outside a scenario (harness iso build) there is no VM: hostname "harness".
    expect((await meta(await buildCloudInitImage(noHost)))['local-hostname']).toBe('harness');
  });

  it('errors name the scenario file, line and field when given the image source', async () => {
    const cache = await fresh();
    const file = join(cache, 'scn.yaml');
    await writeFile(file, `name: x\nvms:\n  db:\n    image:\n      builder: cloud-init\n      base: ${baseUrl}/images/debian-12.qcow2\n      sha256: ${'d'.repeat(64)}\nsteps: []\n`);
    const source = { file, path: ['vms', 'db', 'image'], locate: scenarioFileLocator(file) };
    const wrong = await buildCloudInitImage(opts(cache, { source, image: { base: `${baseUrl}/images/debian-12.qcow2`, sha256: 'd'.repeat(64), user: 'root' } })).catch((e) => e);
    expect(wrong).toBeInstanceOf(DownloadVerificationFailed);
    expect(wrong.message).toMatch(new RegExp(`^${file}:7:15: vms\\.db\\.image\\.sha256: sha256 check failed for ${baseUrl}/images/debian-12\\.qcow2: expected d{64}, got ${BASE_SHA}`));
    const http = await buildCloudInitImage(opts(cache, { source, image: { base: `${baseUrl}/nope.qcow2`, sha256: 'd'.repeat(64), user: 'root' } })).catch((e) => e);
    expect(http).toBeInstanceOf(DownloadFailed);
    expect(http.message).toMatch(new RegExp(`^${file}:6:13: vms\\.db\\.image\\.base: download of ${baseUrl}/nope\\.qcow2 failed: HTTP 404`));
    const missing = await buildCloudInitImage(opts(cache, { source, baseDir: cache, image: { base: 'gone.qcow2', user: 'root' } })).catch((e) => e);
    expect(missing).toBeInstanceOf(ScenarioError);
    expect(missing.message).toBe(`${file}:6:13: vms.db.image.base: expected a cloud image file (qcow2) or an https URL, found ${join(cache, 'gone.qcow2')} (missing)`);
    expect(missing.message).not.toContain('(image config)');
  });

  it('rejects bad input before building: a URL without sha256, a missing local file, a wrong local sha256, a malformed key', async () => {
    const cache = await fresh();
    await expect(buildCloudInitImage(opts(cache, { sourceFile: 's.yaml', image: { base: `${baseUrl}/x.qcow2`, user: 'root' } }))).rejects.toThrow(
      /^s\.yaml: image\.sha256: expected the sha256 of the image at the base URL/,
    );
    const missing = await buildCloudInitImage(opts(cache, { baseDir: cache, image: { base: 'gone.qcow2', user: 'root' } })).catch((e) => e);
    expect(missing).toBeInstanceOf(ScenarioError);
    expect(missing.message).toContain(`${join(cache, 'gone.qcow2')} (missing)`);
    await writeFile(join(cache, 'local.qcow2'), BASE);
    await expect(buildCloudInitImage(opts(cache, { baseDir: cache, image: { base: 'local.qcow2', sha256: 'd'.repeat(64), user: 'root' } }))).rejects.toBeInstanceOf(
      DownloadVerificationFailed,
    );
    await expect(buildCloudInitImage(opts(cache, { authorizedKeys: [{ key: user.publicKey.replace('ssh-ed25519', 'ssh-rsa'), file: 'me.pub', line: 3 }] }))).rejects.toThrow(
      /^me\.pub:3: ssh key: expected a key body that encodes its own type "ssh-rsa" \(it encodes "ssh-ed25519"\)/,
    );
    expect(await readdir(join(cache))).toEqual(['local.qcow2']);
  });
});

describe('makeSeedIso tool choice', () => {
  it('falls back to genisoimage when xorriso is missing, with the same label and files', async () => {
    const dir = await fresh();
    const bin = join(dir, 'bin');
    await mkdir(bin);
    await symlink('/usr/bin/genisoimage', join(bin, 'genisoimage'));
    const out = join(dir, 'seed.iso');
    const { tool } = await makeSeedIso(out, { userData: '#cloud-config\n{}\n', metaData: 'instance-id: x\n' }, { env: { ...process.env, PATH: bin } });
    expect(tool).toBe('genisoimage');
    const iso = await readIso(out);
    expect(iso.volumeId).toBe('cidata');
    expect(iso.files.get('meta-data')?.toString()).toBe('instance-id: x\n');
  });

  it('neither tool: ProviderUnavailable with the install command, and no temp files left', async () => {
    const dir = await fresh();
    const err = await makeSeedIso(join(dir, 'seed.iso'), { userData: '', metaData: '' }, { env: { ...process.env, PATH: join(dir, 'none') } }).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderUnavailable);
    expect(err.message).toMatch(/neither `xorriso` nor `genisoimage`[\s\S]*fix: apt-get install -y xorriso/);
    expect(await readdir(dir)).toEqual([]);
  });
});
