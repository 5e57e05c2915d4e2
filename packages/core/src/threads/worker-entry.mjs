// Entry point of a pool worker. Node 20 cannot load TypeScript by itself, so register tsx's
// loader first, then load the worker body (which imports the .ts kernels).
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
