// Where an image config sits in its scenario, so an image builder's errors name the scenario file, the line (when
// the source has positions) and the full field path (`vms.web.image.base`), not "(image config)". Builders report
// fields relative to the image config (`image.base`); relocateImageIssues places them in the scenario.
import { ScenarioError, type ScenarioIssue } from '../harness/errors.js';
import { formatPath, type IssuePath } from '../harness/scenario/issue.js';

export interface ImageSource {
  /** The scenario file. */
  file: string;
  /** The image config's field path in it, e.g. ['vms', 'web', 'image']. */
  path: IssuePath;
  /** line:col of a field path in the file, when the source kept positions (YAML); undefined otherwise. */
  locate?: (path: IssuePath) => { line?: number; col?: number } | undefined;
}

/** What builders name when nobody said where the config came from. */
export const UNKNOWN_SOURCE = '(image config)';

/** The file builders should put in their issues. */
export function sourceFileOf(opts: { source?: ImageSource; sourceFile?: string }): string {
  return opts.source?.file ?? opts.sourceFile ?? UNKNOWN_SOURCE;
}

/**
 * `file:line:col: vms.web.image.sha256` for a field below the image config (for errors that are not
 * ScenarioErrors); undefined when nobody said where the config came from (e.g. `harness iso build` flags).
 */
export function imageFieldLabel(opts: { source?: ImageSource; sourceFile?: string }, field: IssuePath): string | undefined {
  if (!opts.source && !opts.sourceFile) return undefined;
  const full = [...(opts.source?.path ?? ['image']), ...field];
  const pos = opts.source?.locate?.(full);
  const where = [sourceFileOf(opts), pos?.line, pos?.line !== undefined ? pos.col : undefined].filter((x) => x !== undefined).join(':');
  return `${where}: ${formatPath(full)}`;
}

/**
 * Rewrites a builder's ScenarioError so issues about the image config (`image...`, from the scenario file or
 * the placeholder) carry the scenario file, the full field path and its position. Other errors pass unchanged.
 */
export function relocateImageIssues(e: unknown, source: ImageSource | undefined): unknown {
  if (!source || !(e instanceof ScenarioError)) return e;
  let changed = false;
  const issues = e.issues.map((i): ScenarioIssue => {
    const m = /^image(?=$|[.[])(.*)$/.exec(i.path);
    if (!m || (i.file !== UNKNOWN_SOURCE && i.file !== source.file)) return i;
    const full = [...source.path, ...parseTail(m[1]!)];
    const pos = i.line === undefined ? source.locate?.(full) : { line: i.line, col: i.col };
    changed = true;
    return { ...i, file: source.file, ...(pos?.line !== undefined ? { line: pos.line } : {}), ...(pos?.col !== undefined ? { col: pos.col } : {}), path: formatPath(full) };
  });
  return changed ? new ScenarioError(issues, { cause: e }) : e;
}

/** Runs `fn`, relocating its ScenarioErrors (see relocateImageIssues). */
export async function withImageSource<T>(source: ImageSource | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw relocateImageIssues(e, source);
  }
}

/** `.modules[0]` -> ['modules', 0]; `["my vm"]` -> ['my vm']. */
function parseTail(tail: string): (string | number)[] {
  const out: (string | number)[] = [];
  const re = /\.([^.[\]]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g;
  for (let m = re.exec(tail); m; m = re.exec(tail)) out.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : (JSON.parse(m[3]!) as string)));
  return out;
}
