// The scenario schema (zod). YAML files and `defineScenario` objects validate against the same schema;
// unknown fields are errors everywhere (strict objects). Values are normalised here: sizes to MiB,
// durations to milliseconds, matchers to {substring|regex}.
import { z } from 'zod';
import { parseDurationMs, parseSizeBytes, QEMU_SIZE_RE, DURATION_RE } from './units.js';
import { validatePublicKey } from './ssh-key-format.js';

const MiB = 1024 * 1024;

export const durationSchema = z
  .union([z.number().nonnegative(), z.string().regex(DURATION_RE, 'a duration such as 30s, 500ms, 2m or 1h')])
  .transform((v) => (typeof v === 'number' ? Math.round(v * 1000) : parseDurationMs(v)))
  .pipe(z.number().int().positive('a positive duration').max(24 * 3600 * 1000, 'at most 24h'));

export const sizeSchema = z
  .union([z.number().int().positive(), z.string().regex(QEMU_SIZE_RE, 'a size in QEMU format such as 512M, 2G or 1048576K')])
  .transform((v) => (typeof v === 'number' ? v : parseSizeBytes(v)));

/** A forwarded host port: unprivileged only. */
export const hostPortSchema = z.number().int().min(1024, 'a port from 1024 to 65535').max(65535, 'a port from 1024 to 65535');
/** A port inside the guest (22 is fine there). */
export const guestPortSchema = z.number().int().min(1).max(65535);

export const publicKeySchema = z.string().superRefine((v, ctx) => {
  const problem = validatePublicKey(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** `stdout: Linux` is a substring; `stdout: /^Linux \d/i` is a regular expression. */
export const matcherSchema = z.string().transform((v, ctx) => {
  const m = /^\/(.*)\/([dgimsuy]*)$/s.exec(v);
  if (!m) return { kind: 'substring' as const, text: v };
  try {
    return { kind: 'regex' as const, regex: new RegExp(m[1]!, m[2]) };
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: `a valid regular expression (${(e as Error).message})` });
    return z.NEVER;
  }
});
export type Matcher = z.output<typeof matcherSchema>;

const tinyImage = z.strictObject({ builder: z.literal('tiny') });
const nixosImage = z.strictObject({
  builder: z.literal('nixos'),
  /** Extra NixOS modules: file paths or inline Nix expressions. */
  modules: z.array(z.string()).default([]),
  nixpkgs: z
    .union([z.strictObject({ flake: z.string() }), z.strictObject({ channel: z.string() })])
    .default({ flake: 'github:NixOS/nixpkgs/nixos-24.05' }),
  mode: z.enum(['flake', 'classic']).default('flake'),
});
const cloudInitImage = z.strictObject({
  builder: z.literal('cloud-init'),
  /** Cloud image: a local path or an https URL (then sha256 is required). */
  base: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lowercase hex digits').optional(),
  user: z.string().default('root'),
});
const isoImage = z.strictObject({
  iso: z.string().min(1),
  /** The guest's SSH host public key, to pin it; without it the harness refuses to connect (no blind trust). */
  hostKey: publicKeySchema.optional(),
  user: z.string().default('root'),
});
export const imageSchema = z.union([tinyImage, nixosImage, cloudInitImage, isoImage]);

export const vmSchema = z.strictObject({
  provider: z.enum(['qemu', 'libvirt', 'quickemu', 'lima', 'proxmox']).default('qemu'),
  image: imageSchema.default({ builder: 'tiny' }),
  arch: z.enum(['x86_64']).default('x86_64'),
  cpus: z.number().int().min(1).max(64).default(1),
  memory: sizeSchema.default(512 * MiB),
  disk: sizeSchema.optional(),
  accel: z.enum(['auto', 'kvm', 'tcg']).default('auto'),
  bootTimeout: durationSchema.default(180_000),
  /** Extra forwards from 127.0.0.1:host to the guest port; host omitted = allocated. */
  ports: z.array(z.strictObject({ guest: guestPortSchema, host: hostPortSchema.optional() })).default([]),
  /** A fixed SSH host port; omitted = allocated from the free range. */
  sshPort: hostPortSchema.optional(),
  /** Provider-specific settings, validated by the provider. */
  libvirt: z.strictObject({ uri: z.string().default('qemu:///system') }).optional(),
});

const runStep = z.strictObject({
  run: z.string().min(1),
  expect: z
    .strictObject({
      exitCode: z.number().int().min(0).max(255).optional(),
      stdout: matcherSchema.optional(),
      stderr: matcherSchema.optional(),
    })
    .default({ exitCode: 0 }),
});
const assertion = z.union([
  z.strictObject({ port: guestPortSchema }),
  z.strictObject({ file: z.string().min(1), contains: matcherSchema.optional() }),
  z.strictObject({ process: z.string().min(1) }),
  z.strictObject({ command: z.string().min(1) }),
]);
const assertStep = z.strictObject({
  assert: assertion,
  /** Retry the assertion until it holds, for at most this long. */
  within: durationSchema.optional(),
});
const waitStep = z.strictObject({
  waitUntil: z.strictObject({ command: z.string().min(1), timeout: durationSchema, interval: durationSchema.default(1000) }),
});
const copyToStep = z.strictObject({ copyTo: z.strictObject({ from: z.string().min(1), to: z.string().min(1) }) });
const copyFromStep = z.strictObject({ copyFrom: z.strictObject({ from: z.string().min(1), to: z.string().min(1) }) });

const stepCommon = {
  name: z.string().min(1),
  on: z.string().min(1),
  /** Per-command timeout; the command is killed when it runs out. */
  timeout: durationSchema.default(60_000),
};
export const stepSchema = z.union([
  runStep.extend(stepCommon),
  assertStep.extend(stepCommon),
  waitStep.extend(stepCommon),
  copyToStep.extend(stepCommon),
  copyFromStep.extend(stepCommon),
]);

export const teardownSchema = z.enum(['destroy', 'keep', 'keep-on-failure', 'preserve-disk']);

const nameSchema = z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, 'a name of lowercase letters, digits and dashes (at most 31)');

