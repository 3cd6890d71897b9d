// Where the tiny guest's sftp-server goes: the path compiled into dropbear, read from the binary's strings.
import { describe, expect, it } from 'vitest';
import { dropbearSftpServerPath } from './sftp-server.js';

const binary = (...strings: string[]) => Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0]), ...strings.map((s) => Buffer.from(`${s}\0`, 'latin1'))]);

describe('dropbearSftpServerPath', () => {
  it('finds the one compiled-in sftp-server path among the other strings', () => {
    expect(dropbearSftpServerPath(binary('sftp', '/usr/lib/sftp-server', 'subsystem %s'))).toBe('/usr/lib/sftp-server');
    expect(dropbearSftpServerPath(binary('/usr/libexec/sftp-server', '/usr/libexec/sftp-server'))).toBe('/usr/libexec/sftp-server');
  });

  it('ignores a path that is only part of a longer string', () => {
    expect(() => dropbearSftpServerPath(binary('cannot run /usr/lib/sftp-server: %s'), '/x/dropbear')).toThrow(
      '/x/dropbear: expected one compiled-in sftp-server path (SFTPSERVER_PATH), found no',
    );
  });

  it('refuses to guess between two paths', () => {
    expect(() => dropbearSftpServerPath(binary('/usr/lib/sftp-server', '/usr/libexec/sftp-server'))).toThrow(/found 2 \(\/usr\/lib\/sftp-server, \/usr\/libexec\/sftp-server\)/);
  });
});
