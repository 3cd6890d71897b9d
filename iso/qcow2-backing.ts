// The backing file a qcow2 overlay names, read straight from its header (no qemu-img needed): a VM's disk is an
// overlay on a cached base, and the cache must not delete a base some overlay still stands on.
import { open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

const MAGIC = 0x514649fb; // "QFI\xfb"

/** The absolute path of `path`'s backing file, or undefined (not qcow2, no backing file, unreadable). */
export async function qcow2BackingFile(path: string): Promise<string | undefined> {
  const fh = await open(path, 'r').catch(() => undefined);
  if (!fh) return undefined;
  try {
    const head = Buffer.alloc(20);
    const { bytesRead } = await fh.read(head, 0, 20, 0);
    if (bytesRead < 20 || head.readUInt32BE(0) !== MAGIC) return undefined;
    const offset = head.readBigUInt64BE(8);
    const size = head.readUInt32BE(16);
    if (offset === 0n || size === 0 || size > 4096) return undefined;
    const name = Buffer.alloc(size);
    const got = await fh.read(name, 0, size, Number(offset));
    if (got.bytesRead !== size) return undefined;
    const text = name.toString('utf8');
    // Relative names are relative to the overlay's folder (qemu's rule); a protocol (nbd:, http:) is not a file.
    if (/^[a-z][a-z0-9+.-]*:/i.test(text) && !text.startsWith('file:')) return undefined;
    return resolve(dirname(path), text.replace(/^file:/, ''));
  } finally {
    await fh.close();
  }
}

/** The whole chain below `path`: its backing file, that file's backing file, ... (at most `max` levels). */
export async function qcow2BackingChain(path: string, max = 8): Promise<string[]> {
  const chain: string[] = [];
  let cur = path;
  for (let i = 0; i < max; i++) {
    const next = await qcow2BackingFile(cur);
    if (!next || chain.includes(next)) break;
    chain.push(next);
    cur = next;
  }
  return chain;
}
