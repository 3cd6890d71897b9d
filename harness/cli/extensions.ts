// Everything a command may rely on beyond its own imports: crash recovery for run records and containers,
// doctor's docker probe, the libvirt provider (each registers itself on import). main.ts loads this only once a
// command is about to run, so `harness --help` and usage errors stay quick.
import '../reap-records.js';
import '../containers/register.js';
import '../providers/libvirt.js';

export { reapOrphans } from '../reap.js';
