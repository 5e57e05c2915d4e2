/**
 * The page's URL parameters: every state is a link, and a parameter that does not parse is an
 * error naming it.
 */
import { describe, expect, it } from 'vitest';
import { resolveMethod } from '../src/methods.js';
import { DEFAULT_STATE, formatState, parseState } from '../src/state.js';

describe('parseState', () => {
  it('gives the defaults for an empty query', () => {
    expect(parseState('')).toEqual({ ...DEFAULT_STATE });
  });

  it('reads the issue\'s example link', () => {
    const s = parseState('?seed=7&q=how+many+red+circles&schedule=adsc');
    expect(s).toMatchObject({ seed: 7, question: 'how many red circles', schedule: 'adsc' });
  });

  it('reads a range of objects, sizes, the layer, the adapter and the attention backend', () => {
    expect(parseState('objects=3-6&sizes=20,28&layer=2&adapter=none&attention=cpu')).toMatchObject({
      objects: [3, 6], sizes: [20, 28], layer: 2, adapter: 'none', attention: 'cpu',
    });
    expect(parseState('objects=2').objects).toEqual([2, 2]);
  });

  it.each([
    ['seed=-1', 'URL parameter seed="-1": expected an integer from 0 to 4294967295'],
    ['seed=1.5', 'URL parameter seed="1.5"'],
    ['layer=x', 'URL parameter layer="x"'],
    ['objects=6-3', 'URL parameter objects="6-3": MIN is above MAX'],
    ['sizes=20,200', 'URL parameter sizes="200": expected an integer from 8 to 84'],
    ['attention=webgpu', 'URL parameter attention="webgpu": expected webgl or cpu'],
    ['sed=7', 'unknown URL parameter "sed"'],
  ])('refuses %s, naming the parameter', (query, message) => {
    expect(() => parseState(query)).toThrow(message);
  });
});

describe('formatState', () => {
  it('writes nothing for the defaults', () => {
    expect(formatState(parseState(''))).toBe('');
  });

  it('round-trips every parameter', () => {
    const query = '?seed=7&q=What+color+is+the+circle%3F&schedule=adsc%3A1%3D1%2F9&adapter=a78-reverse&layer=3&objects=3-6&sizes=20%2C28&attention=cpu';
    expect(formatState(parseState(query))).toBe(query);
    expect(parseState(formatState(parseState(query)))).toEqual(parseState(query));
  });
});

describe('resolveMethod', () => {
  it('gives a method\'s schedule and its adapter', () => {
    expect(resolveMethod('adsc', undefined)).toMatchObject({ schedule: 'adsc:1=1/9', adapter: 'a78-reverse' });
    expect(resolveMethod('fastv', undefined)).toMatchObject({ schedule: 'fastv:K=1,R=0.8889', adapter: undefined });
  });

  it('lets the adapter parameter replace or remove the method\'s adapter', () => {
    expect(resolveMethod('adsc', 'none').adapter).toBeUndefined();
    expect(resolveMethod('adsc-free', 'a78-reverse').adapter).toBe('a78-reverse');
  });

  it('takes any other schedule value as a spec', () => {
    expect(resolveMethod('adsc:2=1/2,4=1/2', undefined)).toEqual({ schedule: 'adsc:2=1/2,4=1/2', adapter: undefined, method: undefined });
  });
});
