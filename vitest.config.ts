import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Two cores on CI machines: a few files at once keeps argon2 and the databases busy, not thrashing.
    maxWorkers: 3,
    reporters: ['default'],
    projects: [
      {
        // Logic that needs no server (state machines, queues, cursors, the AI context fitter): runs in
        // well under a second and gives a precise failure before the end-to-end suites start.
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          pool: 'threads',
        },
      },
      {
        // The backbone: real servers on ephemeral ports, real clients, real databases.
        test: {
          name: 'e2e',
          include: ['test/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          pool: 'forks',
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
