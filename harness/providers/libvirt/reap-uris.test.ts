import { describe, expect, it } from 'vitest';
import { localReapUris, sessionSocket, SYSTEM_SOCKET } from './reap-uris.js';

describe('localReapUris: which local daemons the orphan reaper sweeps, from sockets only', () => {
  const has = (...paths: string[]) => (p: string) => paths.includes(p);
  it('finds the session socket where libvirt puts it: XDG_RUNTIME_DIR, else ~/.cache', () => {
    expect(sessionSocket({ XDG_RUNTIME_DIR: '/run/user/1000' }, '/home/u')).toBe('/run/user/1000/libvirt/libvirt-sock');
    expect(sessionSocket({}, '/home/u')).toBe('/home/u/.cache/libvirt/libvirt-sock');
  });
  it('a user: the system daemon and their own session daemon, each only when its socket exists', () => {
    const ctx = { uid: 1000, env: {}, home: '/home/u' };
    expect(localReapUris({ ...ctx, exists: has(SYSTEM_SOCKET, '/home/u/.cache/libvirt/libvirt-sock') })).toEqual(['qemu:///system', 'qemu:///session']);
    expect(localReapUris({ ...ctx, exists: has('/home/u/.cache/libvirt/libvirt-sock') })).toEqual(['qemu:///session']);
    expect(localReapUris({ ...ctx, exists: has() })).toEqual([]);
  });
  it('root: qemu:///session is the system driver, so one sweep of qemu:///system covers both', () => {
    expect(localReapUris({ uid: 0, env: {}, home: '/root', exists: () => true })).toEqual(['qemu:///system']);
  });
});
