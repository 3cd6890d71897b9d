// user-data and meta-data parse as YAML and carry exactly the keys given, whatever their comments contain.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { generateOpenSshHostKey } from '../nixos/openssh-host-key.js';
import { trickyUserKey } from '../nixos/testing/nix-tools.js';
import { renderMetaData, renderUserData } from './user-data.js';

const user = trickyUserKey();
const hostKey = generateOpenSshHostKey();

describe('renderUserData', () => {
  it('root: #cloud-config with the keys, disable_root false and the pinned host key', () => {
    const text = renderUserData({ authorizedKeys: [user.publicKey], hostKey, user: 'root' });
    expect(text.split('\n')[0]).toBe('#cloud-config');
    const doc = parse(text);
    expect(doc).toMatchObject({ disable_root: false, ssh_pwauth: false, ssh_deletekeys: true, ssh_authorized_keys: [user.publicKey] });
    expect(doc.ssh_keys).toEqual({ ed25519_private: hostKey.privateKey.endsWith('\n') ? hostKey.privateKey : `${hostKey.privateKey}\n`, ed25519_public: hostKey.publicKey });
    expect(doc.users).toBeUndefined();
    // No check for the user's private key here: it is no input of renderUserData, so such a check could not fail.
    // build.test.ts builds a seed with the user's and the project's key pairs on disk and scans every byte of it.
  });

  it('a named user gets its own entry with the keys and passwordless sudo', () => {
    const doc = parse(renderUserData({ authorizedKeys: [user.publicKey], hostKey, user: 'alice' }));
    expect(doc.users).toEqual([{ name: 'alice', sudo: 'ALL=(ALL) NOPASSWD:ALL', shell: '/bin/bash', lock_passwd: true, ssh_authorized_keys: [user.publicKey] }]);
  });

  it('meta-data names the instance and host', () => {
    expect(parse(renderMetaData('harness-abc', 'web: "1"'))).toEqual({ 'instance-id': 'harness-abc', 'local-hostname': 'web: "1"' });
  });
});
