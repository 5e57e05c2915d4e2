import { defineProject } from 'vitest/config';

// maxConcurrency: the hostile-input cases each start a process; two at a time suit a 2-core runner.
export default defineProject({ test: { name: 'cli', include: ['test/**/*.test.ts'], maxConcurrency: 2 } });
