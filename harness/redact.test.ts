import { afterEach, describe, expect, it } from 'vitest';
import { clearRegisteredSecrets, LineRedactor, redact, redactDeep, registerSecret } from './redact.js';
import { generateEd25519KeyPair } from './ssh/keygen.js';

afterEach(() => clearRegisteredSecrets());

describe('redact', () => {
  it('removes a real OpenSSH private key block, and an unterminated PEM block to the end', () => {
    const key = generateEd25519KeyPair().private;
    const body = key.split('\n')[1]!;
    const out = redact(`before\n${key}\nafter`);
    expect(out).not.toContain(body);
    expect(out).toContain('before');
    expect(out).toContain('after');
    expect(redact('x -----BEGIN RSA PRIVATE KEY-----\nMIIEow truncated')).toBe('x [REDACTED PRIVATE KEY]');
  });

  it('removes Proxmox API tokens, bearer tokens and password/token assignments', () => {
    expect(redact('Authorization: PVEAPIToken=root@pam!ci=0f1e2d3c-aaaa-bbbb-cccc-1234567890ab')).not.toContain('0f1e2d3c');
    expect(redact('Authorization: Bearer eyJhbGciOi.payload.sig')).toBe('Authorization: Bearer [REDACTED]');
    expect(redact('mysql -u root password=hunter22 -h db')).toBe('mysql -u root password=[REDACTED] -h db');
    expect(redact('token: abc123def')).toBe('token: [REDACTED]');
    expect(redact('{"api_key":"k-999","name":"x"}')).toBe('{"api_key":"[REDACTED]","name":"x"}');
  });

  it('leaves ordinary text alone', () => {
    const line = '[ 12.3] virtio_net virtio0 eth0: renamed from eth0; ssh on port 22220';
    expect(redact(line)).toBe(line);
  });

  it('removes registered secrets, including their URL-encoded form, and ignores too-short values', () => {
    registerSecret('s3cr3t value/+');
    registerSecret('ab');
    expect(redact('got s3cr3t value/+ and s3cr3t%20value%2F%2B, ab stays')).toBe('got [REDACTED] and [REDACTED], ab stays');
  });

  it('redacts objects deeply, whole values under secret-named keys', () => {
    const input = { user: 'root', password: 'pw-1234', nested: [{ apiToken: 42 }, 'Bearer abc.def'] };
    expect(redactDeep(input)).toEqual({ user: 'root', password: '[REDACTED]', nested: [{ apiToken: '[REDACTED]' }, 'Bearer [REDACTED]'] });
    expect(input.password).toBe('pw-1234'); // input untouched
  });
});

describe('LineRedactor', () => {
  it('hides a private key that arrives one line at a time, per stream, and resumes after END', () => {
    const key = generateEd25519KeyPair().private.trim().split('\n');
    const r = new LineRedactor();
    const out = ['boot ok', ...key, 'after'].map((l) => r.line('web', l));
    expect(out[0]).toBe('boot ok');
    expect(out.slice(1, -1).every((l) => l === '[REDACTED PRIVATE KEY]')).toBe(true);
    expect(out.at(-1)).toBe('after');
    r.line('a', key[0]!);
    expect(r.line('b', key[1]!)).toBe(key[1]); // another stream is not inside a key (and the line alone looks harmless)
    expect(r.line('a', key[1]!)).toBe('[REDACTED PRIVATE KEY]');
  });
});
