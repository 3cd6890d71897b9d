// `harness run FILE` (YAML, or a module exporting defineScenario(...)): load, validate, boot, run steps, tear down by
// policy. Exit 0/1/2/3 (and 130/143 on signals).
import { randomUUID } from 'node:crypto';
import type { CliCommand } from '../command.js';
import { UsageError } from '../command.js';
import { parse, durationFlag } from '../args.js';
import { EventBus, type TeardownPolicy } from '../../events.js';
import { harnessPaths } from '../../paths.js';
import { loadScenarioPath } from '../../scenario/load-module.js';
import { makePlan } from '../../plan.js';
import { runPlan } from '../../run.js';
import { attachReporters } from '../reporting.js';
import { wholeNumber } from '../../../reporters/log-lines.js';
import { forceCleanup } from '../../force-cleanup.js';

export const runCommand: CliCommand = {
  name: 'run',
  usage: `usage: harness run FILE [options]
  FILE is a YAML scenario, or a .ts/.mts/.js/.mjs module whose default export is defineScenario({...})
  --keep                 leave the VMs running afterwards (prints how to ssh in)
  --keep-on-failure      keep the VMs only if a step fails
  --preserve-disk        remove everything but each VM's disk
  --accel auto|kvm|tcg   override every VM's acceleration
  --reporter LIST        e.g. terminal,junit:out.xml,html:report.html,json:run.json
  --json                 print the run report as JSON on stdout (terminal output goes to stderr)
  --db FILE              record into this SQLite file (default vms/harness.db, or $HARNESS_DB)
  --log-lines N          command/console lines kept per VM in the record (default 500, or $HARNESS_LOG_LINES,
                         or logLines: in harness.config.yaml)
  --wait-lock DURATION   wait this long for a VM lock another run holds (default: refuse at once)
  --name-prefix P        prefix VM names (run the same scenario twice side by side)
exit codes: 0 all steps passed, 1 a step failed, 2 invalid input, 3 infrastructure failure, 130/143 interrupted`,
  async run(args, io) {
    const { values, positionals } = parse(args, {
      keep: { type: 'boolean' },
      'keep-on-failure': { type: 'boolean' },
      'preserve-disk': { type: 'boolean' },
      accel: { type: 'string' },
      reporter: { type: 'string' },
      json: { type: 'boolean' },
      db: { type: 'string' },
      'log-lines': { type: 'string' },
      'wait-lock': { type: 'string' },
      'name-prefix': { type: 'string' },
    });
    if (positionals.length !== 1) throw new UsageError('expected exactly one scenario FILE');
    const flags = [values.keep && 'keep', values['keep-on-failure'] && 'keep-on-failure', values['preserve-disk'] && 'preserve-disk'].filter(Boolean) as TeardownPolicy[];
    if (flags.length > 1) throw new UsageError(`--${flags.join(' and --')} contradict each other: pick one`);
    if (values.accel && !['auto', 'kvm', 'tcg'].includes(values.accel)) throw new UsageError(`--accel: expected auto, kvm or tcg, got "${values.accel}"`);
    const lockWaitMs = durationFlag('wait-lock', values['wait-lock']);
    const logLines = logLinesFlag(values['log-lines']);

    // Validation first: invalid input exits 2 before anything is created on disk.
    const loaded = await loadScenarioPath(positionals[0]!);
    const paths = harnessPaths(io.env, io.cwd, { db: values.db });
    const plan = makePlan(loaded, {
      teardown: flags[0],
      accel: values.accel as 'auto' | 'kvm' | 'tcg' | undefined,
      lockWaitMs,
      namePrefix: values['name-prefix'],
    });

    const bus = new EventBus(randomUUID());
    const reporting = await attachReporters(bus, { spec: values.reporter, json: values.json ?? false, io, paths, plan, logLines });

    const started = Date.now();
    const ac = new AbortController();
    let signals = 0;
    /** Set by the second signal: its cleanup, which ends in process.exit. */
    let forcing: Promise<void> | undefined;
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals === 1) {
        io.err(`\nharness: ${sig}: tearing down by policy (${plan.teardown}); press Ctrl-C again to force immediate cleanup\n`);
        ac.abort(new Error(sig));
      } else if (signals === 2) {
        io.err(`\nharness: ${sig} again: killing the machines now\n`);
        const code = sig === 'SIGTERM' ? 143 : 130;
        // Bounded per machine (a slow libvirtd or dockerd cannot hold the exit); later signals are ignored.
        forcing = forceCleanup(plan, paths, { log: (m) => io.err(`harness: ${m}\n`) })
          .then((forced) => {
            // What the force path itself killed, per machine: the record shows which teardown ended each one.
            for (const m of forced) bus.emit({ type: 'teardown.forced', vm: m.name, policy: plan.teardown, signal: sig, killedPids: m.killedPids, killedContainers: m.killedContainers });
          })
          .finally(() => {
            // process.exit skips the graceful path's run.finished: record the run as aborted here (the recorder
            // writes run.finished synchronously, with what is buffered), or it would stay `running` until the next
            // command reaps it.
            bus.emit({ type: 'run.finished', status: 'aborted', exitCode: code, durationMs: Date.now() - started, error: `${sig} twice: machines killed without graceful teardown` });
            process.exit(code);
          });
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const outcome = await runPlan(plan, { bus, paths, signal: ac.signal, options: { reporter: values.reporter, accel: values.accel } });
      // After a second signal the force path owns the exit: a graceful teardown that ended first (the force path
      // killed what it was waiting on) must not exit before that path has finished and recorded what it killed.
      if (forcing) await forcing;
      await reporting.close(outcome);
      return outcome.exitCode;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};

function logLinesFlag(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = wholeNumber(v);
  if (n === undefined) throw new UsageError(`--log-lines: expected a positive whole number of lines, got "${v}"`);
  return n;
}
