/**
 * Which matmul kernel runs: 'wasm' (WebAssembly SIMD, kernels/gemm-wasm.ts) or 'js' (the scalar
 * kernel of kernels/gemm.ts, the readable reference). The default is 'wasm' wherever the engine
 * validates the SIMD module, unless the environment variable ADSC_KERNEL names one.
 */
import { environmentVariable } from '../env.js';
import { wasmSupported } from './gemm-wasm.js';

export type KernelName = 'wasm' | 'js';

const NAMES: readonly KernelName[] = ['wasm', 'js'];
let current: KernelName | undefined;

function check(name: string, where: string): KernelName {
  if (!(NAMES as readonly string[]).includes(name)) throw new RangeError(`${where}: expected 'wasm' or 'js', got '${name}'`);
  if (name === 'wasm' && !wasmSupported()) throw new Error(`${where}: this engine does not support WebAssembly SIMD; use 'js'`);
  return name as KernelName;
}

/** Chooses the matmul kernel for every later product (worker threads included). */
export function setKernel(name: KernelName): void {
  current = check(name, 'setKernel');
}

export function getKernel(): KernelName {
  if (current === undefined) {
    const env = environmentVariable('ADSC_KERNEL');
    current = env ? check(env, 'ADSC_KERNEL') : wasmSupported() ? 'wasm' : 'js';
  }
  return current;
}
