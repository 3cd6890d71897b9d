// `harness vm list|status|ssh|stop|clean`: look at and manage machines in vms/, e.g. one kept alive for debugging.
import { readdir, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import type { CliCommand, CliIo } from '../command.js';
import { UsageError } from '../command.js';
import { parse } from '../args.js';
import { harnessPaths, vmFiles, type HarnessPaths } from '../../paths.js';
import { HarnessError } from '../../errors.js';
import { acquireLock } from '../../lock.js';
import { getProvider } from '../../providers/registry.js';
import { readVmRecord, type VmRecord } from '../../vm-record.js';
import { connectSsh } from '../../ssh/connect.js';
import { SshTarget } from '../../targets/ssh-target.js';
import { knownHostsLine } from '../../ssh/host-key.js';
import { readFile } from 'node:fs/promises';
import { actor, debugEnabled, openVmActionRecord, performRecorded, statusBefore, userAction, type VmActionRecord } from '../../vm-action-record.js';
import { openRunAppender } from '../../../reporters/sqlite-recorder.js';

const USAGE = `usage: harness vm <list|status|ssh|stop|clean> ...
  harness vm list [--json]                 every VM in vms/ with its status
  harness vm status NAME [--json]          status by the pidfile rule, ports, accel, provider
  harness vm ssh NAME [-- CMD ...]         log in (host key pinned), or run CMD and exit with its code
  harness vm stop NAME                     stop the VM (keeps its state dir)
  harness vm clean NAME [--preserve-disk]  stop and remove its state (all but the disk with --preserve-disk)
ssh, stop and clean are recorded in the run that created the VM (see harness runs show ID):
  --db FILE      the run database (default HARNESS_DB, else vms/harness.db)
  -v, --verbose  say why nothing was recorded (also HARNESS_DEBUG=1)`;

export const vmCommand: CliCommand = {
  name: 'vm',
  usage: USAGE,
  async run(args, io) {
    const [sub, ...rest] = args;
    const paths = harnessPaths(io.env, io.cwd);
    switch (sub) {
      case 'list':
        return list(rest, io, paths);
      case 'status':
        return status(rest, io, paths);
      case 'ssh':
        return ssh(rest, io, paths);
      case 'stop':
      case 'clean':
        return stopOrClean(sub, rest, io, paths);
      default:
        throw new UsageError(sub ? `unknown subcommand "${sub}"` : 'expected a subcommand');
    }
  },
};

async function vmNames(paths: HarnessPaths): Promise<string[]> {
  const entries = await readdir(paths.vms, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.') && !e.name.endsWith('.lock')).map((e) => e.name).sort();
}

async function describe(paths: HarnessPaths, name: string) {
  const rec = await readVmRecord(paths.vms, name);
  const providerName = rec?.provider ?? 'qemu';
  const provider = getProvider(providerName, { paths, privateKeyPath: rec?.privateKeyPath ?? '' });
  return {
    name,
    provider: providerName,
    status: await provider.status(name, paths.vms),
    sshPort: rec?.sshPort,
    accel: rec?.accel,
    kept: rec?.kept ?? false,
    dir: vmFiles(paths.vms, name).dir,
    createdAt: rec?.createdAt,
  };
}

async function list(args: string[], io: CliIo, paths: HarnessPaths): Promise<number> {
  const { values } = parse(args, { json: { type: 'boolean' } }, false);
  const rows = await Promise.all((await vmNames(paths)).map((n) => describe(paths, n)));
  if (values.json) {
    io.out(JSON.stringify(rows, null, 2) + '\n');
    return 0;
  }
  if (!rows.length) {
    io.out(`no VMs in ${paths.vms}\n`);
    return 0;
  }
  io.out(`${'NAME'.padEnd(20)} ${'PROVIDER'.padEnd(9)} ${'STATUS'.padEnd(11)} ${'SSH'.padEnd(6)} ACCEL\n`);
  for (const r of rows) io.out(`${r.name.padEnd(20)} ${r.provider.padEnd(9)} ${r.status.padEnd(11)} ${String(r.sshPort ?? '-').padEnd(6)} ${r.accel ?? '-'}${r.kept ? '  (kept)' : ''}\n`);
  return 0;
}

function oneName(positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError('expected exactly one VM NAME');
  return positionals[0]!;
}

async function status(args: string[], io: CliIo, paths: HarnessPaths): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } });
  const d = await describe(paths, oneName(positionals));
  if (values.json) io.out(JSON.stringify(d, null, 2) + '\n');
  else io.out(`${d.name}: ${d.status}${d.sshPort ? ` (ssh 127.0.0.1:${d.sshPort})` : ''}${d.accel ? `, ${d.accel}` : ''}, provider ${d.provider}, dir ${d.dir}\n`);
  return 0;
}

