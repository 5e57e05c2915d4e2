/**
 * Gradient checkpointing (activation recomputation): trade compute for memory.
 *
 * `checkpoint(fn, inputs)` runs `fn` once without recording, so none of its intermediate
 * activations are kept: only its inputs and output are. When the backward pass reaches the
 * output, it runs `fn` again from detached copies of the inputs, this time recording, back-
 * propagates the output's gradient through that fresh graph (parameters used inside receive
 * their `.grad` there), and hands the inputs' gradients on. Per decoder layer this keeps one
 * [T, d] tensor per layer instead of every projection, attention output and FFN activation.
 *
 * `fn` must compute the same thing twice: random draws (dropout) inside it must come from
 * `random.ts`'s stream, whose position is saved here and replayed for the recomputation.
 */
import type { Tensor } from '../tensor.js';
import { backward, isGradEnabled, noGrad, withGrad } from './tape.js';
import { getRandomState, setRandomState } from './random.js';

export function checkpoint(fn: (...inputs: Tensor[]) => Tensor, inputs: readonly Tensor[]): Tensor {
  if (!isGradEnabled()) return fn(...inputs);
  const state = getRandomState();
  const out = noGrad(() => fn(...inputs));
  out.requiresGrad = true;
  out.gradNode = {
    op: 'checkpoint',
    inputs,
    backward: (g) => {
      const after = getRandomState();
      setRandomState(state);
      const detached = inputs.map((t) => t.detach().requireGrad(t.requiresGrad));
      const again = withGrad(() => fn(...detached));
      setRandomState(after);
      if (again.requiresGrad) backward(again, g);
      return detached.map((d) => d.grad);
    },
  };
  return out;
}
