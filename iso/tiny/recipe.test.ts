// The tiny image's cache key covers the guest files' text: editing /init or the inittab without bumping
// TINY_BUILDER_VERSION must still give a new key (a stale cached image would silently boot the old guest).
import { afterEach, describe, expect, it, vi } from 'vitest';

afterEach(() => {
  vi.doUnmock('./guest-files.js');
  vi.doUnmock('./modules.js');
  vi.resetModules();
});

async function recipeWith(mocks: { inittab?: string; modules?: string[] } = {}): Promise<string> {
  vi.doUnmock('./guest-files.js');
  vi.doUnmock('./modules.js');
  vi.resetModules();
  if (mocks.inittab !== undefined) {
    vi.doMock('./guest-files.js', async (orig) => ({ ...(await orig<typeof import('./guest-files.js')>()), inittab: () => mocks.inittab! }));
  }
  if (mocks.modules) vi.doMock('./modules.js', async (orig) => ({ ...(await orig<typeof import('./modules.js')>()), TINY_MODULES: mocks.modules }));
  return (await import('./index.js')).guestRecipe();
}

describe('tiny guest recipe', () => {
  it('is stable for the same guest files', async () => {
    expect(await recipeWith()).toMatch(/^[0-9a-f]{64}$/);
    expect(await recipeWith()).toBe(await recipeWith());
  });

  it('changes when the inittab text changes', async () => {
    expect(await recipeWith({ inittab: '::respawn:/bin/sh\n' })).not.toBe(await recipeWith());
  });

  it('changes when the module list changes', async () => {
    expect(await recipeWith({ modules: ['virtio_pci'] })).not.toBe(await recipeWith());
  });
});
