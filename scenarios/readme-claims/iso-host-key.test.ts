// README: `image: { iso: path/to/file.iso, hostKey: "ssh-ed25519 ..." }` boots a user-supplied ISO with its host key
// pinned. Through the real CLI: `harness iso build --builder tiny -o OUT.iso` prints the host key to pin; a scenario
// naming that ISO (relative to the scenario file) with that key passes; the same ISO with another valid ed25519 key
// is refused with the host-key mismatch (both fingerprints named), exits 3 and leaves no qemu, no VM dir and no port
// reservation. The two runs boot side by side (different VM names), through GRUB: user ISOs have no direct boot.
import { execa } from 'execa';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { describeReal, itReal } from '../../fixtures/real-backend.js';
import { makeSandbox, output, qemuUnavailable, type Sandbox } from './sandbox.js';

const SCENARIO = (hostKey: string) => `name: readme-iso
vms:
  box:
    image: { iso: images/tiny-copy.iso, hostKey: "${hostKey}" }
    memory: 256M
    bootTimeout: 300s
steps:
  - name: logged in over the pinned key
    on: box
    run: uname -s
    expect: { stdout: Linux }
teardown: destroy
`;

/** OpenSSH's SHA256 fingerprint of a public key line. */
async function fingerprint(dir: string, keyLine: string, name: string): Promise<string> {
  const path = join(dir, `${name}.pub`);
  await execa('sh', ['-c', 'printf "%s\\n" "$1" > "$2"', 'fp', keyLine, path]);
  return String((await execa('ssh-keygen', ['-l', '-E', 'sha256', '-f', path])).stdout).split(' ')[1]!;
}

describeReal('README: image { iso, hostKey } boots a user ISO with its host key pinned', await qemuUnavailable(), () => {
  let sb: Sandbox;
  let hostKey = '';
  let wrongKey = '';

  beforeAll(async () => {
    sb = await makeSandbox('iso');
    await mkdir(join(sb.root, 'images'));
    const t = performance.now();
    const built = await sb.cli(['iso', 'build', '--builder', 'tiny', '-o', join(sb.root, 'images', 'tiny-copy.iso')]);
    console.log(`iso build (the cached tiny image, copied): ${((performance.now() - t) / 1000).toFixed(1)}s`);
    expect(built.exitCode, output(built)).toBe(0);
    hostKey = /^host key: (ssh-ed25519 \S+)/m.exec(String(built.stdout))?.[1] ?? '';
    expect(hostKey, String(built.stdout)).toMatch(/^ssh-ed25519 AAAA/);
    // Another valid ed25519 key: well-formed, so only the handshake can tell it is not the guest's.
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'not-the-guest', '-f', join(sb.root, 'other')]);
    wrongKey = String((await execa('cat', [join(sb.root, 'other.pub')])).stdout).split(' ').slice(0, 2).join(' ');
    await sb.write('right.yaml', SCENARIO(hostKey));
    await sb.write('wrong.yaml', SCENARIO(wrongKey));
  });
  afterAll(async () => sb?.dispose());

  itReal('the right key passes; a wrong key is refused with the mismatch, exit 3, and nothing is left', undefined, async () => {
    const t = performance.now();
    const [right, wrong] = await Promise.all([
      sb.cli(['run', join(sb.root, 'right.yaml'), '--name-prefix', 'ok-']),
      sb.cli(['run', join(sb.root, 'wrong.yaml'), '--name-prefix', 'bad-']),
    ]);
    console.log(`iso + hostKey: both runs side by side ${((performance.now() - t) / 1000).toFixed(1)}s`);

    expect(right.exitCode, output(right)).toBe(0);
    expect(output(right)).toContain(`using ISO ${join(sb.root, 'images', 'tiny-copy.iso')}`);
    expect(output(right)).toContain('logged in over the pinned key');

    expect(wrong.exitCode, output(wrong)).toBe(3);
    const [expected, presented] = [await fingerprint(sb.root, wrongKey, 'fp-wrong'), await fingerprint(sb.root, hostKey, 'fp-right')];
    expect(output(wrong)).toMatch(new RegExp(`host key mismatch for 127\\.0\\.0\\.1:\\d+: expected ${escape(expected)}, the server presented ${escape(presented)}`));

    expect(await sb.vmDirs()).toEqual([]);
    expect(await sb.processes()).toEqual([]);
    expect(await sb.reservations(['ok-box', 'bad-box'])).toEqual([]);
  }, 900_000);
});

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
