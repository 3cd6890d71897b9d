// Kernel modules for the tiny image, in load order. The order comes from each module's own `depends=` field
// in its .modinfo section (what depmod writes into modules.dep), so we need neither depmod nor a hand-kept
// list, and a kernel that gains or loses a dependency still boots.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

/**
 * What the guest needs: virtio PCI transport, the network card (with failover) and the RNG (entropy); the ACPI
 * power button and evdev, so busybox acpid sees the button on /dev/input/event* and `virsh shutdown` or QMP
 * `system_powerdown` powers the guest off cleanly (both are modules in Debian's kernel, not built in).
 */
export const TINY_MODULES = ['virtio_pci', 'virtio_net', 'virtio_rng', 'button', 'evdev'];

export interface KernelModule {
  name: string;
  /** Path relative to /lib/modules/<version>/. */
  relPath: string;
  depends: string[];
}

/** Normalised module name: the kernel treats '-' and '_' alike (virtio-rng.ko is module virtio_rng). */
export const modName = (s: string) => s.replace(/\.ko$/, '').replace(/-/g, '_');

/** Reads `name=` and `depends=` from a .ko file's modinfo strings (NUL-separated key=value). */
export function parseModinfo(ko: Buffer): { name?: string; depends: string[] } {
  const get = (key: string) => {
    const at = ko.indexOf(`\0${key}=`);
    if (at < 0) return undefined;
    const start = at + key.length + 2;
    return ko.toString('latin1', start, ko.indexOf(0, start));
  };
  const deps = get('depends');
  return { name: get('name'), depends: deps ? deps.split(',').filter(Boolean).map(modName) : [] };
}

/**
 * Returns the modules needed for `wanted` (with their dependencies) in an order where each comes after
 * everything it depends on. Modules built into the kernel (modules.builtin) are left out.
 */
export async function resolveModules(modulesDir: string, wanted: string[]): Promise<KernelModule[]> {
  const builtin = new Set(
    (await readFile(join(modulesDir, 'modules.builtin'), 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((l) => modName(l.split('/').pop()!)),
  );
  const files = new Map<string, string>();
  for (const f of await walk(join(modulesDir, 'kernel'))) {
    if (/\.ko\.(xz|zst|gz)$/.test(f)) throw new Error(`compressed kernel module ${f}: expected plain .ko files (busybox insmod cannot load compressed ones)`);
    if (f.endsWith('.ko')) files.set(modName(f.split('/').pop()!), f);
  }
  const ordered: KernelModule[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = async (name: string, chain: string[]): Promise<void> => {
    if (builtin.has(name) || state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') throw new Error(`kernel module dependency cycle: ${[...chain, name].join(' -> ')}`);
    const file = files.get(name);
    if (!file) throw new Error(`kernel module ${name} (needed by ${chain.at(-1) ?? 'the tiny image'}) was not found under ${modulesDir}/kernel and is not built in`);
    state.set(name, 'visiting');
    const info = parseModinfo(await readFile(file));
    for (const dep of info.depends) await visit(dep, [...chain, name]);
    state.set(name, 'done');
    ordered.push({ name, relPath: relative(modulesDir, file), depends: info.depends });
  };
  for (const w of wanted) await visit(modName(w), []);
  return ordered;
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}
