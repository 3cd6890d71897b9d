// Finding and reaping the harness's own domains. A domain is ours only when its name has the harness- prefix AND
// it carries our <harness:vm owner='vm-harness'/> metadata; anything else on the host is never touched. An orphan is
// one of ours, recorded on this host, not marked keep, whose recorded harness pid is no longer alive (the run that
// started it was killed before its teardown). When the domain's state dir still has a vm.json, that record has the
// last word, as it has for harness/reap.ts: its ownerPid alive, `kept` or teardown keep spare the domain.
import { hostname } from 'node:os';
import { basename, dirname } from 'node:path';
import { pidAlive } from '../../lock.js';
import { readVmRecord, type VmRecord } from '../../vm-record.js';
import { HARNESS_XMLNS, metadataElement, type HarnessMetadata } from './domain-xml.js';
import { readMetadata } from './domain-read.js';
import { DOMAIN_PREFIX } from './naming.js';
import { parseDomState, isActive, type ParsedDomState } from './state.js';
import { isNotFound, VirshFailed, type Virsh } from './virsh.js';

export interface HarnessDomain {
  domain: string;
  meta: HarnessMetadata;
  state?: ParsedDomState;
}

export async function listHarnessDomains(virsh: Virsh, prefix = DOMAIN_PREFIX): Promise<HarnessDomain[]> {
  const names = (await virsh.ok(['list', '--all', '--name'])).split('\n').map((l) => l.trim()).filter((n) => n.startsWith(prefix));
  const out: HarnessDomain[] = [];
  for (const domain of names) {
    const meta = await readDomainMetadata(virsh, domain);
    if (!meta) continue;
    const st = await virsh.run(['domstate', '--reason', domain]);
    out.push({ domain, meta, state: st.exitCode === 0 ? parseDomState(st.stdout) : undefined });
  }
  return out;
}

export async function readDomainMetadata(virsh: Virsh, domain: string): Promise<HarnessMetadata | undefined> {
  const r = await virsh.run(['metadata', domain, '--uri', HARNESS_XMLNS]);
  return r.exitCode === 0 ? readMetadata(r.stdout) : undefined;
}

/** Rewrites our metadata on the domain (live and persistent), e.g. to mark it kept or hand it to another pid. */
export async function writeDomainMetadata(virsh: Virsh, domain: string, meta: HarnessMetadata, live: boolean): Promise<void> {
  await virsh.ok(['metadata', domain, '--uri', HARNESS_XMLNS, '--key', 'harness', '--set', metadataElement(meta, false), '--config', ...(live ? ['--live'] : [])]);
}

export interface ReapOptions {
  host?: string;
  isPidAlive?: (pid: number) => boolean;
  prefix?: string;
  /** Reads vm.json from the domain's recorded state dir (default: harness/vm-record.ts readVmRecord). */
  readRecord?: (dir: string) => Promise<VmRecord | undefined>;
}

/** Destroys and undefines orphaned harness domains; returns their names. Disk files are left for `clean`. */
export async function reapOrphanDomains(virsh: Virsh, opts: ReapOptions = {}): Promise<string[]> {
  const host = opts.host ?? hostname();
  const alive = opts.isPidAlive ?? pidAlive;
  const reaped: string[] = [];
  const readRecord = opts.readRecord ?? ((dir: string) => readVmRecord(dirname(dir), basename(dir)));
  for (const d of await listHarnessDomains(virsh, opts.prefix)) {
    if (d.meta.keep || d.meta.host !== host || d.meta.pid <= 0 || alive(d.meta.pid)) continue;
    const rec = d.meta.dir ? await readRecord(d.meta.dir) : undefined;
    if (rec && (rec.kept || rec.teardown === 'keep' || (rec.ownerPid > 0 && alive(rec.ownerPid)))) continue;
    if (isActive(d.state)) await virsh.run(['destroy', d.domain]);
    await undefineDomain(virsh, d.domain);
    reaped.push(d.domain);
  }
  return reaped;
}

/** Undefines a domain with its snapshot metadata and managed-save image; a missing domain is not an error. */
export async function undefineDomain(virsh: Virsh, domain: string): Promise<void> {
  const r = await virsh.run(['undefine', domain, '--snapshots-metadata', '--managed-save']);
  if (r.exitCode !== 0 && !isNotFound(r.stderr)) throw new VirshFailed(virsh.uri, r);
}
