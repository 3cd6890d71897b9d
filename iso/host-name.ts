// A guest hostname from a VM name: what cloud-init's local-hostname (and NixOS's networking.hostName) accept,
// an RFC 1123 label: lowercase letters, digits and hyphens, 1-63 characters, no hyphen at either end.
export function guestHostName(vmName: string | undefined, fallback = 'harness'): string {
  const label = (vmName ?? '')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .slice(0, 63)
    .replace(/^-+|-+$/g, '');
  return label || fallback;
}
