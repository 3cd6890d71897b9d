// The scenario's extra NixOS modules, as files placed inside the build folder. Each entry is either a path
// to a module file (copied in, so a flake in pure evaluation can read it) or an inline Nix module (written verbatim).
import { readFile, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { ScenarioError } from '../../harness/errors.js';

export interface ModuleFile {
  /** Path inside the build folder, e.g. `modules/01-web.nix` (what the generated config imports). */
  relPath: string;
  content: string;
}

/** A path looks like one (./x, ../x, /x, ~/x, or ends in .nix with no Nix syntax); anything else is inline Nix. */
export function isModulePath(entry: string): boolean {
  const s = entry.trim();
  if (/[\s{};=]/.test(s)) return false;
  return /^(\.{1,2}\/|\/|~\/)/.test(s) || s.endsWith('.nix');
}

/** Resolves each entry to a file's text; relative paths are taken from `baseDir` (the scenario file's folder). */
export async function resolveModules(entries: readonly string[], baseDir: string, file = '(image config)'): Promise<ModuleFile[]> {
  const out: ModuleFile[] = [];
  for (const [i, entry] of entries.entries()) {
    const n = String(i).padStart(2, '0');
    if (!isModulePath(entry)) {
      out.push({ relPath: `modules/${n}-inline.nix`, content: entry.endsWith('\n') ? entry : `${entry}\n` });
      continue;
    }
    const s = entry.trim();
    const p = s.startsWith('~/') ? join(process.env.HOME ?? '/', s.slice(2)) : isAbsolute(s) ? s : resolve(baseDir, s);
    const st = await stat(p).catch(() => undefined);
    if (!st?.isFile()) {
      throw new ScenarioError([
        { file, path: `image.modules[${i}]`, expected: 'a NixOS module file that exists (a folder: name its default.nix)', found: st ? `${p} (a folder)` : `${p} (missing)` },
      ]);
    }
    const name = basename(p).replace(/\.nix$/, '').replace(/[^A-Za-z0-9._-]/g, '_');
    out.push({ relPath: `modules/${n}-${name}.nix`, content: await readFile(p, 'utf8') });
  }
  return out;
}
