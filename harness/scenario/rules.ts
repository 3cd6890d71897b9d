// Rules beyond the schema: what one field can't say alone (step targets, duplicate names, port clashes),
// what depends on the host (RAM) and on the disk (input files exist). They read the raw input defensively,
// so they report alongside schema errors instead of waiting until those are fixed.
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import ssh2 from 'ssh2';
import { DEFAULT_MEMORY_BYTES, MAX_SIZE_BYTES } from './schema.js';
import { parseDurationMs, parseSizeBytes, QEMU_SIZE_RE, DURATION_RE, formatSize } from './units.js';
import { describeValue } from './describe-value.js';
import { formatPath, type IssuePath, type Position, type RawIssue } from './issue.js';

/** Sections whose keys are machines a step may target with `on:`. */
export const MACHINE_SECTIONS = ['vms', 'containers'] as const;
/** QEMU can't boot anything useful below this; a plain number is bytes, so `memory: 512` lands here. */
export const MIN_MEMORY_BYTES = 16 * 1024 * 1024;

export interface RuleContext {
  /** Directory relative paths resolve against (the scenario file's). */
  dir: string;
  hostMemoryBytes: number;
  /** Position of another field, to say where a clashing value was first given. */
  locate?: (path: IssuePath) => Position;
}

type Obj = Record<string, unknown>;

export function checkRules(data: unknown, ctx: RuleContext): RawIssue[] {
  if (!isObj(data)) return [];
  return [...checkMemory(data, ctx), ...checkHostPorts(data, ctx), ...checkMachineNames(data), ...checkSteps(data), ...checkInputFiles(data, ctx)];
}

/** VMs and containers share one namespace (steps' `on:` names either): a name may not be both. */
function checkMachineNames(data: Obj): RawIssue[] {
  const vms = new Set(entries(data.vms).map(([n]) => n));
  return entries(data.containers)
    .filter(([n]) => vms.has(n))
    .map(([n]) => ({ path: ['containers', n], expected: `a name not already used by vms.${n} (VMs and containers share one namespace)`, found: describeValue(n), at: 'key' as const }));
}

/** Each VM's memory, and all of them together, must fit in the host's RAM. */
function checkMemory(data: Obj, ctx: RuleContext): RawIssue[] {
  const issues: RawIssue[] = [];
  const host = formatSize(ctx.hostMemoryBytes);
  let total = 0;
  const parts: string[] = [];
  let allValid = true;
  for (const [name, vm] of entries(data.vms)) {
    if (!isObj(vm)) continue;
    const raw = vm.memory;
    const bytes = raw === undefined ? DEFAULT_MEMORY_BYTES : sizeBytes(raw);
    if (bytes === undefined) {
      allValid = false;
      continue;
    }
    const path = ['vms', name, 'memory'];
    if (bytes < MIN_MEMORY_BYTES) {
      issues.push({
        path,
        expected: `at least 16M of memory (a plain number means bytes: write ${/^[0-9]+$/.test(String(raw)) ? `${String(raw)}M` : '512M'} for megabytes)`,
        found: `${describeValue(raw)} (${formatSize(bytes)})`,
      });
      allValid = false;
    } else if (bytes > ctx.hostMemoryBytes) {
      issues.push({ path, expected: `at most this host's memory (${host})`, found: typeof raw === 'string' ? describeValue(raw) : `${describeValue(raw)} (${formatSize(bytes)})` });
      allValid = false;
    }
    total += bytes;
    parts.push(`${name} ${formatSize(bytes)}`);
  }
  if (allValid && parts.length > 1 && total > ctx.hostMemoryBytes) {
    issues.push({
      path: ['vms'],
      at: 'key',
      expected: `VMs whose memory adds up to at most this host's memory (${host})`,
      found: `${formatSize(total)} in total (${parts.join(' + ')})`,
    });
  }
  return issues;
}

/** No two forwards (SSH or extra ports, any VM) may claim the same host port. */
function checkHostPorts(data: Obj, ctx: RuleContext): RawIssue[] {
  const issues: RawIssue[] = [];
  const claimed = new Map<number, IssuePath>();
  const claim = (port: unknown, path: IssuePath) => {
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1024 || port > 65535) return;
    const first = claimed.get(port);
    if (!first) return void claimed.set(port, path);
    const line = ctx.locate?.(first).line;
    issues.push({ path, expected: 'a host port no other forward in this scenario uses', found: `port ${port}, already used by ${formatPath(first)}${line ? ` (line ${line})` : ''}` });
  };
  for (const [name, vm] of entries(data.vms)) {
    if (!isObj(vm)) continue;
    claim(vm.sshPort, ['vms', name, 'sshPort']);
    items(vm.ports).forEach((p, i) => isObj(p) && claim(p.host, ['vms', name, 'ports', i, 'host']));
  }
  return issues;
}

