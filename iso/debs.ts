// Debian packages for the offline image builders: resolve candidate versions from the local apt lists, fetch
// missing .debs with `apt-get download` into <cacheDir>/debs/ (kept, so later builds need no network), and
// extract them with dpkg-deb. A metapackage (linux-image-amd64) resolves to the versioned package it depends on.
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { ProviderUnavailable } from '../harness/errors.js';
import { withFileLock } from '../harness/lock.js';
import { runTool, toolMissing } from './tools.js';

export interface ResolvedPackage {
  /** The package actually downloaded (a metapackage is replaced by its versioned dependency). */
  name: string;
  version: string;
  /** The name that was asked for, when it differs (e.g. linux-image-amd64). */
  requested?: string;
}

const COMPONENT = 'tiny image builder';
/** Metapackages whose single versioned dependency is what we really need. */
const METAPACKAGES: Record<string, RegExp> = { 'linux-image-amd64': /^linux-image-[0-9][^ ]*-amd64$/ };

export const debsDir = (cacheDir: string) => join(cacheDir, 'debs');

/** apt's file name escaping of a version ("1:1.35" -> "1%3a1.35"). */
const escapeVersion = (v: string) => v.replace(/:/g, '%3a');

/**
 * Resolves each package to a concrete name and version from the local apt lists. Where apt knows nothing
 * (no `apt-get update` yet) a .deb already in the cache is used; otherwise ProviderUnavailable says what to run.
 */
export async function resolvePackages(names: string[], cacheDir: string, signal?: AbortSignal): Promise<ResolvedPackage[]> {
  // Asking apt costs ~1.5 s per run, paid on every `harness run` just to find the cached image again. The answer
  // only changes when apt's lists or configuration do, so it is remembered under their modification times.
  const memoKey = JSON.stringify({ names, apt: await aptStateStamp() });
  const memoFile = join(debsDir(cacheDir), 'resolved.json');
  const memo = await readFile(memoFile, 'utf8').then((t) => JSON.parse(t) as { key: string; packages: ResolvedPackage[] }, () => undefined);
  if (memo?.key === memoKey) return memo.packages;
  const packages = await resolveWithApt(names, cacheDir, signal);
  await mkdir(debsDir(cacheDir), { recursive: true });
  const tmp = `${memoFile}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify({ key: memoKey, packages }));
  await rename(tmp, memoFile);
  return packages;
}

/** Modification times of what apt's answers depend on (lists from `apt-get update`, sources, pinning). */
async function aptStateStamp(): Promise<Record<string, number>> {
  const paths = ['/var/lib/apt/lists', '/etc/apt/sources.list', '/etc/apt/sources.list.d', '/etc/apt/preferences.d', '/var/lib/dpkg/status'];
  const stamps: Record<string, number> = {};
  for (const p of paths) stamps[p] = await stat(p).then((s) => s.mtimeMs, () => 0);
  return stamps;
}

async function resolveWithApt(names: string[], cacheDir: string, signal?: AbortSignal): Promise<ResolvedPackage[]> {
  const cached = await readdir(debsDir(cacheDir)).catch(() => [] as string[]);
  const concrete: Array<{ name: string; requested?: string }> = [];
  for (const requested of names) {
    const pattern = METAPACKAGES[requested];
    concrete.push(pattern ? { name: await resolveMetapackage(requested, pattern, cached, signal), requested } : { name: requested });
  }
  // One apt-cache call for all candidates: each call costs ~0.5 s of parsing the package lists.
  const candidates = await candidateVersions(concrete.map((c) => c.name), signal);
  return concrete.map(({ name, requested }) => {
    const version = candidates.get(name) ?? newestCached(cached, name);
    if (!version) {
      throw new ProviderUnavailable(COMPONENT, `apt knows no candidate version of ${name} and no ${name}_*.deb is cached in ${debsDir(cacheDir)}`, `apt-get update && apt-get download ${name}`);
    }
    return requested ? { name, version, requested } : { name, version };
  });
}

async function resolveMetapackage(meta: string, pattern: RegExp, cached: string[], signal?: AbortSignal): Promise<string> {
  const deps = await aptCache(['depends', meta], signal).catch(() => '');
  const dep = deps
    .split('\n')
    .map((l) => /^\s*Depends:\s*(\S+)/.exec(l)?.[1])
    .find((d): d is string => d !== undefined && pattern.test(d));
  if (dep) return dep;
  // No apt lists: take the newest versioned package already in the cache.
  const names = cached.map((f) => f.split('_')[0] ?? '').filter((n) => pattern.test(n));
  const newest = names.sort(compareNatural).at(-1);
  if (newest) return newest;
  throw new ProviderUnavailable(COMPONENT, `\`apt-cache depends ${meta}\` names no package matching ${pattern} and none is cached`, `apt-get update && apt-cache depends ${meta}`);
}

