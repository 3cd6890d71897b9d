// A scenario with a VM and a container together: the VM reaches the container's port published on the host's
// 127.0.0.1, through user-mode networking's host alias 10.0.2.2. Real dockerd, real qemu.
import { expect, test } from 'vitest';
import { qemuUnavailable } from '../fixtures/backend-probes.js';
import { describeReal } from '../fixtures/real-backend.js';
import { dockerUnavailable } from '../harness/containers/test-helpers.js';
import { useScenario } from 'vm-harness/vitest';

const unavailable = (await dockerUnavailable()) ?? (await qemuUnavailable());
/** One command in the booted TCG guest or the running container (booting is beforeAll's): ~1 s, room for load. */
const STEP_MS = 90_000;

describeReal('VM and container in one scenario', unavailable, () => {
  const env = useScenario({
    name: 'vm-and-container',
    vms: { client: { memory: '256M' } },
    containers: {
      web: {
        image: 'harness/busybox',
        ports: [80],
        command: ['sh', '-c', 'mkdir -p /www && echo served-by-container > /www/index.html && exec httpd -f -p 80 -h /www'],
        wait: { http: { port: 80, path: '/' } },
      },
    },
  });

  test('the guest fetches a page from the container through 10.0.2.2:<published port>', async () => {
    const port = env.session().container('web').hostPort(80);
    const page = await env.vm('client').succeed(`wget -q -O - http://10.0.2.2:${port}/`);
    expect(page.trim()).toBe('served-by-container');
  }, STEP_MS);

  test('steps can target the container too (exec through the engine)', async () => {
    const r = await env.session().target('web').exec('cat /www/index.html');
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toBe('served-by-container');
  }, STEP_MS);
});