/** Steps must target a declared machine, have unique names, and a waitUntil interval below its timeout. */
function checkSteps(data: Obj): RawIssue[] {
  if (!Array.isArray(data.steps)) return [];
  const issues: RawIssue[] = [];
  const machines = MACHINE_SECTIONS.flatMap((s) => entries(data[s]).map(([n]) => n));
  const known = new Set(machines);
  const seen = new Map<string, number>();
  items(data.steps).forEach((step, i) => {
    if (!isObj(step)) return;
    if (typeof step.on === 'string' && step.on !== '' && !known.has(step.on)) {
      issues.push({
        path: ['steps', i, 'on'],
        expected: `the name of a machine declared in this scenario (${listBriefly(machines) || 'none declared'})`,
        found: describeValue(step.on),
      });
    }
    if (typeof step.name === 'string') {
      const first = seen.get(step.name);
      if (first !== undefined) {
        issues.push({ path: ['steps', i, 'name'], expected: `a step name not already used (steps[${first}] has it)`, found: describeValue(step.name) });
      } else seen.set(step.name, i);
    }
    const w = step.waitUntil;
    if (isObj(w)) {
      const timeout = durationMs(w.timeout);
      const interval = durationMs(w.interval);
      if (timeout !== undefined && interval !== undefined && interval > timeout) {
        issues.push({ path: ['steps', i, 'waitUntil', 'interval'], expected: `an interval no longer than the timeout (${String(w.timeout)})`, found: describeValue(w.interval) });
      }
    }
  });
  return issues;
}

/** Input files must exist where the scenario says (relative to the scenario file). */
function checkInputFiles(data: Obj, ctx: RuleContext): RawIssue[] {
  const issues: RawIssue[] = [];
  const need = (value: unknown, path: IssuePath, kind: 'file' | 'private key' = 'file') => {
    if (typeof value !== 'string' || value === '') return;
    const problem = kind === 'private key' ? privateKeyProblem(resolveInputPath(ctx.dir, value)) : fileProblem(resolveInputPath(ctx.dir, value));
    if (problem) issues.push({ path, ...problem });
  };
  if (isObj(data.ssh)) need(data.ssh.privateKeyFile, ['ssh', 'privateKeyFile'], 'private key');
  for (const [name, vm] of entries(data.vms)) {
    if (!isObj(vm) || !isObj(vm.image)) continue;
    need(vm.image.iso, ['vms', name, 'image', 'iso']);
    const base = vm.image.base;
    if (vm.image.builder === 'cloud-init' && typeof base === 'string') {
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(base)) {
        if (!base.startsWith('https://')) issues.push({ path: ['vms', name, 'image', 'base'], expected: 'a local file or an https:// URL', found: describeValue(base) });
        else if (vm.image.sha256 === undefined) issues.push({ path: ['vms', name, 'image'], expected: 'a sha256 next to a downloaded base image', found: 'no sha256' });
      } else need(base, ['vms', name, 'image', 'base']);
    }
  }
  items(data.steps).forEach((s, i) => isObj(s) && isObj(s.copyTo) && need(s.copyTo.from, ['steps', i, 'copyTo', 'from']));
  return issues;
}

function fileProblem(abs: string): { expected: string; found: string } | undefined {
  try {
    const st = statSync(abs);
    return st.isFile() ? undefined : { expected: `a file (resolved to ${abs})`, found: st.isDirectory() ? 'a directory' : 'not a regular file' };
  } catch (e) {
    return { expected: `an existing file (resolved to ${abs})`, found: fsReason(e) };
  }
}

/** The login key must be a private key the harness can use as is (not the .pub, not passphrase-protected). */
function privateKeyProblem(abs: string): { expected: string; found: string } | undefined {
  const missing = fileProblem(abs);
  if (missing) return missing;
  const expected = `an unencrypted OpenSSH or PEM private key file (resolved to ${abs})`;
  let text: string;
  try {
    const st = statSync(abs);
    if (st.size > 64 * 1024) return { expected, found: `a ${formatSize(st.size)} file, too big for a key` };
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    return { expected, found: fsReason(e) };
  }
  if (/^(ssh-|ecdsa-)/.test(text)) return { expected, found: 'a public key (use the file without .pub)' };
  const parsed = ssh2.utils.parseKey(text);
  if (parsed instanceof Error) return { expected, found: `a file ssh2 cannot read as a key (${parsed.message})` };
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key.isPrivateKey() === false) return { expected, found: 'a key file without a private key' };
  return undefined;
}

function fsReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'a file this user may not read';
  return `an unreadable path (${code ?? String(e)})`;
}

/** Relative to the scenario's directory; `~/` is the user's home. */
export function resolveInputPath(dir: string, p: string): string {
  if (p === '~' || p.startsWith('~/')) return resolve(homedir(), p.slice(2));
  return isAbsolute(p) ? resolve(p) : resolve(dir, p);
}

function sizeBytes(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v > 0 && v <= MAX_SIZE_BYTES ? v : undefined;
  if (typeof v === 'string' && QEMU_SIZE_RE.test(v)) {
    const b = parseSizeBytes(v);
    return b > 0 && b <= MAX_SIZE_BYTES ? b : undefined;
  }
  return undefined;
}

function durationMs(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return v * 1000;
  if (typeof v === 'string' && DURATION_RE.test(v)) return parseDurationMs(v);
  return undefined;
}

function listBriefly(names: string[]): string {
  return names.length > 10 ? `${names.slice(0, 10).join(', ')}, ... (${names.length} in all)` : names.join(', ');
}

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function entries(v: unknown): [string, unknown][] {
  return isObj(v) ? Object.entries(v) : [];
}

/**
 * An array's elements as a plain array, read by index: a defineScenario caller's array may have another
 * prototype (its own forEach, or none), which would crash the rules instead of failing validation.
 */
function items(v: unknown): unknown[] {
  return Array.isArray(v) ? (Array.prototype.slice.call(v) as unknown[]) : [];
}
