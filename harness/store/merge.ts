// `harness runs merge`: CI shards each record into their own database; this folds them into one. Run ids are
// globally unique strings and are kept; every other row gets a fresh integer id in the output, so ids never clash.
// A run id already present in the output (the same shard merged twice) is skipped, not duplicated.
import { existsSync } from 'node:fs';
import { HarnessError } from '../errors.js';
import { openDatabase, type Db } from './db.js';
import { currentVersion } from './migrate.js';

/** Tables whose rows belong to a run through run_id, copied in this order. */
const RUN_TABLES = ['vms', 'vm_events', 'steps', 'command_logs', 'artifacts', 'tasks', 'state_snapshots', 'containers', 'run_logs'] as const;

export interface MergeResult {
  inputs: Array<{ path: string; runs: number; skipped: string[] }>;
  out: string;
}

export async function mergeDatabases(inputs: readonly string[], out: string): Promise<MergeResult> {
  const db = await openDatabase(out);
  try {
    const result: MergeResult = { inputs: [], out };
    for (const path of inputs) result.inputs.push(mergeOne(db, path));
    return result;
  } finally {
    db.close();
  }
}

function mergeOne(db: Db, path: string): MergeResult['inputs'][number] {
  if (!existsSync(path)) throw new HarnessError(`expected a run database at ${path}, found no such file`);
  db.prepare('ATTACH DATABASE ? AS src').run(path);
  try {
    const srcVersion = (db.prepare('SELECT max(version) FROM src.schema_version').pluck().get() as number | null) ?? 0;
    const ours = currentVersion(db);
    if (srcVersion !== ours) {
      throw new HarnessError(`expected ${path} at schema version ${ours}, found ${srcVersion}; run \`harness db migrate --db ${path}\` first`);
    }
    const cols = (t: string) =>
      (db.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(t) as string[]).filter((c) => c !== 'id').join(', ');
    const ids = db.prepare('SELECT id FROM src.runs ORDER BY started_at, rowid').pluck().all() as string[];
    const exists = db.prepare('SELECT 1 FROM main.runs WHERE id = ?').pluck();
    const skipped: string[] = [];
    let copied = 0;
    db.transaction(() => {
      db.exec('CREATE TEMP TABLE IF NOT EXISTS merge_runs (id TEXT PRIMARY KEY); DELETE FROM temp.merge_runs');
      const add = db.prepare('INSERT INTO temp.merge_runs (id) VALUES (?)');
      for (const id of ids) {
        if (exists.get(id)) skipped.push(id);
        else add.run(id);
      }
      copied = ids.length - skipped.length;
      const runCols = cols('runs');
      db.exec(`INSERT INTO main.runs (id, ${runCols}) SELECT id, ${runCols} FROM src.runs WHERE id IN (SELECT id FROM temp.merge_runs) ORDER BY rowid`);
      for (const t of RUN_TABLES) {
        const c = cols(t);
        db.exec(`INSERT INTO main.${t} (${c}) SELECT ${c} FROM src.${t} WHERE run_id IN (SELECT id FROM temp.merge_runs) ORDER BY id`);
      }
      copyClusters(db);
    }).immediate();
    return { path, runs: copied, skipped };
  } finally {
    db.exec('DROP TABLE IF EXISTS temp.merge_runs');
    db.prepare('DETACH DATABASE src').run();
  }
}

/** Clusters own nodes and pods by integer id, so they are copied one by one with the id mapped. */
function copyClusters(db: Db): void {
  const clusters = db.prepare(`SELECT * FROM src.clusters WHERE run_id IN (SELECT id FROM temp.merge_runs) ORDER BY id`).all() as Array<Record<string, unknown> & { id: number }>;
  const insCluster = db.prepare(`INSERT INTO main.clusters (run_id, name, distribution, vm, api_endpoint, kubeconfig_path, status, created_at, updated_at)
    VALUES (@run_id, @name, @distribution, @vm, @api_endpoint, @kubeconfig_path, @status, @created_at, @updated_at)`);
  for (const { id, ...row } of clusters) {
    const newId = insCluster.run(row).lastInsertRowid;
    db.prepare(`INSERT INTO main.cluster_nodes (cluster_id, name, roles, status, version, updated_at)
      SELECT ?, name, roles, status, version, updated_at FROM src.cluster_nodes WHERE cluster_id = ? ORDER BY id`).run(newId, id);
    db.prepare(`INSERT INTO main.pods (cluster_id, namespace, name, phase, node, restarts, updated_at)
      SELECT ?, namespace, name, phase, node, restarts, updated_at FROM src.pods WHERE cluster_id = ? ORDER BY id`).run(newId, id);
  }
}
