// A scenario with a VM and a container together: the VM reaches the container's port published on the host's
// 127.0.0.1, through user-mode networking's host alias 10.0.2.2. Real dockerd, real qemu.
import { describe, expect, test } from 'vitest';
import { useScenario } from '../fixtures/scenario.js';
import { dockerReady } from '../harness/containers/test-helpers.js';

const ready = await dockerReady();

describe.skipIf(!ready)(`VM and container in one scenario${ready ? '' : ' (skipped: no Docker engine answers; start dockerd)'}`, () => {
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
  });

  test('steps can target the container too (exec through the engine)', async () => {
    const r = await env.session().target('web').exec('cat /www/index.html');
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toBe('served-by-container');
  });
});