async function requireRecord(paths: HarnessPaths, name: string): Promise<VmRecord> {
  const rec = await readVmRecord(paths.vms, name);
  if (!rec) throw new HarnessError(`no VM named ${name} in ${paths.vms} (see harness vm list)`);
  return rec;
}

const RECORD_FLAGS = { db: { type: 'string' }, verbose: { type: 'boolean', short: 'v' } } as const;

/** The run record of the VM's creating run, for a `harness vm SUB` acting on it (a no-op when there is none). */
function openRecord(sub: string, name: string, rec: VmRecord | undefined, io: CliIo, paths: HarnessPaths, flags: { db?: string; verbose?: boolean }) {
  const db = flags.db ? harnessPaths(io.env, io.cwd, { db: flags.db }).db : paths.db;
  const verbose = (flags.verbose ?? false) || debugEnabled(io.env);
  return openVmActionRecord({ dbPath: db, open: openRunAppender }, name, rec, {
    note: (m) => verbose && io.err(`harness vm ${sub}: ${m}\n`),
    warn: (m) => io.err(`harness vm ${sub}: ${m}\n`),
  });
}

async function ssh(args: string[], io: CliIo, paths: HarnessPaths): Promise<number> {
  const dash = args.indexOf('--');
  const own = dash >= 0 ? args.slice(0, dash) : args;
  const cmd = dash >= 0 ? args.slice(dash + 1) : [];
  const { values, positionals } = parse(own, RECORD_FLAGS);
  const name = oneName(positionals);
  const rec = await requireRecord(paths, name);
  if (!rec.hostPublicKey) throw new HarnessError(`VM ${name} has no pinned host key recorded; refusing to connect blindly`);
  // Recorded before connecting: an interactive session may last hours. The command text is redacted by the writer.
  const record = await openRecord('ssh', name, rec, io, paths, values);
  record.emit(userAction(name, 'vm ssh', { command: cmd.length ? cmd.join(' ') : null, interactive: cmd.length === 0 }));
  await record.close();
  if (cmd.length) {
    const privateKey = await readFile(rec.privateKeyPath, 'utf8');
    const hostPublicKey = rec.hostPublicKey;
    const target = new SshTarget(name, () => connectSsh({ host: '127.0.0.1', port: rec.sshPort, user: rec.user, privateKey, hostPublicKey }));
    try {
      const r = await target.exec(cmd.join(' '), { timeoutMs: 3_600_000 });
      io.out(r.stdout);
      io.err(r.stderr);
      return r.exitCode ?? 255;
    } finally {
      await target.close();
    }
  }
  // Interactive: the system ssh client, with the pinned key as the only known host.
  const knownHosts = `${vmFiles(paths.vms, name).dir}/known_hosts`;
  await writeFile(knownHosts, knownHostsLine('127.0.0.1', rec.sshPort, rec.hostPublicKey) + '\n');
  const r = await execa(
    'ssh',
    ['-i', rec.privateKeyPath, '-p', String(rec.sshPort), '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'IdentitiesOnly=yes', `${rec.user}@127.0.0.1`],
    { stdio: 'inherit', reject: false },
  );
  return r.exitCode ?? 255;
}

async function stopOrClean(sub: 'stop' | 'clean', args: string[], io: CliIo, paths: HarnessPaths): Promise<number> {
  const { values, positionals } = parse(args, { 'preserve-disk': { type: 'boolean' }, ...RECORD_FLAGS });
  if (sub === 'stop' && values['preserve-disk']) throw new UsageError('--preserve-disk goes with clean, not stop');
  const name = oneName(positionals);
  const preserveDisk = values['preserve-disk'] ?? false;
  const rec = await readVmRecord(paths.vms, name);
  const provider = getProvider(rec?.provider ?? 'qemu', { paths, privateKeyPath: rec?.privateKeyPath ?? '' });
  const release = await acquireLock(vmFiles(paths.vms, name).lock, `VM ${name}`);
  let record: VmActionRecord | undefined;
  try {
    record = await openRecord(sub, name, rec, io, paths, values);
    const command = `vm ${sub}`;
    record.emit(userAction(name, command, sub === 'clean' ? { preserveDisk } : {}));
    const from = await statusBefore(record, () => provider.status(name, paths.vms));
    const action = sub === 'stop' ? 'stop' : preserveDisk ? 'clean-preserve-disk' : 'clean';
    await performRecorded(record, name, from, action, `harness ${command}`, `harness ${command} ${actor()}`, () =>
      sub === 'stop' ? provider.stop(name, paths.vms) : provider.clean(name, paths.vms, { preserveDisk }),
    );
  } finally {
    await record?.close();
    await release();
  }
  io.out(`${sub === 'stop' ? 'stopped' : preserveDisk ? 'cleaned (disk kept)' : 'cleaned'} ${name}\n`);
  return 0;
}
