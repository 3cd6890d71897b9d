// Secrets fed in through events must not be anywhere in the record: not in any column of any table, not in the
// raw database or WAL file, not in the JSON report.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { JsonReporter } from '../../reporters/json.js';
import { SqliteRecorder } from '../../reporters/sqlite-recorder.js';
import { EventBus } from '../events.js';
import { clearRegisteredSecrets, registerSecret } from '../redact.js';
import { generateEd25519KeyPair } from '../ssh/keygen.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'harness-secrets-'));
});
afterEach(() => {
  clearRegisteredSecrets();
  rmSync(dir, { recursive: true, force: true });
});

it('stores no secret in any column, file or report', async () => {
  const privateKey = generateEd25519KeyPair().private;
  const keyLines = privateKey.split('\n').filter((l) => l && !l.startsWith('-----'));
  const pveSecret = '5f0c1d2e-7a8b-4c9d-8e1f-a2b3c4d5e6f7';
  const bearer = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2lnbmF0dXJl';
  const password = 'Tr0ub4dor&3-horse';
  const runtime = 'rt-secret-9f8e7d6c';
  registerSecret(runtime);
  const secrets = [...keyLines, pveSecret, bearer, password, runtime];

  const dbPath = join(dir, 'h.db');
  const rec = await SqliteRecorder.open(dbPath, { flushEvery: 3 });
  const json = new JsonReporter(join(dir, 'report.json'));
  const bus = new EventBus('secret-run');
  bus.subscribe(rec);
  bus.subscribe(json);
  bus.emit({ type: 'run.started', scenario: 's', file: 'f.yaml', host: 'h', options: { proxmox: { token: `root@pam!ci=${pveSecret}` }, password, note: `uses ${runtime}` } });
  bus.emit({ type: 'vm.created', vm: 'web', provider: 'proxmox', arch: 'x86_64', cpus: 1, memoryMiB: 256, dir: `/vms/web-${runtime}` });
  bus.emit({ type: 'vm.log', vm: 'web', stream: 'console', line: `Authorization: PVEAPIToken=root@pam!ci=${pveSecret}` });
  bus.emit({ type: 'vm.log', vm: 'web', stream: 'command', line: `curl -H 'Authorization: Bearer ${bearer}' https://127.0.0.1` });
  for (const l of privateKey.split('\n')) bus.emit({ type: 'vm.log', vm: 'web', stream: 'console', line: l }); // a key printed line by line
  bus.emit({ type: 'vm.event', vm: 'web', kind: 'ErrorOccurred', severity: 'Error', message: `login failed with password=${password}`, details: { apiToken: pveSecret, key: privateKey } });
  bus.emit({ type: 'vm.status', vm: 'web', from: 'Starting', to: 'Error', message: `token: ${runtime}` });
  bus.emit({
    type: 'step.finished', index: 0, name: 'key check', on: 'web', status: 'failed', durationMs: 5, command: `echo password=${password}`,
    exitCode: 1, error: `Bearer ${bearer}`, stdoutTail: privateKey, stderrTail: `secret=${runtime}`,
  });
  bus.emit({ type: 'task', vm: 'web', provider: 'proxmox', taskId: 'UPID:pve:1:2:3:qmstart:101:root@pam:', operation: 'qmstart', status: 'stopped', exitStatus: `failed: ${runtime}` });
  bus.emit({ type: 'container.state', name: 'c', image: 'local/x', status: `up ${runtime}`, ports: [] });
  bus.emit({ type: 'artifact', vm: 'web', kind: 'kubeconfig', path: `/tmp/${runtime}/kubeconfig` });
  bus.emit({ type: 'log', level: 'error', message: `PVEAPIToken=root@pam!ci=${pveSecret}` });
  bus.emit({ type: 'run.finished', status: 'failed', exitCode: 1, durationMs: 10, error: `password: ${password}` });

  // While the recorder is still open the newest pages sit in the WAL file: read the raw bytes of both.
  rec.flush();
  const raw = () => ['h.db', 'h.db-wal'].map((f) => join(dir, f)).filter(existsSync).map((f) => readFileSync(f).toString('latin1'));
  expect(raw().length).toBe(2);
  for (const bytes of raw()) for (const s of secrets) expect(bytes).not.toContain(s);

  await bus.close();
  const db = new Database(dbPath, { readonly: true });
  const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[];
  let cells = 0;
  for (const t of tables) {
    for (const row of db.prepare(`SELECT * FROM "${t}"`).all() as Record<string, unknown>[]) {
      for (const v of Object.values(row)) {
        cells++;
        if (typeof v === 'string') for (const s of secrets) expect(v, `${t}`).not.toContain(s);
      }
    }
  }
  expect(cells).toBeGreaterThan(100); // the record is really there: the check above is not vacuous
  expect(db.prepare(`SELECT count(*) FROM command_logs`).pluck().get()).toBeGreaterThan(2);
  db.close();
  for (const bytes of raw()) for (const s of secrets) expect(bytes).not.toContain(s);
  const report = readFileSync(join(dir, 'report.json'), 'utf8');
  expect(report).toContain('[REDACTED');
  for (const s of secrets) expect(report).not.toContain(s);
});