/** Parses `apt-cache policy a b c`: a "name:" line opens each package's section, "Candidate:" follows. */
async function candidateVersions(names: string[], signal?: AbortSignal): Promise<Map<string, string>> {
  const out = await aptCache(['policy', ...names], signal).catch(() => '');
  const found = new Map<string, string>();
  let current: string | undefined;
  for (const line of out.split('\n')) {
    const head = /^(\S+?)(?::amd64)?:$/.exec(line);
    if (head) current = head[1];
    const cand = /^\s+Candidate:\s*(\S+)/.exec(line)?.[1];
    if (current && cand && cand !== '(none)') found.set(current, cand);
  }
  return found;
}

function newestCached(cached: string[], name: string): string | undefined {
  const versions = cached.filter((f) => f.startsWith(`${name}_`) && f.endsWith('.deb')).map((f) => decodeURIComponent(f.split('_')[1] ?? ''));
  return versions.sort(compareNatural).at(-1);
}

const compareNatural = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

async function aptCache(args: string[], signal?: AbortSignal): Promise<string> {
  return (await runTool(COMPONENT, 'apt-cache', args, { signal })).stdout;
}

/**
 * Makes sure every package's .deb is in <cacheDir>/debs/, downloading the missing ones with
 * `apt-get download name=version`. Returns name -> .deb path. Downloads land in a temp dir first, so a
 * half-downloaded file never carries a final name.
 */
export async function fetchDebs(
  pkgs: ResolvedPackage[],
  cacheDir: string,
  opts: { signal?: AbortSignal; onProgress?: (msg: string) => void } = {},
): Promise<Map<string, string>> {
  const dir = debsDir(cacheDir);
  await mkdir(dir, { recursive: true });
  return withFileLock(
    dir,
    'debs',
    async () => {
      const have = new Set(await readdir(dir));
      const result = new Map<string, string>();
      const missing: ResolvedPackage[] = [];
      for (const p of pkgs) {
        const file = [...have].find((f) => f.startsWith(`${p.name}_${escapeVersion(p.version)}_`) && f.endsWith('.deb'));
        if (file) result.set(p.name, join(dir, file));
        else missing.push(p);
      }
      if (missing.length === 0) return result;
      const specs = missing.map((p) => `${p.name}=${p.version}`);
      opts.onProgress?.(`downloading ${specs.join(' ')}`);
      const tmp = await mkdtemp(join(dir, '.download-'));
      try {
        await execaApt(['download', ...specs], tmp, opts.signal);
        for (const f of await readdir(tmp)) {
          if (!f.endsWith('.deb')) continue;
          await rename(join(tmp, f), join(dir, f));
          const p = missing.find((m) => f.startsWith(`${m.name}_`));
          if (p) result.set(p.name, join(dir, f));
        }
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
      const still = missing.filter((p) => !result.has(p.name));
      if (still.length) throw new Error(`apt-get download did not produce: ${still.map((p) => `${p.name}=${p.version}`).join(', ')}`);
      return result;
    },
    10 * 60_000,
  );
}

async function execaApt(args: string[], cwd: string, signal?: AbortSignal): Promise<void> {
  const r = await execa('apt-get', args, { cwd, cancelSignal: signal, reject: false, all: true });
  if ((r as { code?: string }).code === 'ENOENT') throw toolMissing(COMPONENT, 'apt-get');
  if (r.exitCode !== 0) {
    throw new ProviderUnavailable(
      COMPONENT,
      `\`apt-get ${args.join(' ')}\` failed (exit ${r.exitCode ?? r.signal}): ${String(r.all).split('\n').slice(-5).join(' | ')}`,
      `apt-get update && apt-get ${args.join(' ')}`,
    );
  }
}

/**
 * Extracts a .deb into `dest`. With `patterns` (tar wildcards such as './boot/vmlinuz-*') only matching
 * members are unpacked: the kernel package is ~400 MB unpacked and we need ~10 MB of it.
 */
export async function extractDeb(deb: string, dest: string, patterns?: string[], signal?: AbortSignal): Promise<void> {
  await mkdir(dest, { recursive: true });
  if (!patterns) {
    await runTool(COMPONENT, 'dpkg-deb', ['-x', deb, dest], { signal });
    return;
  }
  const script = 'dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards "${@:3}"';
  try {
    await runTool(COMPONENT, 'bash', ['-o', 'pipefail', '-c', script, 'extract', deb, dest, ...patterns], { signal });
  } catch (e) {
    if (/dpkg-deb: (command )?not found/.test(String((e as Error).message))) throw toolMissing(COMPONENT, 'dpkg-deb');
    throw e;
  }
}
