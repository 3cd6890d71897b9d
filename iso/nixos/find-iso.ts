// Finds the ISO in a nix build output: result/iso/*.iso (nixpkgs' isoImage), or the path nixos-generate printed.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { NixBuildFailed } from './nix-errors.js';

export async function findIso(outPath: string, command: string): Promise<string> {
  const st = await stat(outPath).catch(() => undefined);
  if (st?.isFile() && outPath.endsWith('.iso')) return outPath;
  if (st?.isDirectory()) {
    const isoDir = join(outPath, 'iso');
    const names = (await readdir(isoDir).catch(() => [] as string[])).filter((n) => n.endsWith('.iso')).sort();
    if (names[0]) return join(isoDir, names[0]);
  }
  throw new NixBuildFailed(`expected an ISO at ${outPath} (a .iso file, or iso/*.iso inside it), found ${st ? 'none' : 'nothing at that path'}`, command, 0, []);
}
