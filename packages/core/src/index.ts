/**
 * @adsc/core: strided tensors, CPU kernels and a multi-threaded matmul.
 */
export {
  DTYPES, allocate, bf16BitsToNumber, bytesPerElement, f16BitsToNumber, halfTable, isDType, isFloat, isShared,
  numberToBf16Bits, numberToF16Bits, storageView, type DType, type Storage,
} from './dtype.js';
export { environmentVariable } from './env.js';
export { ShapeError, broadcastShapes, contiguousStrides, formatShape, numel } from './shape.js';
export {
  Tensor, arange, f32Output, f32Values, fromValues, full, mulberry32, ones, randn, scatter, tensor, zeros,
} from './tensor.js';
export { fromNdarray, toNdarray, type NdArrayLike } from './ndarray.js';
export { add, div, exp, map, mul, neg, scale, sqrt, sub, unary } from './ops/elementwise.js';
export { erf, gelu, geluTanh, quickGelu, silu } from './ops/activation.js';
export { argmax, max, mean, sum } from './ops/reduce.js';
export { layerNorm, rmsNorm, softmax } from './ops/norm.js';
export { concat, embedding, indexSelect } from './ops/movement.js';
export { linear, matmul, matmulInto } from './ops/matmul.js';
export type { MatrixRef } from './kernels/gemm.js';
export { getKernel, setKernel, type KernelName } from './kernels/select.js';
export { threadWasm, wasmSupported } from './kernels/gemm-wasm.js';
export { kernelModule } from './wasm/kernels.js';
export {
  ARENA_SLOTS, SLOT_X_BYTES, allocateWeight, arenaFreeBytes, arenaKernels, arenaOf, arenasSupported, placeFreeable, placeWeight, releaseFreeable, slotAt, type ArenaHandle,
} from './wasm/arena.js';
export { ATTEND_STEP, GRAD_STEP } from './wasm/attention-kernels.js';
export { webAssembly, type WasmInstance, type WasmMemory } from './wasm/webassembly.js';
export { conv2dPatches } from './ops/conv.js';
export { crossEntropy, type CrossEntropyOptions } from './ops/loss.js';
export { AutogradError, backward, graphBytes, isGradEnabled, needsGrad, noGrad, record, withGrad, type GradNode, type Grads } from './autograd/tape.js';
export { sumToShape } from './autograd/broadcast.js';
export { checkpoint } from './autograd/checkpoint.js';
export { getRandomState, nextUniform, seedRandom, setRandomState } from './autograd/random.js';
export { dropout } from './ops/dropout.js';
export { getNumThreads, runOnThreads, setNumThreads, type ThreadTask } from './threads/pool.js';
