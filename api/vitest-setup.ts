// vitest globalSetup (`globalSetup: ['vm-harness/vitest-setup']`): builds the default tiny image into the project's
// image cache once, before any suite boots, so no suite's boot timeout includes an image build.
export { default } from '../fixtures/global-setup.js';
