import { defineProject } from 'vitest/config';

export default defineProject({ test: { name: 'attention', include: ['test/**/*.test.ts'] } });
