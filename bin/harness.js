#!/usr/bin/env node
// Entry point for `npx harness`: runs the TypeScript CLI through tsx's ESM loader, no build step.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../harness/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
