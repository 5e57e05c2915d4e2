/**
 * The slice of the WebAssembly JavaScript API that the kernels use, typed here: TypeScript ships
 * these types only with its DOM lib, which this project (ES2022 + Node types) does not load.
 * `undefined` in an engine without WebAssembly.
 */
export interface WasmModule {
  readonly __brand?: 'WebAssembly.Module';
}

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  /** Adds `pages` 64-KiB pages; views over the old buffer are detached. */
  grow(pages: number): number;
}

export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports?: object) => WasmInstance;
  validate(bytes: Uint8Array): boolean;
}

export const webAssembly = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
