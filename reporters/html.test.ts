// The HTML report is checked as a person sees it: rendered by a real headless Chromium (Debian's `chromium`
// package), measuring the timeline bars and reading the visible text. Skipped where /usr/bin/chromium is absent
// (failed under CI=true).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeReal } from '../fixtures/real-backend.js';
import type { HarnessEvent } from '../harness/events.js';
import { createHtmlReporter } from './html.js';
import { bootTimeoutRun, failedRun, passedRun, replay, sampleConsoleLog, sampleConsolePath } from './testing/sample-events.js';

const CHROMIUM = '/usr/bin/chromium';
const noChromium = existsSync(CHROMIUM) ? undefined : `chromium not found at ${CHROMIUM} (fix: apt-get install -y chromium)`;
let dir: string;

async function report(name: string, events: HarnessEvent[]): Promise<string> {
  const path = join(dir, `${name}.html`);
  await replay(createHtmlReporter({ path, baseDir: dir }), events);
  return path;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'html-report-test-'));
  for (const vm of ['server', 'client']) {
    mkdirSync(join(dir, 'vms', vm), { recursive: true });
    writeFileSync(join(dir, sampleConsolePath(vm)), sampleConsoleLog(vm));
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('html report markup', () => {
  it('is one self-contained file: no external URL, no script, captured text escaped', async () => {
    const html = readFileSync(await report('failed-markup', failedRun()), 'utf8');
    expect(html).not.toMatch(/\b(src|href)=/i);
    expect(html).not.toMatch(/https?:\/\/(?!localhost\/)/); // the only URL is the one inside the failing command
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('&lt;script&gt;window.__pwned = 1&lt;/script&gt;');
    expect(html).not.toContain('\x1b');
  });

  it('embeds the console from the log file, and from console events when there is no file', async () => {
    const fromFile = readFileSync(await report('timeout-file', bootTimeoutRun()), 'utf8');
    expect(fromFile).toContain(`from ${sampleConsolePath('client')}`);
    const noFiles = bootTimeoutRun().map((e) => (e.type === 'artifact' ? { ...e, path: 'does/not/exist.log' } : e));
    const fromEvents = readFileSync(await report('timeout-events', noFiles), 'utf8');
    expect(fromEvents).toContain('from console events');
    expect(fromEvents).toContain('Kernel panic - not syncing');
  });
});

describeReal('html report in headless Chromium', noChromium, () => {
  let ctx: BrowserContext;
  let profile: string;
  const requests: string[] = [];

  beforeAll(async () => {
    profile = mkdtempSync(join(tmpdir(), 'chromium-profile-'));
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    ctx.on('request', (r) => requests.push(r.url()));
  }, 60_000);
  afterAll(async () => {
    await ctx?.close();
    rmSync(profile, { recursive: true, force: true });
  });

  async function open(name: string, events: HarnessEvent[]): Promise<Page> {
    const page = await ctx.newPage();
    await page.goto(`file://${await report(name, events)}`);
    await page.screenshot({ path: join(tmpdir(), `harness-report-${name}.png`), fullPage: true });
    return page;
  }

  const bars = (page: Page, vm: string, phase: string) =>
    page.$$eval(`.row[data-vm="${vm}"] .bar[data-phase="${phase}"]`, (els) =>
      els.map((e) => ({ width: e.getBoundingClientRect().width, left: e.getBoundingClientRect().left, ms: Number((e as HTMLElement).dataset.durationMs), state: (e as HTMLElement).dataset.state })),
    );

  it('draws timeline bars with widths in proportion to durations', async () => {
    const page = await open('passed', passedRun());
    const steps = await bars(page, 'server', 'step');
    expect(steps.map((s) => s.ms)).toEqual([400, 600, 4000]);
    for (const s of steps) expect(s.width).toBeGreaterThan(0);
    // 4000 ms vs 400 ms: ten times as wide (within rounding of a pixel or two).
    expect(steps[2]!.width / steps[0]!.width).toBeGreaterThan(9);
    expect(steps[2]!.width / steps[0]!.width).toBeLessThan(11);
    const [boot] = await bars(page, 'server', 'boot');
    expect(boot!.width / steps[2]!.width).toBeCloseTo(boot!.ms / 4000, 1);
    // Phases follow each other left to right: boot, then the steps in order, then teardown.
    const [teardown] = await bars(page, 'server', 'teardown');
    expect(boot!.left).toBeLessThan(steps[0]!.left);
    expect(steps[0]!.left).toBeLessThan(steps[1]!.left);
    expect(steps[2]!.left).toBeLessThan(teardown!.left);
    // A reused image took 40 ms of a 19 s run: still drawn, at the minimum width.
    const [image] = await bars(page, 'server', 'image');
    expect(image!.width).toBeGreaterThanOrEqual(2);
    expect(await page.isVisible('.row[data-vm="server"] .ready-mark')).toBe(true);
    await page.close();
  });

  it('shows the failed step with its output tails, as text, without running embedded script', async () => {
    const page = await open('failed', failedRun());
    const failedRow = page.locator('tr.step.failed');
    await expect(failedRow.count()).resolves.toBe(1);
    expect(await failedRow.innerText()).toMatch(/nginx is active\s+failed\s+2\.5s/);
    const detail = await page.locator('tr.detail[data-index="1"]').innerText();
    expect(detail).toContain('expected exit code 0, got 3');
    expect(detail).toContain('<script>window.__pwned = 1</script>');
    expect(detail).toContain(`Address already in use) <"&'> red`);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    const [stepBar] = (await bars(page, 'server', 'step')).filter((b) => b.state === 'failed');
    expect(stepBar!.width).toBeGreaterThan(0);
    expect(await page.locator('.hint code').innerText()).toContain('harness vm ssh server');
    expect(await page.locator('.badge').innerText()).toBe('failed');
    await page.close();
  });

  it('shows a boot timeout: a failed boot bar and the console opened on the panic', async () => {
    const page = await open('timeout', bootTimeoutRun());
    const [boot] = await bars(page, 'client', 'boot');
    expect(boot!.state).toBe('failed');
    const [serverBoot] = await bars(page, 'server', 'boot');
    // 31.1 s of failed boot vs 12 s to ready.
    expect(boot!.width / serverBoot!.width).toBeCloseTo(boot!.ms / serverBoot!.ms, 1);
    const consoleText = await page.locator('details.console[data-vm="client"] pre').innerText();
    expect(consoleText).toContain('Kernel panic - not syncing: VFS: Unable to mount root fs');
    expect(consoleText).toContain('end Kernel panic <unknown-block(0,0)> & halt\\x07\\x00');
    expect(await page.isVisible('details.console[data-vm="client"] pre')).toBe(true);
    // The healthy VM's console is there but folded.
    expect(await page.isVisible('details.console[data-vm="server"] pre')).toBe(false);
    expect(await page.locator('.run-error').innerText()).toContain('VM client did not answer SSH within 30s');
    await page.close();
  });

  it('made no request beyond the report files themselves', () => {
    expect(requests.length).toBeGreaterThan(0);
    for (const u of requests) expect(u).toMatch(/^file:\/\//);
  });
});
