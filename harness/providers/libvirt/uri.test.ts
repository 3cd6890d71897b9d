import { describe, expect, it } from 'vitest';
import { ScenarioError } from '../../errors.js';
import { checkLibvirtUri, parseLibvirtUri } from './uri.js';

describe('libvirt URI validation', () => {
  it('accepts the local system and session daemons', () => {
    expect(parseLibvirtUri('qemu:///system')).toMatchObject({ transport: 'local', mode: 'system' });
    expect(parseLibvirtUri('qemu:///session')).toMatchObject({ transport: 'local', mode: 'session' });
  });

  it('accepts remote qemu+ssh URIs with user, port, IPv6 and query parameters', () => {
    expect(parseLibvirtUri('qemu+ssh://kvm1.example.org/system')).toMatchObject({ transport: 'ssh', host: 'kvm1.example.org', mode: 'system', user: undefined, port: undefined });
    expect(parseLibvirtUri('qemu+ssh://ci@10.1.2.3:2222/system?keyfile=/root/.ssh/id_ed25519&no_verify=1')).toMatchObject({
      user: 'ci',
      host: '10.1.2.3',
      port: 2222,
      params: { keyfile: '/root/.ssh/id_ed25519', no_verify: '1' },
    });
    expect(parseLibvirtUri('qemu+ssh://[fd00::1]/session')).toMatchObject({ host: '[fd00::1]', mode: 'session' });
  });

  it.each([
    'qemu:///System',
    'qemu://system',
    'qemu:///system/',
    'xen:///system',
    'qemu+tcp://host/system',
    'qemu+ssh:///system',
    'qemu+ssh://host/',
    'qemu+ssh://host/system;rm -rf /',
    'qemu+ssh://-oProxyCommand=x/system',
    '',
  ])('rejects %j', (uri) => {
    expect(() => parseLibvirtUri(uri)).toThrow(ScenarioError);
  });

  it('says what was expected and what was found, and where', () => {
    try {
      parseLibvirtUri('qemu+tcp://h/system', { file: 'web.yaml', path: 'vms.web.libvirt.uri' });
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toBe(
        'web.yaml: vms.web.libvirt.uri: expected a libvirt URI of the form qemu:///system, qemu:///session or qemu+ssh://[user@]host[:port]/system, found "qemu+tcp://h/system"',
      );
    }
    expect(checkLibvirtUri('qemu+ssh://h:70000/system')).toEqual({ expected: 'an SSH port from 1 to 65535', found: '70000 in "qemu+ssh://h:70000/system"' });
  });
});
