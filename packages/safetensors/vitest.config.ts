import { defineProject } from 'vitest/config';

export default defineProject({ test: { name: 'safetensors', include: ['test/**/*.test.ts'] } });
