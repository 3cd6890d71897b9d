// The scenario schema (zod). YAML files and `defineScenario` objects validate against the same schema;
// unknown fields are errors everywhere (strict objects). Values are normalised here: sizes to bytes,
// durations to milliseconds, matchers to {substring|regex}.
// Messages given to zod here are phrased as what was EXPECTED (the loader prints "expected <message>, found <value>").
// Rules that need more than one field or the host (step targets, port clashes, host RAM, files) live in rules.ts;
// validate a scenario through load.ts / define.ts (validate.ts), not with scenarioSchema alone.
// Unions of maps are told apart by a key (run | assert | ...) or a literal (builder: tiny | ...): zod-issues.ts relies on it.
import { z } from 'zod';
import { parseDurationMs, parseSizeBytes, QEMU_SIZE_RE, DURATION_RE } from './units.js';
import { validatePublicKey } from './ssh-key-format.js';

const MiB = 1024 * 1024;

export const MAX_DURATION_MS = 24 * 3600 * 1000;
/** Largest size accepted anywhere (8 PiB, the largest integer a JS number holds exactly). */
export const MAX_SIZE_BYTES = Number.MAX_SAFE_INTEGER;
export const DEFAULT_MEMORY_BYTES = 512 * MiB;

export const durationSchema = z
  .union([
    z.number().positive('a positive duration (a plain number means seconds)'),
    z.string().regex(DURATION_RE, 'a duration such as 30s, 500ms, 2m or 1h'),
  ])
  .describe('a duration such as 30s, 500ms, 2m or 1h (a plain number means seconds)')
  .transform((v) => (typeof v === 'number' ? Math.round(v * 1000) : parseDurationMs(v)))
  .pipe(z.number().int().positive('a duration of at least 1ms').max(MAX_DURATION_MS, 'a duration of at most 24h'));

export const sizeSchema = z
  .union([
    z.number().int('a whole number of bytes').positive('a size above zero'),
    z.string().regex(QEMU_SIZE_RE, 'a size in QEMU format such as 512M, 2G or 1048576K'),
  ])
  .describe('a size in QEMU format such as 512M, 2G or 1048576K (a plain number means bytes)')
  .transform((v) => (typeof v === 'number' ? v : parseSizeBytes(v)))
  .pipe(z.number().positive('a size above zero').max(MAX_SIZE_BYTES, 'a size of at most 8P'));

/** A forwarded host port: unprivileged only. */
export const hostPortSchema = z.number().int().min(1024, 'a port from 1024 to 65535').max(65535, 'a port from 1024 to 65535');
/** A port inside the guest (22 is fine there). */
export const guestPortSchema = z.number().int().min(1, 'a port from 1 to 65535').max(65535, 'a port from 1 to 65535');

export const publicKeySchema = z.string().superRefine((v, ctx) => {
  const problem = validatePublicKey(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** `stdout: Linux` is a substring; `stdout: /^Linux \d/i` is a regular expression. */
export const matcherSchema = z.string().transform((v, ctx) => {
  // g and y are refused: they make RegExp.test stateful between retries.
  const m = /^\/(.*)\/([a-z]*)$/s.exec(v);
  if (!m) return { kind: 'substring' as const, text: v };
  if (!/^[dimsu]*$/.test(m[2]!)) {
    ctx.addIssue({ code: 'custom', message: `regular expression flags from d, i, m, s, u (found "${m[2]}")` });
    return z.NEVER;
  }
  try {
    return { kind: 'regex' as const, regex: new RegExp(m[1]!, m[2]) };
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: `a valid regular expression (${(e as Error).message})` });
    return z.NEVER;
  }
});
export type Matcher = z.output<typeof matcherSchema>;

const tinyImage = z.strictObject({
  builder: z.literal('tiny'),
  /**
   * kernel: qemu loads the image's kernel and initramfs itself (no firmware or GRUB step: about 2 s less per boot
   * under TCG); the ISO stays attached as a CD. iso: boot the ISO through BIOS and GRUB, as a real machine would.
   * Default: kernel.
   */
  boot: z.enum(['kernel', 'iso']).optional(),
});
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
  cpus: z.number().int('a whole number of CPUs').min(1, 'from 1 to 64 CPUs').max(64, 'from 1 to 64 CPUs').default(1),
  memory: sizeSchema.default(DEFAULT_MEMORY_BYTES),
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

/** How the harness knows a container is ready; omitted = every published port listens. */
export const containerWaitSchema = z.union([
  z.strictObject({ port: guestPortSchema }),
  z.strictObject({ log: matcherSchema, times: z.number().int().min(1).default(1) }),
  z.strictObject({
    http: z.strictObject({ port: guestPortSchema, path: z.string().startsWith('/').default('/'), status: z.number().int().min(100).max(599).default(200) }),
  }),
  z.strictObject({ exec: z.string().min(1) }),
]);

/** A container run through testcontainers; ports are published on 127.0.0.1 only, at an allocated host port. */
export const containerSchema = z
  .strictObject({
    /** An image already in the local engine (no registry is reached); `harness/busybox` is built on demand. */
    image: z.string().min(1).optional(),
    /** Or build one: context directory (relative to the scenario file) with a Dockerfile FROM harness/busybox. */
    build: z.strictObject({ context: z.string().min(1), dockerfile: z.string().min(1).optional() }).optional(),
    /** Container ports to publish. */
    ports: z.array(guestPortSchema).default([]),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'), z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({}),
    command: z.array(z.string()).min(1).optional(),
    wait: containerWaitSchema.optional(),
    startupTimeout: durationSchema.default(60_000),
  })
  .superRefine((c, ctx) => {
    if ((c.image === undefined) === (c.build === undefined)) {
      ctx.addIssue({ code: 'custom', path: [], message: 'exactly one of `image` or `build`' });
    }
    if (c.wait && 'http' in c.wait && !c.ports.includes(c.wait.http.port)) {
      ctx.addIssue({ code: 'custom', path: ['wait', 'http', 'port'], message: `one of the published ports (${c.ports.join(', ') || 'none'})` });
    }
  });

const runStep = z.strictObject({
  run: z.string().min(1),
  expect: z
    .strictObject({
      exitCode: z.number().int().min(0).max(255).default(0),
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

// Cross-field rules (step targets, duplicate step names, host ports, host RAM, input files) are in rules.ts.
export const scenarioSchema = z.strictObject({
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
  containers: z.record(nameSchema, containerSchema).default({}),
  steps: z.array(stepSchema).default([]),
  teardown: teardownSchema.default('destroy'),
});

export type ScenarioInput = z.input<typeof scenarioSchema>;
export type Scenario = z.output<typeof scenarioSchema>;
export type VmConfig = z.output<typeof vmSchema>;
export type ContainerConfig = z.output<typeof containerSchema>;
export type ContainerInput = z.input<typeof containerSchema>;
export type ContainerWait = z.output<typeof containerWaitSchema>;
export type Step = z.output<typeof stepSchema>;
export type ImageConfig = z.output<typeof imageSchema>;
export type Assertion = z.output<typeof assertion>;