export const scenarioSchema = z
  .strictObject({
    name: nameSchema,
    description: z.string().optional(),
    ssh: z
      .strictObject({
        /** Private key the harness logs in with; omitted = the per-project key (generated on first use). */
        privateKeyFile: z.string().optional(),
        /** Extra keys to authorise in every image (e.g. your own, to log in by hand). */
        authorizedKeys: z.array(publicKeySchema).default([]),
      })
      .default({ authorizedKeys: [] }),
    vms: z.record(nameSchema, vmSchema).default({}),
    steps: z.array(stepSchema).default([]),
    teardown: teardownSchema.default('destroy'),
  })
  .superRefine((s, ctx) => {
    const targets = new Set(Object.keys(s.vms));
    s.steps.forEach((step, i) => {
      if (!targets.has(step.on)) {
        ctx.addIssue({
          code: 'custom',
          path: ['steps', i, 'on'],
          message: `the name of a machine declared in this scenario (${[...targets].join(', ') || 'none declared'})`,
        });
      }
    });
    const seen = new Map<string, number>();
    s.steps.forEach((step, i) => {
      if (seen.has(step.name)) {
        ctx.addIssue({ code: 'custom', path: ['steps', i, 'name'], message: `a step name not already used by steps[${seen.get(step.name)}]` });
      }
      seen.set(step.name, i);
    });
  });

export type ScenarioInput = z.input<typeof scenarioSchema>;
export type Scenario = z.output<typeof scenarioSchema>;
export type VmConfig = z.output<typeof vmSchema>;
export type Step = z.output<typeof stepSchema>;
export type ImageConfig = z.output<typeof imageSchema>;
export type Assertion = z.output<typeof assertion>;
