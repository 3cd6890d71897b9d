// The NixOS builder's whole flow against the STAND-IN nix / nixos-generate (testing/bin, labelled stand-ins:
// nixpkgs and the binary cache are unreachable here), plus the real nix CLI on a local flake that needs no
// network, plus the real NixOS build when HARNESS_NIX_BUILD=1 (opt-in: it needs the network, not a backend).
// Without the nix CLI the real-nix tests skip, and fail under CI=true.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipOrFail } from '../../fixtures/real-backend.js';
import { ProviderUnavailable, ScenarioError } from '../../harness/errors.js';
import { validatePublicKey } from '../../harness/scenario/ssh-key-format.js';
import { readIso } from '../cloud-init/read-iso.js';
import { buildNixosImage, type NixosBuildOptions } from './build.js';
import { findIso } from './find-iso.js';
import { scenarioFileLocator } from '../../harness/scenario/file-locator.js';
import { readPublicKeyFile } from './key-lines.js';
import { NixBuildFailed, NixFlakesDisabled, NixNetworkUnavailable } from './nix-errors.js';
import { nixFlakeBuild } from './nix-run.js';
import { findOnPath } from '../../harness/find-on-path.js';
import { privateKeySecret, STANDIN_BIN, trickyUserKey } from './testing/nix-tools.js';
import { projectKeyPair } from '../../harness/keys.js';
import { findPrivateKeys } from '../testing/private-key-leaks.js';

let root: string;
let n = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'nixos-build-test-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const user = trickyUserKey();

/** A fresh cache, stand-in store and work dir per test; the stand-ins come first on PATH. */
async function setup(extraEnv: Record<string, string> = {}) {
  const dir = join(root, `t${n++}`);
  const paths = { cache: join(dir, 'cache'), store: join(dir, 'store'), work: join(dir, 'work'), log: join(dir, 'nix-calls.log') };
  await mkdir(paths.work, { recursive: true });
  const env = { ...process.env, PATH: `${STANDIN_BIN}${delimiter}${process.env.PATH}`, STANDIN_NIX_STORE: paths.store, STANDIN_NIX_LOG: paths.log, ...extraEnv };
  const progress: string[] = [];
  const opts = (over: Partial<NixosBuildOptions> = {}): NixosBuildOptions => ({
    image: { modules: ['{ pkgs, ... }: { environment.systemPackages = [ pkgs.htop ]; }'], nixpkgs: { flake: 'github:NixOS/nixpkgs/nixos-24.05' }, mode: 'flake' },
    authorizedKeys: [user.publicKey],
    cacheDir: paths.cache,
    workDir: paths.work,
    env,
    onProgress: (l) => progress.push(l),
    ...over,
  });
  const calls = async () => (await readFile(paths.log, 'utf8').catch(() => '')).split('\n').filter(Boolean);
  return { paths, env, progress, opts, calls };
}

