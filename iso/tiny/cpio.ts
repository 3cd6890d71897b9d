// The initramfs format: cpio "newc" (SVR4, no CRC), the only one the kernel unpacks. Written from an
// in-memory file list so owners are root and /dev/console exists without the builder being root or using
// mknod; read back by tests to check what an image holds.

export type CpioEntry =
  | { type: 'dir'; path: string; mode: number }
  | { type: 'file'; path: string; mode: number; data: Buffer }
  | { type: 'symlink'; path: string; target: string }
  | { type: 'chardev'; path: string; mode: number; major: number; minor: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const TRAILER = 'TRAILER!!!';

/** Serialises entries in the given order (parents must come before children). mtime is fixed: reproducible. */
export function writeCpio(entries: CpioEntry[], mtime = 0): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const push = (name: string, mode: number, data: Buffer, rdev: [number, number] = [0, 0], nlink = 1) => {
    const nameBuf = Buffer.from(name + '\0');
    const fields = [ino++, mode, 0, 0, nlink, mtime, data.length, 0, 0, rdev[0], rdev[1], nameBuf.length, 0];
    const header = Buffer.from('070701' + fields.map((f) => f.toString(16).padStart(8, '0')).join(''), 'ascii');
    parts.push(header, nameBuf, pad(header.length + nameBuf.length), data, pad(data.length));
  };
  for (const e of entries) {
    const name = e.path.replace(/^\/+/, '');
    switch (e.type) {
      case 'dir':
        push(name, S_IFDIR | e.mode, Buffer.alloc(0), [0, 0], 2);
        break;
      case 'file':
        push(name, S_IFREG | e.mode, e.data);
        break;
      case 'symlink':
        push(name, S_IFLNK | 0o777, Buffer.from(e.target));
        break;
      case 'chardev':
        push(name, S_IFCHR | e.mode, Buffer.alloc(0), [e.major, e.minor]);
        break;
    }
  }
  push(TRAILER, 0, Buffer.alloc(0));
  return Buffer.concat(parts);
}

const pad = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);

export interface CpioMember {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  data: Buffer;
}

/** Parses a newc archive (uncompressed) into its members; symlink data is the target. */
export function readCpio(buf: Buffer): CpioMember[] {
  const out: CpioMember[] = [];
  let off = 0;
  while (off + 110 <= buf.length) {
    const magic = buf.toString('ascii', off, off + 6);
    if (magic !== '070701' && magic !== '070702') throw new Error(`cpio: expected newc magic 070701 at offset ${off}, found ${JSON.stringify(magic)}`);
    const field = (i: number) => parseInt(buf.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16);
    const [mode, uid, gid, size, namesize] = [field(1), field(2), field(3), field(6), field(11)];
    const nameStart = off + 110;
    const path = buf.toString('utf8', nameStart, nameStart + namesize - 1);
    const dataStart = align4(nameStart + namesize);
    if (path === TRAILER) break;
    out.push({ path, mode, uid, gid, data: buf.subarray(dataStart, dataStart + size) });
    off = align4(dataStart + size);
  }
  return out;
}

const align4 = (n: number) => (n + 3) & ~3;

/** File-type helpers for tests and checks. */
export const isSymlink = (m: CpioMember) => (m.mode & 0o170000) === S_IFLNK;
export const isFile = (m: CpioMember) => (m.mode & 0o170000) === S_IFREG;
