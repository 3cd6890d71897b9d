// README: "Also `copyTo: {from, to}` / `copyFrom: {from, to}` steps (SFTP)" and "Relative paths resolve against the
// scenario file". Through `harness run` on a real tiny VM (one boot): a host file goes in and the guest's sha256sum
// matches the host's; a file the guest makes comes back and its bytes equal what the guest hashed. The CLI runs
// from a directory holding a decoy at the same relative path, so a cwd-relative copy would be caught.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { describeReal, itReal } from '../../fixtures/real-backend.js';
import { makeSandbox, output, qemuUnavailable, type Sandbox } from './sandbox.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

// Relative paths throughout: `data/in.bin` must be the scenario dir's file, `back/made.bin` land beside it.
const SCENARIO = (hostSha: string) => `name: readme-copy
vms:
  box: { memory: 256M, bootTimeout: 300s }
steps:
  - name: host file in
    on: box
    copyTo: { from: data/in.bin, to: /root/in.bin }
  - name: guest sees the same bytes
    on: box
    run: sha256sum /root/in.bin
    expect: { stdout: "${hostSha}  /root/in.bin" }
  - name: guest makes a file
    on: box
    run: "dd if=/dev/urandom of=/root/made.bin bs=1024 count=300 2>/dev/null && cat /root/in.bin >> /root/made.bin && sha256sum /root/made.bin"
  - name: guest file out
    on: box
    copyFrom: { from: /root/made.bin, to: back/made.bin }
teardown: destroy
`;

describeReal('README: copyTo / copyFrom steps through harness run', await qemuUnavailable(), () => {
  let sb: Sandbox;
  let scnDir: string;
  let cwdDir: string;
  const input = randomBytes(256 * 1024 + 17);

  beforeAll(async () => {
    sb = await makeSandbox('copy');
    scnDir = join(sb.root, 'scn');
    cwdDir = join(sb.root, 'cwd');
    await mkdir(join(scnDir, 'data'), { recursive: true });
    await mkdir(join(scnDir, 'back'));
    await writeFile(join(scnDir, 'data', 'in.bin'), input);
    // The decoy: what a path resolved against the working directory would send, and where it would write.
    await mkdir(join(cwdDir, 'data'), { recursive: true });
    await mkdir(join(cwdDir, 'back'));
    await writeFile(join(cwdDir, 'data', 'in.bin'), 'decoy: resolved against the cwd\n');
    await writeFile(join(scnDir, 'copy.yaml'), SCENARIO(sha256(input)));
  });
  afterAll(async () => sb?.dispose());

  itReal('a host file goes in byte for byte, a guest file comes back byte for byte; relative paths are the scenario dir\'s', undefined, async () => {
    const t0 = performance.now();
    // Run from the decoy dir: the CLI's own path and the scenario's are absolute.
    const r = await sb.cli(['run', join(scnDir, 'copy.yaml'), '--json'], { cwd: cwdDir });
    console.log(`copy steps: harness run ${((performance.now() - t0) / 1000).toFixed(1)}s`);
    expect(r.exitCode, output(r)).toBe(0);
    const report = JSON.parse(String(r.stdout)) as { steps: Array<{ name: string; status: string; stdoutTail?: string }> };
    expect(report.steps.map((s) => [s.name, s.status])).toEqual([
      ['host file in', 'passed'],
      ['guest sees the same bytes', 'passed'],
      ['guest makes a file', 'passed'],
      ['guest file out', 'passed'],
    ]);
    // What the guest hashed is what arrived on the host, in the scenario dir (not the cwd).
    const guestSha = /^([0-9a-f]{64}) {2}\/root\/made\.bin$/m.exec(report.steps[2]!.stdoutTail ?? '')?.[1];
    expect(guestSha, report.steps[2]!.stdoutTail).toBeDefined();
    const back = await readFile(join(scnDir, 'back', 'made.bin'));
    expect(back.length).toBe(300 * 1024 + input.length);
    expect(sha256(back)).toBe(guestSha);
    expect(back.subarray(300 * 1024).equals(input)).toBe(true);
    await expect(stat(join(cwdDir, 'back', 'made.bin'))).rejects.toThrow(/ENOENT/);
    expect(await sb.vmDirs()).toEqual([]);
    expect(await sb.reservations(['box'])).toEqual([]);
  }, 600_000);
});
