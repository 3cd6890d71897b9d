// A kernel for the KVM boot test (harness/providers/kvm-probe.ts): any tiny image in the cache carries one.
import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export async function probeKernelFromCache(cacheDir: string): Promise<string | undefined> {
  const images = join(cacheDir, 'images');
  for (const entry of await readdir(images).catch(() => [] as string[])) {
    const k = join(images, entry, 'vmlinuz');
    if (await access(k).then(() => true, () => false)) return k;
  }
  return undefined;
}
