import { defineProject } from 'vitest/config';

// Training tests run real optimizer steps on a toy model: seconds each on a loaded 2-core machine.
export default defineProject({ test: { name: 'train', include: ['test/**/*.test.ts'], testTimeout: 60_000 } });
