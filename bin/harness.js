#!/usr/bin/env node
// Entry point for `npx harness`. Installed from the npm package (no sources beside this file) it runs dist/cli.js,
// built at pack time, and writes nothing into its own install dir. In a checkout of the harness, CLI start-up sits
// inside every time-to-SSH, so instead of tsx's loader (~0.9 s per start on Node 20) the TypeScript sources are
// bundled once with esbuild into .harness/build/<stamp>/ and reused until a source file changes (the stamp covers
// every source file's path, size and mtime). HARNESS_NO_BUNDLE=1 runs the sources through tsx instead (slower
// start, same behaviour).
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile, access } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE_DIRS = ['harness', 'iso', 'reporters'];

async function sourceStamp() {
  const hash = createHash('sha256');
  const walk = async (dir) => {
    for (const e of (await readdir(join(root, dir), { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const rel = join(dir, e.name);
      if (e.isDirectory()) await walk(rel);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) {
        const s = await stat(join(root, rel));
        hash.update(`${rel}:${s.size}:${s.mtimeMs}\n`);
      }
    }
  };
  for (const d of SOURCE_DIRS) await walk(d);
  for (const f of ['package.json', 'bin/harness.js']) {
    const s = await stat(join(root, f));
    hash.update(`${f}:${s.size}:${s.mtimeMs}\n`);
  }
  return hash.digest('hex').slice(0, 16);
}

async function bundledMain() {
  const buildRoot = join(root, '.harness', 'build');
  const dir = join(buildRoot, await sourceStamp());
  const entry = join(dir, 'main.js');
  if (!(await access(join(dir, 'done')).then(() => true, () => false))) {
    const { build } = await import('esbuild');
    const tmp = `${dir}.tmp-${process.pid}`;
    await mkdir(tmp, { recursive: true });
    await build({
      entryPoints: { main: join(root, 'harness/cli/main.ts') },
      outdir: tmp,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      sourcemap: 'inline',
      logLevel: 'error',
    });
    await writeFile(join(tmp, 'done'), '');
    // Concurrent starts may all build: the first rename wins, the others use it and drop their copy.
    await rename(tmp, dir).catch(() => rm(tmp, { recursive: true, force: true }));
    // Keep the build folder small: drop builds of older sources once they are a day old (a long-running
    // `harness run` started from one may still load its lazily imported chunks until then).
    for (const old of await readdir(buildRoot)) {
      const path = join(buildRoot, old);
      const age = Date.now() - (await stat(path).then((s) => s.mtimeMs, () => Date.now()));
      if (path !== dir && age > 86_400_000) await rm(path, { recursive: true, force: true }).catch(() => undefined);
    }
  }
  return import(pathToFileURL(entry).href);
}

async function tsxMain() {
  const { register } = await import('tsx/esm/api');
  register();
  return import('../harness/cli/main.ts');
}

let mod;
// A build output, absent from a checkout until `npm run build`: imported by its computed URL.
if (!existsSync(join(root, 'harness', 'cli', 'main.ts'))) mod = await import(pathToFileURL(join(root, 'dist', 'cli.js')).href);
else if (process.env.HARNESS_NO_BUNDLE) mod = await tsxMain();
else {
  try {
    mod = await bundledMain();
  } catch (e) {
    process.stderr.write(`harness: could not bundle the CLI (${e.message}); running it through tsx\n`);
    mod = await tsxMain();
  }
}
process.exitCode = await mod.main(process.argv.slice(2));
