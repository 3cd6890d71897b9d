// The first schema: one row per run, and every table a run's events map to (see harness/store/write-events.ts).
// Child rows hang off runs(id) with ON DELETE CASCADE, so pruning a run removes its whole record.
import type { Migration } from './migration.js';

export const migration001: Migration = {
  version: 1,
  name: 'initial',
  up: `
CREATE TABLE runs (
  id          TEXT PRIMARY KEY,
  scenario    TEXT NOT NULL DEFAULT '',
  file        TEXT NOT NULL DEFAULT '',
  status      TEXT NOT NULL CHECK (status IN ('running','passed','failed','aborted','invalid','error')),
  started_at  INTEGER NOT NULL,
  finished_at INTEGER,
  duration_ms INTEGER,
  exit_code   INTEGER,
  error       TEXT,
  host        TEXT NOT NULL DEFAULT '',
  pid         INTEGER,
  accel       TEXT,
  options     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX runs_scenario_started ON runs(scenario, started_at);
CREATE INDEX runs_status ON runs(status);

CREATE TABLE vms (
  id              INTEGER PRIMARY KEY,
  run_id          TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name            TEXT NOT NULL,
  provider        TEXT,
  arch            TEXT,
  cpus            INTEGER,
  memory_mib      INTEGER,
  disk            TEXT,
  ssh_port        INTEGER,
  dir             TEXT,
  accel           TEXT,
  accel_reason    TEXT,
  status          TEXT,
  created_at      INTEGER,
  last_started_at INTEGER,
  last_stopped_at INTEGER,
  UNIQUE (run_id, name)
);

CREATE TABLE vm_events (
  id       INTEGER PRIMARY KEY,
  run_id   TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  vm       TEXT NOT NULL,
  type     TEXT NOT NULL CHECK (type IN ('StatusChanged','ConfigurationUpdated','ErrorOccurred','UserAction','SystemEvent')),
  severity TEXT NOT NULL CHECK (severity IN ('Info','Warning','Error','Critical')),
  message  TEXT NOT NULL,
  details  TEXT,
  at       INTEGER NOT NULL
);
CREATE INDEX vm_events_run ON vm_events(run_id, id);

CREATE TABLE steps (
  id          INTEGER PRIMARY KEY,
  run_id      TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  idx         INTEGER NOT NULL,
  name        TEXT NOT NULL,
  target      TEXT NOT NULL,
  status      TEXT NOT NULL CHECK (status IN ('passed','failed','skipped')),
  duration_ms INTEGER NOT NULL,
  error       TEXT,
  command     TEXT,
  exit_code   INTEGER,
  stdout_tail TEXT,
  stderr_tail TEXT,
  finished_at INTEGER NOT NULL
);
CREATE INDEX steps_run ON steps(run_id, id);
CREATE INDEX steps_name ON steps(name);

CREATE TABLE command_logs (
  id     INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  vm     TEXT NOT NULL,
  stream TEXT NOT NULL,
  line   TEXT NOT NULL,
  at     INTEGER NOT NULL
);
CREATE INDEX command_logs_vm ON command_logs(run_id, vm, id);

CREATE TABLE artifacts (
  id     INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  vm     TEXT,
  kind   TEXT NOT NULL,
  path   TEXT NOT NULL,
  at     INTEGER NOT NULL
);
CREATE INDEX artifacts_run ON artifacts(run_id, id);

CREATE TABLE tasks (
  id          INTEGER PRIMARY KEY,
  run_id      TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  vm          TEXT,
  provider    TEXT NOT NULL,
  task_id     TEXT NOT NULL,
  operation   TEXT NOT NULL,
  status      TEXT NOT NULL CHECK (status IN ('running','stopped')),
  exit_status TEXT,
  started_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  UNIQUE (run_id, provider, task_id)
);

CREATE TABLE state_snapshots (
  id            INTEGER PRIMARY KEY,
  run_id        TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  resource_type TEXT NOT NULL,
  resource_id   TEXT NOT NULL,
  data          TEXT NOT NULL,
  change_type   TEXT NOT NULL CHECK (change_type IN ('created','updated','deleted')),
  at            INTEGER NOT NULL
);
CREATE INDEX state_snapshots_resource ON state_snapshots(resource_type, resource_id, at);

CREATE TABLE clusters (
  id              INTEGER PRIMARY KEY,
  run_id          TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name            TEXT NOT NULL,
  distribution    TEXT,
  vm              TEXT,
  api_endpoint    TEXT,
  kubeconfig_path TEXT,
  status          TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  UNIQUE (run_id, name)
);

CREATE TABLE cluster_nodes (
  id         INTEGER PRIMARY KEY,
  cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
  name       TEXT NOT NULL,
  roles      TEXT,
  status     TEXT,
  version    TEXT,
  updated_at INTEGER NOT NULL,
  UNIQUE (cluster_id, name)
);

CREATE TABLE pods (
  id         INTEGER PRIMARY KEY,
  cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
  namespace  TEXT NOT NULL,
  name       TEXT NOT NULL,
  phase      TEXT,
  node       TEXT,
  restarts   INTEGER,
  updated_at INTEGER NOT NULL,
  UNIQUE (cluster_id, namespace, name)
);

CREATE TABLE containers (
  id           INTEGER PRIMARY KEY,
  run_id       TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  container_id TEXT,
  name         TEXT NOT NULL,
  image        TEXT NOT NULL,
  status       TEXT NOT NULL,
  ports        TEXT NOT NULL DEFAULT '[]',
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  UNIQUE (run_id, name)
);

CREATE TABLE run_logs (
  id      INTEGER PRIMARY KEY,
  run_id  TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  level   TEXT NOT NULL CHECK (level IN ('info','warn','error')),
  message TEXT NOT NULL,
  at      INTEGER NOT NULL
);
CREATE INDEX run_logs_run ON run_logs(run_id, id);
`,
  down: `
DROP TABLE run_logs;
DROP TABLE containers;
DROP TABLE pods;
DROP TABLE cluster_nodes;
DROP TABLE clusters;
DROP TABLE state_snapshots;
DROP TABLE tasks;
DROP TABLE artifacts;
DROP TABLE command_logs;
DROP TABLE steps;
DROP TABLE vm_events;
DROP TABLE vms;
DROP TABLE runs;
`,
};
