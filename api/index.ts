// The library: `import { defineScenario, RunningVm, ScenarioError } from 'vm-harness'`. What a project that adds the
// harness uses outside vitest: scenarios in TypeScript (`export default defineScenario({...})` for `harness run`),
// the handle of a booted machine, the typed errors (each with its CLI exit code) and the scenario types.
// The vitest parts are 'vm-harness/vitest' (useScenario), 'vm-harness/vitest-reporter' and 'vm-harness/vitest-setup'.
export { defineScenario, isDefinedScenario, type DefinedScenario, type DefineOptions } from '../harness/scenario/define.js';
export { loadScenarioFile, type LoadedScenario } from '../harness/scenario/load.js';
export { loadScenarioModule, loadScenarioPath } from '../harness/scenario/load-module.js';
export { RunningVm, DEFAULT_WAIT_MS, type MachineInfo, type WaitOptions } from '../harness/machine.js';
export type { ExecOptions, ExecResult, CopyOptions } from '../harness/targets/target.js';
export {
  HarnessError,
  ScenarioError,
  ProviderUnavailable,
  BootTimeout,
  VmExited,
  AssertionFailed,
  LockBusy,
  CommandTimeout,
  HostKeyMismatch,
  SshConnectFailed,
  SshConnectionLost,
  formatIssue,
  type ScenarioIssue,
  type SourceLocation,
} from '../harness/errors.js';
export type { Scenario, ScenarioInput, VmConfig, ContainerConfig, ContainerInput, Step, ImageConfig, Matcher, Assertion } from '../harness/scenario/schema.js';
export type { TeardownPolicy, HarnessEvent, RunStatus, StepStatus, VmStatus } from '../harness/events.js';
export { harnessPaths, projectRoot, type HarnessPaths } from '../harness/paths.js';
