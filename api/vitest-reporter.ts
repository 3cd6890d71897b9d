// The vitest reporter (`reporters: ['default', 'vm-harness/vitest-reporter']`): records each test file as a run in
// the project's record (HARNESS_DB, else vms/harness.db), linked to the runs its useScenario suites recorded.
export { default, type VitestRecorderOptions } from '../reporters/vitest-reporter.js';
