// Provider lookup by name. Backends that need tools this machine lacks still probe, so `doctor` can say why.
import type { HarnessPaths } from '../paths.js';
import { ProviderUnavailable } from '../errors.js';
import type { Provider } from './provider.js';
import { QemuProvider } from './qemu.js';

export interface ProviderContext {
  paths: HarnessPaths;
  privateKeyPath: string;
  probeKernel?: () => Promise<string | undefined>;
}

type Factory = (ctx: ProviderContext) => Provider;

const factories: Record<string, Factory> = {
  qemu: (ctx) => new QemuProvider({ cacheDir: ctx.paths.cache, privateKeyPath: ctx.privateKeyPath, probeKernel: ctx.probeKernel }),
};

/** Lets a backend module add itself (libvirt, quickemu, lima, proxmox) without this file importing them all. */
export function registerProvider(name: string, factory: Factory): void {
  factories[name] = factory;
}

export function providerNames(): string[] {
  return Object.keys(factories);
}

export function getProvider(name: string, ctx: ProviderContext): Provider {
  const f = factories[name];
  if (!f) throw new ProviderUnavailable(name, `no ${name} provider is built into this harness yet`, `use provider: qemu (available: ${providerNames().join(', ')})`);
  return f(ctx);
}
