// Probes `harness doctor` runs besides the registered providers (docker for containers, and the like).
import type { ProbeResult } from './providers/provider.js';

export const extraProbes: Array<() => Promise<ProbeResult>> = [];
