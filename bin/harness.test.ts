// bin/harness.js picks how to run: beside the TypeScript sources (a checkout) it bundles them into .harness/build/;
// installed from the package (no sources, dist/ built at pack time) it runs dist/cli.js and writes nothing beside
// itself. The installed case is set up here with a stand-in dist/cli.js; the npm-pack suite runs the real one.
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, expect, it } from 'vitest';

const dir = await mkdtemp(join(tmpdir(), 'harness-bin-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

it('installed (no sources beside it): runs dist/cli.js with the arguments, from any cwd, and writes nothing into the package', async () => {
  const pkg = join(dir, 'node_modules', 'vm-harness');
  await mkdir(join(pkg, 'bin'), { recursive: true });
  await mkdir(join(pkg, 'dist'));
  await cp(join(import.meta.dirname, 'harness.js'), join(pkg, 'bin', 'harness.js'));
  await writeFile(join(pkg, 'package.json'), '{"name": "vm-harness", "type": "module"}\n');
  await writeFile(join(pkg, 'dist', 'cli.js'), `export async function main(argv) { process.stdout.write(JSON.stringify({ argv, cwd: process.cwd() })); return 7; }\n`);
  const before = (await readdir(pkg, { recursive: true })).sort();
  const r = await execa('node', [join(pkg, 'bin', 'harness.js'), 'run', 'x.yaml'], { cwd: dir, reject: false });
  expect(r.exitCode, r.stderr).toBe(7);
  expect(JSON.parse(r.stdout)).toEqual({ argv: ['run', 'x.yaml'], cwd: dir });
  expect((await readdir(pkg, { recursive: true })).sort()).toEqual(before);
});
