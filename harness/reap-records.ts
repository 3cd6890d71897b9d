// Crash recovery for the run record: runs whose harness process died are marked `aborted`.
import { access } from 'node:fs/promises';
import { registerReaper } from './reap.js';
import { openDatabase } from './store/db.js';
import { markAbandonedRunsAborted } from './store/abandoned.js';

registerReaper(async (paths, log) => {
  // Only an existing record is touched: a command must not create a database as a side effect.
  if (!(await access(paths.db).then(() => true, () => false))) return;
  const db = await openDatabase(paths.db);
  try {
    const ids = markAbandonedRunsAborted(db);
    if (ids.length) log(`marked ${ids.length} interrupted run(s) aborted: ${ids.join(', ')}`);
  } finally {
    db.close();
  }
});
