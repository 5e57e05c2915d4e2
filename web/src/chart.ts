/**
 * The tokens-per-layer chart: one bar per decoder layer, the vision tokens it processed in the
 * method's colour over the text tokens in grey, the selected layer outlined. An SVG string, so it
 * is tested without a browser.
 */

export interface ChartInput {
  tokensPerLayer: readonly number[];
  visionTokensPerLayer: readonly number[];
  selected?: number;
}

const W = 360;
const H = 150;
const PAD = { left: 34, right: 8, top: 10, bottom: 24 };

export function tokensChart({ tokensPerLayer, visionTokensPerLayer, selected }: ChartInput): string {
  const n = tokensPerLayer.length;
  const max = Math.max(1, ...tokensPerLayer);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const slot = plotW / Math.max(1, n);
  const y = (v: number) => PAD.top + plotH * (1 - v / max);
  const bars = tokensPerLayer.map((total, l) => {
    const vision = visionTokensPerLayer[l];
    const x = PAD.left + l * slot + slot * 0.15;
    const w = slot * 0.7;
    const edge = l === selected ? ' stroke="#f5a623" stroke-width="2"' : '';
    return [
      `<g data-layer="${l}"><title>layer ${l}: ${total} tokens, ${vision} vision</title>`,
      `<rect class="text" x="${x.toFixed(1)}" y="${y(total).toFixed(1)}" width="${w.toFixed(1)}" height="${(y(vision) - y(total)).toFixed(1)}" fill="#9aa0aa"/>`,
      `<rect class="vision" x="${x.toFixed(1)}" y="${y(vision).toFixed(1)}" width="${w.toFixed(1)}" height="${(y(0) - y(vision)).toFixed(1)}" fill="#3b7dd8"${edge}/>`,
      `<text x="${(x + w / 2).toFixed(1)}" y="${H - 8}" text-anchor="middle">${l}</text></g>`,
    ].join('');
  });
  const axis = [0, max].map((v) => `<text x="${PAD.left - 4}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${v}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-size="10" font-family="sans-serif" role="img" aria-label="tokens per decoder layer">${axis}${bars.join('')}</svg>`;
}
