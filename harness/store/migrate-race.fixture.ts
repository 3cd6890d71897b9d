// Child process for migrate.test.ts: waits at a barrier (until the `go` file exists), then opens the shared
// database and migrates it, and prints the version it found and the one it left, as JSON.
import { existsSync } from 'node:fs';
import { openDatabase } from './db.js';
import { migrateTo } from './migrate.js';

const [dbPath, goFile] = process.argv.slice(2);
process.stdout.write('ready\n');
while (!existsSync(goFile!)) {
  // spin: every child leaves the barrier within a millisecond of the others
}
const db = await openDatabase(dbPath!, { migrate: false });
try {
  process.stdout.write(JSON.stringify(await migrateTo(db)) + '\n');
} finally {
  db.close();
}
