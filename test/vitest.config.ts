import { defineProject } from 'vitest/config';

// These tests run the whole bundled LLaVA (32 layers, 576 vision tokens), some of them twice: 6-10 s
// each on the shared 2-core VM, with either matmul kernel, past vitest's 5 s default.
export default defineProject({ test: { name: 'integration', include: ['**/*.test.ts'], exclude: ['node_modules/**'], testTimeout: 60_000 } });
