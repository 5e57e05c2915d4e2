import { describe, expect, it } from 'vitest';
import { tensor } from '@adsc/core';
import {
  ADSC_PRESET, keepVision, keptCount, parseSchedule, range, topKInOrder, uniformIndices, type Sequence,
} from '../src/index.js';

describe('the ADSC index rule', () => {
  it('keeps the 288 even indices of 576 at r = 0.5', () => {
    const k = keptCount(576, { text: '0.5', value: 0.5 });
    expect(k).toBe(288);
    expect(uniformIndices(576, k)).toEqual(Array.from({ length: 288 }, (_, j) => 2 * j));
  });

  it('keeps 21 of 64 at r = 1/3, at floor(j * 64 / 21)', () => {
    const k = keptCount(64, { text: '1/3', fraction: [1, 3], value: 1 / 3 });
    expect(k).toBe(21); // floor(64 / 3)
    // j = 0..20: 0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 42, 45, 48, 51, 54, 57, 60
    expect(uniformIndices(64, 21)).toEqual(Array.from({ length: 21 }, (_, j) => Math.floor((j * 64) / 21)));
    expect(uniformIndices(64, 21).slice(0, 4)).toEqual([0, 3, 6, 9]);
  });

  it('gives 0.3333333333 the same count as 1/3 thanks to the 1e-6 slack', () => {
    // 576 * 0.3333333333 = 191.9999999808: floor gives 191 without the slack, 192 = 576 / 3 with it.
    expect(keptCount(576, { text: '0.3333333333', value: 0.3333333333 })).toBe(192);
    // 100 * 0.29 is 28.999999999999996 in doubles: the slack restores 29.
    expect(keptCount(100, { text: '0.29', value: 0.29 })).toBe(29);
  });

  it('keeps at least one token', () => {
    expect(keptCount(2, { text: '0.1', value: 0.1 })).toBe(1);
  });
});

describe('parseSchedule', () => {
  it('reads adsc entries in any order and plans them in layer order', () => {
    expect(parseSchedule('adsc:3=0.5,2=0.5').plan(64, 5)).toEqual([64, 64, 32, 16, 16]);
  });

  it('expands the presets', () => {
    expect(parseSchedule('adsc').spec).toBe(ADSC_PRESET);
    expect(parseSchedule('fastv').spec).toBe('fastv:K=2,R=0.5');
    expect(parseSchedule('pdrop').spec).toBe('pdrop:layers=8,16,24,ratio=0.5');
  });

  it('plans the adsc preset on LLaVA-1.5 as 576 -> 288 -> 144 -> 72 at layers 6, 12, 18', () => {
    const plan = parseSchedule('adsc').plan(576, 32);
    expect([plan[5], plan[6], plan[12], plan[18], plan[31]]).toEqual([576, 288, 144, 72, 72]);
  });

  it('plans FastV: all tokens up to layer K-1, round(n (1 - R)) from layer K', () => {
    expect(parseSchedule('fastv:K=2,R=0.5').plan(576, 4)).toEqual([576, 576, 288, 288]);
    expect(parseSchedule('fastv:K=2,R=0.75').plan(64, 3)).toEqual([64, 64, 16]);
  });

  it('plans PyramidDrop stages 8, 16, 24 as 576 -> 288 -> 144 -> 72', () => {
    const plan = parseSchedule('pdrop').plan(576, 32);
    expect([plan[7], plan[8], plan[16], plan[24]]).toEqual([576, 288, 144, 72]);
  });

  it('uses original positions for adsc and fastv, renumbered for pdrop, unless told', () => {
    expect(parseSchedule('adsc:1=0.5').positions).toBe('original');
    expect(parseSchedule('fastv').positions).toBe('original');
    expect(parseSchedule('pdrop').positions).toBe('renumber');
    expect(parseSchedule('adsc:1=0.5', { positions: 'renumber' }).positions).toBe('renumber');
  });

  it('needs the reference attention only for FastV, at layer K-1', () => {
    expect(parseSchedule('fastv:K=3,R=0.5').referenceLayers(32)).toEqual([2]);
    expect(parseSchedule('adsc').referenceLayers(32)).toEqual([]);
    expect(parseSchedule('pdrop').referenceLayers(32)).toEqual([]);
  });

  it.each([
    ['adsc:', /expected adsc:/],
    ['adsc:2=1.5', /ratio 1\.5 must be in \(0, 1\]/],
    ['adsc:2=0', /ratio 0 must be in \(0, 1\]/],
    ['adsc:2=3/2', /ratio 3\/2 must be a fraction in \(0, 1\]/],
    ['adsc:2=0.5,2=0.25', /a layer appears twice/],
    ['adsc:x=0.5', /layer "x" is not a non-negative integer/],
    ['fastv:K=0,R=0.5', /layer 0 must be >= 1/],
    ['fastv:K=2,R=1', /R must be in \[0, 1\)/],
    ['fastv:K=2', /R is missing/],
    ['pdrop:layers=8,16,ratio=2', /ratio must be in \(0, 1\]/],
    ['pdrop:stages=8', /unknown key "stages"/],
    ['magic:1=2', /unknown method "magic"/],
  ])('refuses %s, naming the fault', (spec, message) => {
    expect(() => parseSchedule(spec)).toThrow(message);
  });

  it('names the preset as typed when its expansion does not fit the model', () => {
    expect(() => parseSchedule('adsc', { numLayers: 6 })).toThrow('preset adsc (adsc:6=0.5,12=0.5,18=0.5): layer 6 does not exist in a model of 6 layers');
  });

  it('refuses a layer the model does not have', () => {
    expect(() => parseSchedule('adsc:40=0.5', { numLayers: 32 })).toThrow('schedule "adsc:40=0.5": layer 40 does not exist in a model of 32 layers');
  });
});

