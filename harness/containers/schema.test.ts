// The `containers:` section through the real loader: defaults and normalisation, one of image/build, the http
// wait's port must be published, names shared with vms are refused, and steps may target a container.
import { describe, expect, it } from 'vitest';
import { ScenarioError } from '../errors.js';
import { loadScenarioText } from '../scenario/load.js';

const load = (yaml: string) => loadScenarioText(yaml, '/virtual/scenario.yaml');
const issuesOf = async (yaml: string) => {
  const err = await load(yaml).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ScenarioError);
  return (err as ScenarioError).message;
};

describe('containers: in the scenario schema', () => {
  it('normalises a container and lets steps run on it', async () => {
    const { scenario } = await load(`
name: web-test
containers:
  web:
    image: harness/busybox
    ports: [80]
    env: { MODE: prod, WORKERS: 4 }
    command: [httpd, -f, -p, "80"]
    wait: { log: "/listening on \\\\d+/", times: 2 }
    startupTimeout: 90s
steps:
  - name: index
    on: web
    run: wget -qO- http://127.0.0.1/
`);
    const web = scenario.containers.web!;
    expect(web).toMatchObject({ image: 'harness/busybox', ports: [80], env: { MODE: 'prod', WORKERS: '4' }, startupTimeout: 90_000 });
    expect(web.wait).toMatchObject({ log: { kind: 'regex' }, times: 2 });
    expect('log' in web.wait! && web.wait.log.kind === 'regex' && web.wait.log.regex.test('listening on 80')).toBe(true);
    expect(scenario.steps[0]!.on).toBe('web');
  });

  it('defaults: no ports, no env, a 60 s startup timeout, a build instead of an image', async () => {
    const { scenario } = await load(`
name: built
containers:
  app:
    build: { context: ./app }
    wait: { http: { port: 8080 } }
    ports: [8080]
`);
    expect(scenario.containers.app).toMatchObject({ build: { context: './app' }, env: {}, startupTimeout: 60_000, wait: { http: { port: 8080, path: '/', status: 200 } } });
  });

  it('refuses both image and build, and neither', async () => {
    expect(await issuesOf(`name: x\ncontainers:\n  a: { image: harness/busybox, build: { context: . } }\n`)).toMatch(/containers\.a.*exactly one of `image` or `build`/);
    expect(await issuesOf(`name: x\ncontainers:\n  a: { ports: [80] }\n`)).toMatch(/exactly one of `image` or `build`/);
  });

  it('refuses an http wait on a port that is not published', async () => {
    expect(await issuesOf(`name: x\ncontainers:\n  a:\n    image: harness/busybox\n    ports: [80]\n    wait: { http: { port: 8080 } }\n`)).toMatch(
      /scenario\.yaml:6:\d+: containers\.a\.wait\.http\.port: expected one of the published ports \(80\)/,
    );
  });

  it('refuses a name used by both a VM and a container', async () => {
    const msg = await issuesOf(`name: x\nvms:\n  web: {}\ncontainers:\n  web: { image: harness/busybox }\n`);
    expect(msg).toMatch(/scenario\.yaml:5:3: containers\.web: expected a name not already used by vms\.web/);
  });

  it('refuses a step on a machine that is neither', async () => {
    expect(await issuesOf(`name: x\ncontainers:\n  web: { image: harness/busybox }\nsteps:\n  - { name: s, on: db, run: "true" }\n`)).toMatch(
      /steps\[0\]\.on: expected the name of a machine declared in this scenario \(web\)/,
    );
  });
});
