// Reads an ISO9660 image back (volume id and every file), with xorriso's own reader (osirrox). Used to check
// built seeds and images: what a guest will see, not what we meant to write.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { runTool } from '../tools.js';

export interface IsoContents {
  volumeId: string;
  /** Path inside the ISO (no leading slash) -> content. */
  files: Map<string, Buffer>;
}

export async function readIso(iso: string, signal?: AbortSignal): Promise<IsoContents> {
  const info = await runTool('iso reader', 'xorriso', ['-indev', iso, '-pvd_info'], { signal });
  const volumeId = /^Volume Id\s*:\s*(.*)$/m.exec(info.stdout + '\n' + info.stderr)?.[1]?.trim() ?? '';
  const dest = await mkdtemp(join(tmpdir(), 'harness-readiso-'));
  try {
    await runTool('iso reader', 'xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/', dest], { signal });
    const files = new Map<string, Buffer>();
    for (const p of await walk(dest)) files.set(relative(dest, p), await readFile(p));
    return { volumeId, files };
  } finally {
    await rm(dest, { recursive: true, force: true });
  }
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}
