// `harness iso build|list|prune`: build an image outside a scenario (e.g. to boot it by hand), and look after
// the content-addressed image cache.
import { copyFile, rename } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildImage, cachePathsInUse, listDownloads, listImages, pruneDownloads, pruneImages } from '../../../iso/index.js';
import { readPublicKeyFile } from '../../../iso/nixos/key-lines.js';
import { imageSchema, type ImageConfig } from '../../scenario/schema.js';
import { projectKeyPair } from '../../keys.js';
import { harnessPaths } from '../../paths.js';
import { UsageError, type CliCommand, type CliIo } from '../command.js';

const usage = `usage:
  harness iso build --builder tiny|nixos|cloud-init [--ssh-key FILE.pub ...] -o OUT.iso
      Builds (or reuses from the cache) an image authorising the given public keys (default: the project key),
      copies it to OUT.iso and prints the host public key to pin.
      nixos:      [--mode flake|classic] [--nixpkgs github:NixOS/nixpkgs/nixos-24.05 | nixos-24.05] [--module FILE|NIX ...]
                  (needs nix; classic mode also nixos-generate; the build downloads nixpkgs and the binary cache)
      cloud-init: --base IMAGE.qcow2|https://URL [--sha256 HEX] [--user NAME]
                  OUT.iso is the NoCloud seed (label cidata); the base disk's cached path is printed too.
  harness iso list [--json]
      Lists cached images and downloaded cloud images: key, kind, builder, size, created, last used, source URL.
  harness iso prune [--older-than 30d] [--all]
      Removes cached images and downloads not used for the given time (d, h, m, s), or all of them.
      Never removed: images being built and downloads in progress (their lock is held), and a download a VM
      in vms/ still stands on (its disk overlay's base, even a disk kept by preserve-disk).`;

export const isoCommand: CliCommand = {
  name: 'iso',
  usage,
  async run(args, io) {
    const [sub, ...rest] = args;
    switch (sub) {
      case 'build':
        return build(rest, io);
      case 'list':
        return list(rest, io);
      case 'prune':
        return prune(rest, io);
      default:
        throw new UsageError(sub ? `unknown subcommand "${sub}" (expected build, list or prune)` : 'missing subcommand (build, list or prune)');
    }
  },
};

function parse<T extends NonNullable<Parameters<typeof parseArgs>[0]>['options']>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: false, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

async function build(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, {
    builder: { type: 'string' },
    'ssh-key': { type: 'string', multiple: true },
    output: { type: 'string', short: 'o' },
    mode: { type: 'string' },
    nixpkgs: { type: 'string' },
    module: { type: 'string', multiple: true },
    base: { type: 'string' },
    sha256: { type: 'string' },
    user: { type: 'string' },
  });
  const imageConfig = imageFromFlags(values);
  if (!values.output) throw new UsageError('missing -o OUT.iso');
  const paths = harnessPaths(io.env, io.cwd);
  const keyFiles = (values['ssh-key'] as string[] | undefined) ?? [];
  // Key files are checked line by line: a bad key is reported as FILE:LINE with what is wrong.
  const keys = keyFiles.length
    ? (await Promise.all(keyFiles.map((f) => readPublicKeyFile(resolve(io.cwd, f))))).flat().map((k) => k.key)
    : [(await projectKeyPair(paths.keys)).publicKey];
  const image = await buildImage(imageConfig, { authorizedKeys: keys, cacheDir: paths.cache, baseDir: io.cwd, onProgress: (m) => io.err(`${m}\n`) });
  const out = resolve(io.cwd, values.output as string);
  // Copy beside the destination, then rename: a reader of OUT.iso never sees half a file.
  // A cloud image's ISO is its seed; the base disk stays in the cache (printed below).
  const tmp = `${out}.${process.pid}.tmp`;
  await copyFile(image.seedIso ?? image.path, tmp);
  await rename(tmp, out);
  io.out(`${out}\n${image.seedIso ? `base disk: ${image.path}\n` : ''}host key: ${image.hostPublicKey}\n`);
  return 0;
}

