#!/usr/bin/env node
// A foreign process winning the race for a port: stands in front of the real qemu-system-x86_64 and, on the first
// start only, binds the SSH port the harness just allocated (after the harness checked it was free, before qemu
// binds it), then runs the real qemu, which must fail on that port. Later starts run qemu untouched.
// Usage: GRAB_MARKER=/tmp/x node grab-port-qemu.mjs QEMU-ARGS... (the marker file records the grabbed port).
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';

const args = process.argv.slice(2);
const marker = process.env.GRAB_MARKER;
const fwd = args.map((a) => /hostfwd=tcp:127\.0\.0\.1:(\d+)-:22/.exec(a)?.[1]).find(Boolean);

const runQemu = () =>
  new Promise((resolve) => {
    const child = spawn('qemu-system-x86_64', args, { stdio: 'inherit' });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    child.on('error', () => resolve(127));
  });

if (!marker || !fwd || existsSync(marker)) {
  process.exit(await runQemu());
}
const server = createServer();
await new Promise((resolve, reject) => server.once('error', reject).listen(Number(fwd), '127.0.0.1', resolve));
writeFileSync(marker, fwd);
const code = await runQemu();
server.close();
process.exit(code);
