import { defineProject } from 'vitest/config';

// maxConcurrency: the hostile-input cases each start a process; two at a time suit a 2-core runner.
// testTimeout: the bundled demo (576 vision tokens through 32 layers) takes seconds on a busy runner.
export default defineProject({ test: { name: 'cli', include: ['test/**/*.test.ts'], maxConcurrency: 2, testTimeout: 60_000 } });
