// Which libvirt connection URIs the provider accepts. virsh itself takes many more forms (qemu+tcp, qemu+tls,
// test:///default, ...); we accept only the ones we know how to run VMs through, and say so plainly when a URI
// is something else, rather than letting virsh fail later with a connection error.
import { ScenarioError } from '../../errors.js';

export interface LibvirtUri {
  uri: string;
  /** local: the libvirtd on this host; ssh: a remote libvirtd reached through `ssh`. */
  transport: 'local' | 'ssh';
  /** system: the privileged daemon (qemu runs as libvirt-qemu); session: a per-user daemon (qemu runs as you). */
  mode: 'system' | 'session';
  host?: string;
  user?: string;
  port?: number;
  /** Query parameters of a remote URI (keyfile, no_verify, ...), passed to virsh untouched. */
  params: Record<string, string>;
}

export const DEFAULT_LIBVIRT_URI = 'qemu:///system';

const EXPECTED = 'a libvirt URI of the form qemu:///system, qemu:///session or qemu+ssh://[user@]host[:port]/system';
const LOCAL_RE = /^qemu:\/\/\/(system|session)$/;
const SSH_RE =
  /^qemu\+ssh:\/\/(?:([a-z_][a-z0-9_.-]{0,31})@)?([A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?\/(system|session)(?:\?([A-Za-z0-9_.=&/~%-]*))?$/;

export interface UriProblem {
  expected: string;
  found: string;
}

/** Parses and validates a URI; returns the problem instead of throwing (for callers that collect issues). */
export function checkLibvirtUri(uri: string): LibvirtUri | UriProblem {
  const local = LOCAL_RE.exec(uri);
  if (local) return { uri, transport: 'local', mode: local[1] as 'system' | 'session', params: {} };
  const ssh = SSH_RE.exec(uri);
  if (!ssh) return { expected: EXPECTED, found: JSON.stringify(uri) };
  const port = ssh[3] === undefined ? undefined : Number(ssh[3]);
  if (port !== undefined && (port < 1 || port > 65535)) return { expected: 'an SSH port from 1 to 65535', found: `${port} in ${JSON.stringify(uri)}` };
  const params: Record<string, string> = {};
  for (const pair of (ssh[5] ?? '').split('&').filter(Boolean)) {
    const [k, v] = pair.split('=', 2);
    if (!k || v === undefined) return { expected: 'query parameters as key=value', found: `${JSON.stringify(pair)} in ${JSON.stringify(uri)}` };
    params[k] = v;
  }
  return {
    uri,
    transport: 'ssh',
    mode: ssh[4] as 'system' | 'session',
    user: ssh[1],
    host: ssh[2],
    port,
    params,
  };
}

/** Like checkLibvirtUri, but throws ScenarioError naming where the URI came from. */
export function parseLibvirtUri(uri: string, where = { file: '(libvirt provider options)', path: 'libvirt.uri' }): LibvirtUri {
  const r = checkLibvirtUri(uri);
  if ('uri' in r) return r;
  throw new ScenarioError([{ file: where.file, path: where.path, ...r }]);
}
