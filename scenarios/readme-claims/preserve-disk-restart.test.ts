// README: "`harness vm clean NAME --preserve-disk` removes everything but `vms/NAME/disk.qcow2`, and the next run of
// that VM boots from it." Through the real CLI, two boots: the first run (kept) makes a FAT filesystem on the VM's
// disk (/dev/vda: virtio_blk and vfat are loaded from the image's own kernel package, see guest-disk-modules.ts) and
// writes a file; `vm clean --preserve-disk` leaves only disk.qcow2; the second run mounts the disk it booted with
// and reads the file back.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { describeReal, itReal } from '../../fixtures/real-backend.js';
import { guestDiskModules, type GuestDiskModules } from './guest-disk-modules.js';
import { makeSandbox, output, qemuUnavailable, type Sandbox } from './sandbox.js';

const token = randomBytes(16).toString('hex');

const loadSteps = (mods: GuestDiskModules) => `  - name: guest kernel is the packaged one
    on: box
    run: uname -r
    expect: { stdout: "/^${mods.kernelVersion.replace(/[.]/g, '\\\\.')}$/m" }
  - name: disk driver in
    on: box
    copyTo: { from: ${mods.tar}, to: /root/mods.tar }
  - name: disk appears
    on: box
    run: "${mods.loadScript}"
`;

const FIRST = (mods: GuestDiskModules) => `name: readme-disk
vms:
  box: { memory: 256M, bootTimeout: 300s }
steps:
${loadSteps(mods)}  - name: disk is blank (a fresh overlay)
    on: box
    run: "mount -t vfat /dev/vda /mnt"
    expect: { exitCode: 255 }
  - name: make a filesystem and write a file on it
    on: box
    run: "mkdosfs -n HARNESS /dev/vda && mount -t vfat /dev/vda /mnt && echo ${token} > /mnt/mark.txt && sync && umount /mnt"
teardown: keep
`;

const SECOND = (mods: GuestDiskModules) => `name: readme-disk
vms:
  box: { memory: 256M, bootTimeout: 300s }
steps:
${loadSteps(mods)}  - name: the first run's file is on the disk
    on: box
    run: "mount -t vfat -o ro /dev/vda /mnt && cat /mnt/mark.txt"
    expect: { stdout: "${token}" }
teardown: destroy
`;

/** A qcow2 image starts with the magic "QFI\xfb". */
const isQcow2 = async (path: string) => (await readFile(path)).subarray(0, 4).equals(Buffer.from([0x51, 0x46, 0x49, 0xfb]));

describeReal('README: vm clean --preserve-disk, and the next run boots from the kept disk', await qemuUnavailable(), () => {
  let sb: Sandbox;
  let mods: GuestDiskModules;

  beforeAll(async () => {
    sb = await makeSandbox('disk');
    mods = await guestDiskModules(sb.root);
  });
  afterAll(async () => sb?.dispose());

  itReal('a file written to the disk in the first run is read in the second; clean --preserve-disk leaves only disk.qcow2', undefined, async () => {
    const first = await sb.write('first.yaml', FIRST(mods));
    const second = await sb.write('second.yaml', SECOND(mods));

    let t = performance.now();
    const r1 = await sb.cli(['run', first]);
    console.log(`preserve-disk: first run (kept) ${((performance.now() - t) / 1000).toFixed(1)}s`);
    expect(r1.exitCode, output(r1)).toBe(0);
    expect(output(r1)).toContain('teardown (keep): kept');

    t = performance.now();
    const clean = await sb.cli(['vm', 'clean', 'box', '--preserve-disk']);
    console.log(`preserve-disk: vm clean --preserve-disk ${((performance.now() - t) / 1000).toFixed(1)}s`);
    expect(clean.exitCode, output(clean)).toBe(0);
    expect(String(clean.stdout)).toContain('cleaned (disk kept) box');
    expect(await sb.filesOf('box')).toEqual(['disk.qcow2']);
    expect(await isQcow2(join(sb.vmsDir, 'box', 'disk.qcow2'))).toBe(true);
    expect(await sb.reservations(['box'])).toEqual([]);

    t = performance.now();
    const r2 = await sb.cli(['run', second]);
    console.log(`preserve-disk: second run (from the kept disk) ${((performance.now() - t) / 1000).toFixed(1)}s`);
    expect(r2.exitCode, output(r2)).toBe(0);
    expect(output(r2)).toContain("the first run's file is on the disk");
    expect(await sb.vmDirs()).toEqual([]);
  }, 900_000);
});
