#!/usr/bin/env node
// The `adsc` command. Node 20 cannot run TypeScript by itself: register tsx, then load the CLI.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
