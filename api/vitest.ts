// The vitest fixture: `import { useScenario } from 'vm-harness/vitest'` boots a scenario once per suite and hands
// tests its running machines. Add 'vm-harness/vitest-reporter' to `reporters` to record the test files too, and
// 'vm-harness/vitest-setup' to `globalSetup` to build the default image once before any suite boots.
export { useScenario, type ScenarioHandle, type ScenarioFixtureOptions, type ScenarioSource } from '../fixtures/scenario.js';
export { defineScenario, type DefinedScenario } from '../harness/scenario/define.js';
export type { RunningVm } from '../harness/machine.js';
