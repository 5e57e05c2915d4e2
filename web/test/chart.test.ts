/**
 * The tokens-per-layer chart: one bar pair per layer, heights in proportion to the tokens.
 */
import { describe, expect, it } from 'vitest';
import { tokensChart } from '../src/chart.js';

const heights = (svg: string, cls: string) => [...svg.matchAll(new RegExp(`<rect class="${cls}"[^>]* height="([\\d.]+)"`, 'g'))].map((m) => Number(m[1]));

describe('tokensChart', () => {
  it('draws a vision bar and a text bar for every layer, in proportion to the counts', () => {
    // 155 tokens (144 vision) in layer 0, then 27 (16 vision): the plot is 150 - 10 - 24 = 116 px high.
    const svg = tokensChart({ tokensPerLayer: [155, 27, 27], visionTokensPerLayer: [144, 16, 16] });
    expect(heights(svg, 'vision')).toEqual([+((116 * 144) / 155).toFixed(1), +((116 * 16) / 155).toFixed(1), +((116 * 16) / 155).toFixed(1)]);
    expect(heights(svg, 'text')).toEqual([+((116 * 11) / 155).toFixed(1), +((116 * 11) / 155).toFixed(1), +((116 * 11) / 155).toFixed(1)]);
  });

  it('outlines the selected layer only', () => {
    const svg = tokensChart({ tokensPerLayer: [10, 10], visionTokensPerLayer: [5, 5], selected: 1 });
    expect(svg.match(/stroke="#f5a623"/g)).toHaveLength(1);
    expect(svg).toMatch(/<g data-layer="1">.*stroke="#f5a623"/);
  });
});
