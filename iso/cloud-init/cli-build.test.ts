// `harness iso build --builder cloud-init|nixos` through the iso command itself (the nixos build runs the
// STAND-IN nix from iso/nixos/testing/bin, put first on PATH for this test only).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { isoCommand } from '../../harness/cli/commands/iso.js';
import type { CliIo } from '../../harness/cli/command.js';
import { STANDIN_BIN, privateKeySecret } from '../nixos/testing/nix-tools.js';
import { readIso } from './read-iso.js';
import { generateEd25519KeyPair } from '../../harness/ssh/keygen.js';

let dir: string;
const pair = generateEd25519KeyPair('me@cli');
const savedPath = process.env.PATH;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iso-cli-test-'));
  await writeFile(join(dir, 'me.pub'), `${pair.public}\n`);
  await writeFile(join(dir, 'me'), pair.private, { mode: 0o600 });
  await writeFile(join(dir, 'base.qcow2'), 'QFI\xfb a tiny stand-in disk');
});
afterAll(async () => {
  process.env.PATH = savedPath;
  await rm(dir, { recursive: true, force: true });
});

function io(): CliIo & { stdout: string; stderr: string } {
  const o = {
    stdout: '',
    stderr: '',
    out: (s: string) => void (o.stdout += s),
    err: (s: string) => void (o.stderr += s),
    env: { ...process.env, HARNESS_PROJECT_DIR: dir, STANDIN_NIX_STORE: join(dir, 'store') },
    cwd: dir,
    isTTY: false,
  };
  return o;
}

describe('harness iso build', () => {
  it('--builder cloud-init writes the seed to -o and prints the base disk and host key', async () => {
    const t = io();
    expect(await isoCommand.run(['build', '--builder', 'cloud-init', '--base', './base.qcow2', '--user', 'alice', '--ssh-key', 'me.pub', '-o', 'seed.iso'], t)).toBe(0);
    const [out, base, host] = t.stdout.trim().split('\n');
    expect(out).toBe(join(dir, 'seed.iso'));
    expect(base).toBe(`base disk: ${join(dir, 'base.qcow2')}`);
    expect(host).toMatch(/^host key: ssh-ed25519 AAAA\S+ harness-cloud-init-host$/);
    const iso = await readIso(join(dir, 'seed.iso'));
    expect(iso.volumeId).toBe('cidata');
    const doc = parse(iso.files.get('user-data')!.toString());
    expect(doc.users[0]).toMatchObject({ name: 'alice', ssh_authorized_keys: [pair.public.trim()] });
    expect((await readFile(join(dir, 'seed.iso'))).toString('latin1')).not.toContain(privateKeySecret(pair.private));
  });

  it('--builder nixos runs nix (stand-in here) and copies the ISO to -o', async () => {
    process.env.PATH = `${STANDIN_BIN}${delimiter}${savedPath}`;
    const t = io();
    const code = await isoCommand.run(['build', '--builder', 'nixos', '--nixpkgs', 'nixos-24.05', '--mode', 'classic', '--module', '{ services.nginx.enable = true; }', '--ssh-key', 'me.pub', '-o', 'nixos.iso'], t);
    expect(code).toBe(0);
    expect(t.stderr).toContain("building '/nix/store/");
    const iso = await readIso(join(dir, 'nixos.iso'));
    expect(iso.files.get('harness.nix')?.toString()).toContain(pair.public.trim());
    expect(iso.files.get('modules/00-inline.nix')?.toString()).toContain('services.nginx.enable = true;');
  });

  it('a bad key line is reported as FILE:LINE; a private key file is refused; bad flags are usage errors', async () => {
    await writeFile(join(dir, 'bad.pub'), `${pair.public}\n# comment\nssh-ed25519 AAAA bad\n`);
    await expect(isoCommand.run(['build', '--builder', 'nixos', '--ssh-key', 'bad.pub', '-o', 'x.iso'], io())).rejects.toThrow(
      new RegExp(`^${join(dir, 'bad.pub')}:3: ssh key: expected a base64 key body long enough`),
    );
    const priv = await isoCommand.run(['build', '--builder', 'nixos', '--ssh-key', 'me', '-o', 'x.iso'], io()).catch((e) => e);
    expect(priv.message).toMatch(/:1: ssh key file: expected a public key file/);
    expect(priv.message).not.toContain(privateKeySecret(pair.private));
    await expect(isoCommand.run(['build', '--builder', 'nixos', '--mode', 'weird', '-o', 'x.iso'], io())).rejects.toThrow(/--mode: /);
    await expect(isoCommand.run(['build', '--builder', 'nixos', '--base', 'x', '-o', 'x.iso'], io())).rejects.toThrow(/--base does not apply to --builder nixos/);
    await expect(isoCommand.run(['build', '--builder', 'cloud-init', '-o', 'x.iso'], io())).rejects.toThrow(/needs --base/);
  });
});