describe('buildNixosImage with the stand-in nix (flake mode)', () => {
  it('builds an ISO into the cache, streams progress, and pins a fresh host key', async () => {
    const t = await setup();
    const img = await buildNixosImage(t.opts());
    expect(img).toMatchObject({ kind: 'iso', user: 'root', builder: 'nixos', reused: false });
    expect(img.path).toBe(join(t.paths.cache, 'images', img.cacheKey, 'nixos.iso'));
    expect(validatePublicKey(img.hostPublicKey!)).toBeUndefined();
    expect(t.progress.some((l) => l.startsWith("building '/nix/store/"))).toBe(true);
    const [call] = await t.calls();
    expect(call).toMatch(/^nix --extra-experimental-features nix-command flakes build path:\S+#nixosConfigurations\.harness\.config\.system\.build\.isoImage --json -L -o \S+\/result$/);

    // The ISO carries what nix was given: harness.nix with the user's key, the host key pair it pins.
    const iso = await readIso(img.path);
    const text = (p: string) => iso.files.get(p)?.toString('utf8') ?? '';
    expect(text('harness.nix')).toContain('o\'brien \\"quoted\\" \\${builtins.currentTime} back\\\\slash \\$HOME');
    expect(text('ssh_host_ed25519_key.pub').trim()).toBe(img.hostPublicKey);
    expect(text('ssh_host_ed25519_key')).toContain('BEGIN OPENSSH PRIVATE KEY');
    expect(text('modules/00-inline.nix')).toContain('pkgs.htop');
    expect(await readdir(t.paths.work)).toEqual([]); // the temp build dir is gone
  });

  it('private keys within its reach end up nowhere: not in the ISO, the cache, the store or the work dir', async () => {
    const t = await setup();
    // A project as the harness lays it out: the scenario folder (baseDir) holds a module, the user's key pair
    // (the builder reads me.pub, next to me) and .harness/keys with the project key pair (HARNESS_KEYS_DIR).
    const project = join(t.paths.work, '..', 'project');
    const keysDir = join(project, '.harness', 'keys');
    const projectKey = await projectKeyPair(keysDir);
    await writeFile(join(project, 'me'), user.privateKey, { mode: 0o600 });
    await writeFile(join(project, 'me.pub'), `${user.publicKey}\n`);
    await writeFile(join(project, 'web.nix'), '{ services.nginx.enable = true; }\n');
    const img = await buildNixosImage(
      t.opts({
        baseDir: project,
        env: { ...t.env, HARNESS_KEYS_DIR: keysDir },
        authorizedKeys: [...(await readPublicKeyFile(join(project, 'me.pub'))), projectKey.publicKey],
        image: { modules: ['./web.nix', '{ pkgs, ... }: { environment.systemPackages = [ pkgs.htop ]; }'], nixpkgs: { flake: 'github:NixOS/nixpkgs/nixos-24.05' }, mode: 'flake' },
      }),
    );
    const iso = await readIso(img.path);
    expect(iso.files.get('harness.nix')?.toString()).toContain(projectKey.publicKey); // both public halves went in
    expect(iso.files.get('modules/00-web.nix')?.toString()).toContain('services.nginx.enable');

    const outputs = [t.paths.cache, t.paths.store, t.paths.work];
    const scan = await findPrivateKeys(outputs, [
      { label: 'the user key', privateKey: user.privateKey },
      { label: 'the project key', privateKey: projectKey.privateKey },
    ]);
    expect(scan.findings).toEqual([]);
    expect(scan.bytes).toBeGreaterThan(0);
    // The scan can fail: the host private key the ISO must carry is found in the ISO and the store's copy.
    const hostKey = iso.files.get('ssh_host_ed25519_key')!.toString();
    const host = await findPrivateKeys(outputs, [{ label: 'the host key', privateKey: hostKey }]);
    expect(host.findings).toContainEqual(`${img.path}: the host key (the key file body (base64))`);
  });

  it('never rebuilds the same inputs, and rebuilds when a key changes', async () => {
    const t = await setup();
    const first = await buildNixosImage(t.opts());
    const again = await buildNixosImage(t.opts());
    expect(again).toMatchObject({ reused: true, path: first.path, cacheKey: first.cacheKey, hostPublicKey: first.hostPublicKey });
    expect(await t.calls()).toHaveLength(1);
    const other = await buildNixosImage(t.opts({ authorizedKeys: [user.publicKey, trickyUserKey().publicKey] }));
    expect(other.cacheKey).not.toBe(first.cacheKey);
    expect(await t.calls()).toHaveLength(2);
  });

  it('passes the experimental-features flag itself, so a nix without flakes in nix.conf still builds', async () => {
    const t = await setup({ STANDIN_NIX_REQUIRE_FLAG: '1', STANDIN_NIX_STDERR_WARN: '1' });
    const img = await buildNixosImage(t.opts());
    expect(img.reused).toBe(false);
    // The binary-cache warnings were streamed but did not turn a success into a network error.
    expect(t.progress.some((l) => l.includes("Couldn't resolve host name"))).toBe(true);
  });

  it('reads module files relative to the scenario folder and rejects a missing one', async () => {
    const t = await setup();
    const scn = join(t.paths.work, '..', 'scn');
    await mkdir(scn, { recursive: true });
    await writeFile(join(scn, 'web.nix'), '{ services.nginx.enable = true; }\n');
    const img = await buildNixosImage(t.opts({ baseDir: scn, image: { modules: ['./web.nix'], nixpkgs: { channel: 'nixos-24.05' }, mode: 'flake' } }));
    expect((await readIso(img.path)).files.get('modules/00-web.nix')?.toString()).toContain('services.nginx.enable');
    await expect(
      buildNixosImage(t.opts({ baseDir: scn, sourceFile: 'scn/x.yaml', image: { modules: ['./gone.nix'], nixpkgs: { channel: 'nixos-24.05' }, mode: 'flake' } })),
    ).rejects.toThrow(/scn\/x\.yaml: image\.modules\[0\]: expected a NixOS module file that exists.*gone\.nix \(missing\)/);
  });
});

describe('buildNixosImage error locations', () => {
  it('given the image source, a missing module names the scenario file, line and full field path', async () => {
    const t = await setup();
    const scn = join(t.paths.work, '..', 'scn-src');
    await mkdir(scn, { recursive: true });
    const file = join(scn, 'web.yaml');
    await writeFile(file, 'name: x\nvms:\n  web:\n    image:\n      builder: nixos\n      modules:\n        - "{ }"\n        - ./gone.nix\nsteps: []\n');
    const source = { file, path: ['vms', 'web', 'image'], locate: scenarioFileLocator(file) };
    const err = await buildNixosImage(t.opts({ baseDir: scn, source, image: { modules: ['{ }', './gone.nix'], nixpkgs: { channel: 'nixos-24.05' }, mode: 'flake' } })).catch((e) => e);
    expect(err).toBeInstanceOf(ScenarioError);
    expect(err.message).toBe(`${file}:8:11: vms.web.image.modules[1]: expected a NixOS module file that exists (a folder: name its default.nix), found ${join(scn, 'gone.nix')} (missing)`);
    // Classic mode with a flake ref it cannot map: the field is named in the scenario too.
    const classic = await buildNixosImage(t.opts({ source, image: { modules: [], nixpkgs: { flake: 'path:/somewhere' }, mode: 'classic' } })).catch((e) => e);
    expect(classic.message).toMatch(new RegExp(`^${file}:4:\\d+: vms\\.web\\.image\\.nixpkgs\\.flake: expected for mode: classic`));
    expect(await t.calls()).toEqual([]);
  });
});

describe('buildNixosImage with the stand-in nixos-generate (classic mode)', () => {
  it('runs nixos-generate -f iso -c config.nix with the channel and takes the image path from stdout', async () => {
    const t = await setup();
    const img = await buildNixosImage(t.opts({ image: { modules: [], nixpkgs: { channel: 'nixos-24.05' }, mode: 'classic' } }));
    const [call] = await t.calls();
    expect(call).toMatch(/^nixos-generate -f iso -c \S+\/config\.nix -I nixpkgs=channel:nixos-24\.05 --system x86_64-linux -o \S+\/result$/);
    const iso = await readIso(img.path);
    expect(iso.files.get('config.nix')?.toString()).toContain('./harness.nix');
    expect(iso.files.get('harness.nix')?.toString()).toContain('console=ttyS0,115200');
  });
});

describe('typed failures', () => {
  it('nix missing: ProviderUnavailable with the install command', async () => {
    const t = await setup();
    const err = await buildNixosImage(t.opts({ env: { ...t.env, PATH: join(root, 'empty-path') } })).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderUnavailable);
    expect(err.message).toMatch(/`nix` was not found on PATH[\s\S]*fix: apt-get install -y nix-bin/);
    const classic = await buildNixosImage(t.opts({ env: { ...t.env, PATH: join(root, 'empty-path') }, image: { modules: [], nixpkgs: { channel: 'nixos-24.05' }, mode: 'classic' } })).catch((e) => e);
    expect(classic.message).toMatch(/`nixos-generate` \(nixos-generators\) was not found/);
  });

  it('flakes disabled: NixFlakesDisabled telling how to enable them', async () => {
    const t = await setup({ STANDIN_NIX_FAIL: 'flakes' });
    const err = await buildNixosImage(t.opts()).catch((e) => e);
    expect(err).toBeInstanceOf(NixFlakesDisabled);
    expect(err.message).toContain("--extra-experimental-features 'nix-command flakes'");
  });

  it('network unreachable: NixNetworkUnavailable quoting what nix could not download', async () => {
    const t = await setup({ STANDIN_NIX_FAIL: 'network' });
    const err = await buildNixosImage(t.opts()).catch((e) => e);
    expect(err).toBeInstanceOf(NixNetworkUnavailable);
    expect(err.message).toMatch(/needs the network.*unable to download 'https:\/\/api\.github\.com/);
  });

  it('build failed: NixBuildFailed with the last 30 log lines, and nothing left behind', async () => {
    const t = await setup({ STANDIN_NIX_FAIL: 'build', STANDIN_NIX_STDERR_WARN: '1' });
    const err = await buildNixosImage(t.opts()).catch((e) => e);
    expect(err).toBeInstanceOf(NixBuildFailed);
    expect(err.logTail).toHaveLength(30);
    expect(err.logTail.at(-1)).toMatch(/For full logs, run 'nix log/);
    expect(err.message).toContain('--- last 30 lines of the nix log ---');
    expect(t.progress.length).toBeGreaterThan(30);
    expect(await readdir(t.paths.work)).toEqual([]);
    expect((await readdir(join(t.paths.cache, 'images'))).filter((e) => !e.endsWith('.lock'))).toEqual([]);
  });

  it('a malformed key in a key file is reported with its line and what is wrong; private key files are refused unseen', async () => {
    const t = await setup();
    const keyFile = join(t.paths.work, '..', 'keys.pub');
    await writeFile(keyFile, `# my keys\n${user.publicKey}\n\nssh-ed25519 not*base64 broken\n`);
    const err = await readPublicKeyFile(keyFile).catch((e) => e);
    expect(err).toBeInstanceOf(ScenarioError);
    expect(err.message).toBe(`${keyFile}:4: ssh key: expected a base64 key body, found "ssh-ed25519 not*base64 broken"`);
    await writeFile(keyFile, user.privateKey);
    const priv = await readPublicKeyFile(keyFile).catch((e) => e);
    expect(priv.message).toMatch(/:1: ssh key file: expected a public key file .*found a private key \(its content is not shown\)/);
    expect(priv.message).not.toContain(privateKeySecret(user.privateKey));
    // Straight into the builder: rejected before nix runs.
    await expect(buildNixosImage(t.opts({ authorizedKeys: [{ key: 'ssh-rsa AAAA', file: 'k.pub', line: 2 }] }))).rejects.toThrow(/^k\.pub:2: ssh key: expected/);
    expect(await t.calls()).toEqual([]);
  });
});

const NO_NIX = 'real nix is not installed (fix: apt-get install -y nix-bin)';
const nixBuildOptIn = process.env.HARNESS_NIX_BUILD === '1';

describe('the real nix CLI', () => {
  it('nixFlakeBuild drives real `nix build` on a local flake (offline) and finds the ISO', async (ctx) => {
    if (!(await findOnPath('nix'))) skipOrFail(ctx, NO_NIX);
    const dir = join(root, 'real-flake');
    await mkdir(dir, { recursive: true });
    // No nixpkgs: a bare derivation that writes iso/fake.iso, so nothing is downloaded.
    const stamp = `${process.pid}-${Date.now()}`;
    await writeFile(
      join(dir, 'flake.nix'),
      `{ outputs = { self }: { nixosConfigurations.harness.config.system.build.isoImage = derivation {
           name = "fake-iso"; system = "x86_64-linux"; builder = "/bin/sh";
           args = [ "-c" "echo building ${stamp}; /bin/mkdir -p $out/iso; echo ${stamp} > $out/iso/fake.iso" ]; }; }; }\n`,
    );
    const progress: string[] = [];
    const out = await nixFlakeBuild(dir, 'nixosConfigurations.harness.config.system.build.isoImage', join(dir, 'result'), {
      cwd: dir,
      onProgress: (l) => progress.push(l),
      // A bare nix-bin as root has no nixbld build users (their package is only a Recommends), and a bare derivation
      // runs the host's /bin/sh, which the sandbox hides: build as root, unsandboxed. Real NixOS builds use store paths.
      extraArgs: ['--offline', '--option', 'substituters', '', '--option', 'build-users-group', '', '--option', 'sandbox', 'false'],
    });
    expect(out).toMatch(/^\/nix\/store\/[a-z0-9]{32}-fake-iso$/);
    const iso = await findIso(out, 'nix build');
    expect((await readFile(iso, 'utf8')).trim()).toBe(stamp);
    expect(progress.some((l) => l.includes(`building ${stamp}`))).toBe(true);
  });

  it('a real nix evaluation error becomes NixBuildFailed with the log tail', async (ctx) => {
    if (!(await findOnPath('nix'))) skipOrFail(ctx, NO_NIX);
    const dir = join(root, 'real-bad');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'flake.nix'), '{ outputs = { self }: { }; }\n');
    const err = await nixFlakeBuild(dir, 'nixosConfigurations.harness.config.system.build.isoImage', join(dir, 'result'), {
      cwd: dir,
      extraArgs: ['--offline', '--option', 'substituters', ''],
    }).catch((e) => e);
    expect(err).toBeInstanceOf(NixBuildFailed);
    expect(err.logTail.join('\n')).toMatch(/does not provide attribute/);
  });

  // Opt-in, not a backend probe: CI skips it too. It is the only test that needs the network.
  it.skipIf(!nixBuildOptIn)(
    nixBuildOptIn
      ? 'builds a real NixOS ISO (HARNESS_NIX_BUILD=1)'
      : 'builds a real NixOS ISO: not run, opt-in with HARNESS_NIX_BUILD=1 (it downloads nixpkgs and the NixOS binary cache, which this machine cannot reach)',
    async () => {
      const cache = join(root, 'real-cache');
      const img = await buildNixosImage({
        image: { modules: [], nixpkgs: { flake: 'github:NixOS/nixpkgs/nixos-24.05' }, mode: 'flake' },
        authorizedKeys: [user.publicKey],
        cacheDir: cache,
        onProgress: (l) => process.stderr.write(`nix: ${l}\n`),
      });
      expect((await readFile(img.path)).subarray(0x8001, 0x8006).toString()).toBe('CD001');
    },
    3 * 3600_000,
  );
});