/** The image config the flags describe, validated (and defaulted) by the scenario schema itself. */
function imageFromFlags(values: Record<string, unknown>): ImageConfig {
  const builder = values.builder as string | undefined;
  let raw: Record<string, unknown>;
  if (builder === 'tiny') raw = { builder };
  else if (builder === 'nixos') {
    const nixpkgs = values.nixpkgs as string | undefined;
    raw = {
      builder,
      ...(values.mode !== undefined ? { mode: values.mode } : {}),
      ...(nixpkgs !== undefined ? { nixpkgs: nixpkgs.includes(':') ? { flake: nixpkgs } : { channel: nixpkgs } } : {}),
      modules: (values.module as string[] | undefined) ?? [],
    };
  } else if (builder === 'cloud-init') {
    if (!values.base) throw new UsageError('--builder cloud-init needs --base IMAGE.qcow2 or --base https://URL --sha256 HEX');
    raw = { builder, base: values.base, ...(values.sha256 !== undefined ? { sha256: values.sha256 } : {}), ...(values.user !== undefined ? { user: values.user } : {}) };
  } else {
    throw new UsageError(builder ? `--builder ${builder} is not supported (expected tiny, nixos or cloud-init)` : 'missing --builder tiny|nixos|cloud-init');
  }
  const flagsFor: Record<string, string[]> = { tiny: [], nixos: ['mode', 'nixpkgs', 'module'], 'cloud-init': ['base', 'sha256', 'user'] };
  const stray = ['mode', 'nixpkgs', 'module', 'base', 'sha256', 'user'].filter((f) => values[f] !== undefined && !flagsFor[builder]!.includes(f));
  if (stray.length) throw new UsageError(`--${stray[0]} does not apply to --builder ${builder}`);
  // The schema is a union (its errors say only "Invalid input"), so the enumerated flags are checked here first.
  if (values.mode !== undefined && values.mode !== 'flake' && values.mode !== 'classic') throw new UsageError(`--mode: expected flake or classic, got "${values.mode}"`);
  if (values.sha256 !== undefined && !/^[0-9a-f]{64}$/.test(values.sha256 as string)) throw new UsageError(`--sha256: expected 64 lowercase hex digits, got "${values.sha256}"`);
  const parsed = imageSchema.safeParse(raw);
  if (!parsed.success) {
    throw new UsageError(parsed.error.issues.map((i) => `--${String(i.path[0] ?? 'builder')}: ${i.message}`).join('\n'));
  }
  return parsed.data;
}

async function list(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, { json: { type: 'boolean' } });
  const cache = harnessPaths(io.env, io.cwd).cache;
  const [images, downloads] = await Promise.all([listImages(cache), listDownloads(cache)]);
  if (values.json) {
    io.out(JSON.stringify([...images.map((i) => ({ kind: 'image' as const, ...i })), ...downloads], null, 2) + '\n');
    return 0;
  }
  if (!images.length && !downloads.length) {
    io.out('no cached images\n');
    return 0;
  }
  const size = (n: number) => `${(n / 1024 ** 2).toFixed(1)}M`;
  const rows = [
    ...images.map((i) => [i.key.slice(0, 12), 'image', i.builder, size(i.size), i.created.slice(0, 19), i.lastUsed.slice(0, 19), i.path]),
    ...downloads.map((d) => [d.sha256.slice(0, 12), 'download', '-', size(d.size), d.created.slice(0, 19), d.lastUsed.slice(0, 19), d.url ? `${d.path} <- ${d.url}` : d.path]),
  ];
  const head = ['KEY', 'KIND', 'BUILDER', 'SIZE', 'CREATED', 'LAST USED', 'PATH'];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  for (const r of [head, ...rows]) io.out(r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(widths[c]!))).join('  ') + '\n');
  return 0;
}

async function prune(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, { 'older-than': { type: 'string' }, all: { type: 'boolean' } });
  const olderThan = values['older-than'] as string | undefined;
  if (!values.all && olderThan === undefined) throw new UsageError('say what to prune: --older-than 30d or --all');
  const olderThanMs = olderThan === undefined ? undefined : parseAge(olderThan);
  const paths = harnessPaths(io.env, io.cwd);
  const r = await pruneImages(paths.cache, { olderThanMs, all: Boolean(values.all) });
  // Downloads a VM in vms/ stands on (its overlay's base) stay whatever their age.
  const d = await pruneDownloads(paths.cache, { olderThanMs, all: Boolean(values.all), inUse: await cachePathsInUse(paths.vms) });
  const named = (x: { sha256: string; url?: string }) => `download ${x.sha256}${x.url ? ` (${x.url})` : ''}`;
  for (const k of r.removed) io.out(`removed ${k}\n`);
  for (const x of d.removed) io.out(`removed ${named(x)}\n`);
  for (const k of r.skippedLocked) io.out(`kept ${k} (in use: its lock is held)\n`);
  for (const x of d.skippedLocked) io.out(`kept ${named(x)} (in use: being downloaded)\n`);
  for (const x of d.skippedInUse) io.out(`kept ${named(x)} (in use by VM ${x.vm} in ${paths.vms})\n`);
  const removed = r.removed.length + d.removed.length;
  const inUse = r.skippedLocked.length + d.skippedLocked.length + d.skippedInUse.length;
  io.out(`${removed} removed, ${inUse} in use\n`);
  return 0;
}

/** "30d", "12h", "90m", "45s" -> milliseconds. */
export function parseAge(s: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(d|h|m|s)$/.exec(s);
  if (!m) throw new UsageError(`--older-than: expected a duration such as 30d, 12h, 90m or 45s, got "${s}"`);
  return Math.round(Number(m[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 }[m[2] as 'd' | 'h' | 'm' | 's']);
}
