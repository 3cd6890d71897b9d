// The one validation pipeline behind loadScenario* (YAML) and defineScenario (TypeScript): schema, rules beyond
// the schema, then relative paths resolved. Anything unexpected on the way still comes out as a ScenarioError.
import { totalmem } from 'node:os';
import { ScenarioError } from '../errors.js';
import { scenarioSchema, type Scenario } from './schema.js';
import { expectedErrorMap, flattenZodIssues } from './zod-issues.js';
import { checkRules, resolveInputPath } from './rules.js';
import { describeValue } from './describe-value.js';
import { toScenarioIssues, type Locator, type RawIssue } from './issue.js';

export interface ValidateOptions {
  /** Host RAM in bytes; defaults to os.totalmem(). Injectable for tests. */
  hostMemoryBytes?: number;
}

export interface ValidateContext extends ValidateOptions {
  file: string;
  dir: string;
  locator: Locator;
  /** Problems already found before validation (YAML syntax); reported together with the schema's. */
  earlier?: RawIssue[];
}

export function validateScenarioData(data: unknown, ctx: ValidateContext): Scenario {
  let raw: RawIssue[] = [...(ctx.earlier ?? [])];
  let scenario: Scenario | undefined;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    const keys = Object.keys(scenarioSchema.shape).join(', ');
    raw.push({ path: [], expected: `a scenario: a map with the keys ${keys}`, found: describeValue(data) });
    throw new ScenarioError(toScenarioIssues(raw, ctx.file, ctx.locator));
  }
  try {
    const result = scenarioSchema.safeParse(data, { error: expectedErrorMap });
    if (result.success) scenario = result.data;
    else raw.push(...flattenZodIssues(result.error.issues, data));
    raw.push(
      ...checkRules(data, {
        dir: ctx.dir,
        hostMemoryBytes: ctx.hostMemoryBytes ?? totalmem(),
        locate: (path) => ctx.locator.locate(path, 'value'),
      }),
    );
  } catch (e) {
    raw = [...raw, { path: [], expected: 'a scenario the validator can read', found: `an input that broke it (${describeError(e)})` }];
  }
  if (raw.length > 0 || !scenario) {
    throw new ScenarioError(toScenarioIssues(raw.length ? raw : [{ path: [], expected: 'a valid scenario', found: 'an invalid one' }], ctx.file, ctx.locator));
  }
  return resolveScenarioPaths(scenario, ctx.dir);
}

/** image.iso, cloud-init base, ssh.privateKeyFile, copyTo.from and copyFrom.to become absolute. */
export function resolveScenarioPaths(s: Scenario, dir: string): Scenario {
  const abs = (p: string) => resolveInputPath(dir, p);
  const isUrl = (p: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(p);
  return {
    ...s,
    ssh: { ...s.ssh, ...(s.ssh.privateKeyFile !== undefined ? { privateKeyFile: abs(s.ssh.privateKeyFile) } : {}) },
    vms: Object.fromEntries(
      Object.entries(s.vms).map(([name, vm]) => {
        const image = vm.image;
        if ('iso' in image) return [name, { ...vm, image: { ...image, iso: abs(image.iso) } }];
        if ('base' in image && !isUrl(image.base)) return [name, { ...vm, image: { ...image, base: abs(image.base) } }];
        return [name, vm];
      }),
    ),
    steps: s.steps.map((step) => {
      if ('copyTo' in step) return { ...step, copyTo: { ...step.copyTo, from: abs(step.copyTo.from) } };
      if ('copyFrom' in step) return { ...step, copyFrom: { ...step.copyFrom, to: abs(step.copyFrom.to) } };
      return step;
    }),
  };
}

export function describeError(e: unknown): string {
  try {
    const name = (e as Error)?.name ?? typeof e;
    const msg = String((e as Error)?.message ?? e).split('\n')[0]!.slice(0, 120);
    return `${name}: ${msg}`;
  } catch {
    return 'an error that cannot be printed';
  }
}