describe('keepVision', () => {
  // Tokens: text 0, vision 1..4, text 5; hidden row i = [i]; positions 0..5.
  const seq: Sequence = { hidden: tensor([0, 1, 2, 3, 4, 5], [6, 1]), positions: range(6), visionStart: 1, visionCount: 4, visionIndex: range(4) };

  it('drops vision tokens only and keeps the order', () => {
    const s = keepVision(seq, [0, 3], 'original');
    expect(s.hidden.toArray()).toEqual([0, 1, 4, 5]);
    expect(Array.from(s.positions)).toEqual([0, 1, 4, 5]);
    expect(Array.from(s.visionIndex)).toEqual([0, 3]);
    expect(s.visionCount).toBe(2);
  });

  it('renumbers positions contiguously when asked', () => {
    expect(Array.from(keepVision(seq, [0, 3], 'renumber').positions)).toEqual([0, 1, 2, 3]);
  });

  // Tokens: text 0, vision 1..4, then branches [5, 6] and [7]; both branches start at position 5.
  const branched: Sequence = {
    hidden: tensor([0, 1, 2, 3, 4, 5, 6, 7], [8, 1]), positions: Int32Array.of(0, 1, 2, 3, 4, 5, 6, 5),
    visionStart: 1, visionCount: 4, visionIndex: range(4), branches: [2, 1],
  };

  it('keeps the branches, each still starting where the stem ends, with original positions', () => {
    const s = keepVision(branched, [0, 3], 'original');
    expect(Array.from(s.positions)).toEqual([0, 1, 4, 5, 6, 5]);
    expect(s.branches).toEqual([2, 1]);
  });

  it('renumbers the stem and moves every branch to its new end', () => {
    expect(Array.from(keepVision(branched, [0, 3], 'renumber').positions)).toEqual([0, 1, 2, 3, 4, 3]);
  });
});

describe('topKInOrder', () => {
  it('returns the indices of the largest scores in ascending order, ties to the lower index', () => {
    expect(topKInOrder([0.1, 0.5, 0.3, 0.5, 0.2], 3)).toEqual([1, 2, 3]);
    expect(topKInOrder([1, 1, 1], 2)).toEqual([0, 1]);
  });
});
