import { defineProject } from 'vitest/config';

// End-to-end runs of the bundled demo and of training take seconds each on a busy 2-core runner.
export default defineProject({ test: { name: 'integration', include: ['**/*.test.ts'], exclude: ['node_modules/**'], testTimeout: 60_000 } });
