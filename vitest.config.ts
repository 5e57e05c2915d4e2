import { defineConfig } from 'vitest/config';

// Every package has its own vitest.config.ts (so `pnpm --filter @adsc/<name> test` works alone);
// the root runs them all as projects, plus the cross-package tests in test/.
export default defineConfig({
  test: {
    projects: ['packages/*', 'test', 'web'],
    globalSetup: ['test/scratch-tmpdir.ts'],
  },
});
