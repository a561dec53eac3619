/**
 * The SVG of `resnet bench --svg`: a horizontal bar chart of per-layer time, one bar per layer in
 * forward order, read at a glance: the layer's name left of its bar, its ms and share of the total
 * right of it, colour by kernel, the total in the title. One scale for every bar (px per ms, kept in
 * the root's `data-px-per-ms`), so the bars' widths are proportional to their ms and sum to the
 * total's width; time outside every layer is its own "other" bar. Plain SVG 1.1, no script, no fonts.
 */
import type { LayerTable } from './layers.js';

export interface Bar {
  readonly label: string;
  readonly ms: number;
  /** Picks the colour and the legend entry (a kernel name, or 'other'). */
  readonly kind: string;
}

export interface BarChart {
  readonly title: string;
  /** A second line under the title (what was run, how it was measured). */
  readonly subtitle?: string;
  readonly bars: readonly Bar[];
  /** What the bars add up to, ms; the writer checks they do (to 1e-9 relative). */
  readonly totalMs: number;
}

const COLOURS: Record<string, string> = {
  gemm: '#4e79a7',
  winograd: '#f28e2b',
  'winograd-s2': '#e15759',
  grouped: '#76b7b2',
  stem: '#59a14f',
  linear: '#edc948',
  maxpool: '#b07aa1',
  avgpool: '#d4a6c8',
  globalavgpool: '#ff9da7',
  add: '#9c755f',
  affine: '#8cd17d',
  relu: '#bab0ac',
  shortcutA: '#499894',
  other: '#9d9d9d',
};
const FALLBACK = '#79706e'; // a kind without a colour of its own

const WIDTH = 960;
const MARGIN = 16;
const FONT = 12;
/** Advance of one character of the monospace font at FONT px (0.6 em holds for the common ones). */
const CHAR = FONT * 0.6;
const ROW = 18;
const BAR = 13;
const VALUE_WIDTH = 22 * CHAR;

/** Escapes text for an SVG text node or attribute. */
export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3));

/** The chart as an SVG document. */
export function barChartSvg(chart: BarChart): string {
  const { bars, totalMs } = chart;
  if (bars.length === 0) throw new RangeError('barChartSvg: expected at least one bar, got none');
  for (const b of bars) {
    if (!(b.ms >= 0) || !Number.isFinite(b.ms)) throw new RangeError(`barChartSvg: bar '${b.label}' has ${b.ms} ms, expected a finite ms >= 0`);
  }
  const sum = bars.reduce((a, b) => a + b.ms, 0);
  if (!(totalMs > 0) || Math.abs(sum - totalMs) > 1e-9 * totalMs) {
    throw new RangeError(`barChartSvg: the bars add up to ${sum} ms, expected the total ${totalMs} ms (add an 'other' bar for the rest)`);
  }
  const labelWidth = Math.max(...bars.map((b) => b.label.length)) * CHAR + 10;
  const barX = MARGIN + labelWidth;
  const barArea = WIDTH - barX - MARGIN - VALUE_WIDTH;
  const maxMs = Math.max(...bars.map((b) => b.ms));
  const pxPerMs = maxMs > 0 ? barArea / maxMs : 0;
  const kinds = [...new Set(bars.map((b) => b.kind))];
  const top = chart.subtitle ? 64 : 46;
  const legendY = top + bars.length * ROW + 14;
  const height = legendY + 2 * ROW + MARGIN;

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ` +
      `font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="${FONT}" data-total-ms="${totalMs}" data-px-per-ms="${pxPerMs}">`,
    `<title>${escapeXml(chart.title)}</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${MARGIN}" y="24" font-size="15" font-weight="bold" fill="#111">${escapeXml(chart.title)}</text>`,
  ];
  if (chart.subtitle) out.push(`<text x="${MARGIN}" y="44" fill="#555">${escapeXml(chart.subtitle)}</text>`);
  bars.forEach((b, i) => {
    const y = top + i * ROW;
    const w = b.ms * pxPerMs;
    const pct = (100 * b.ms) / totalMs;
    const colour = COLOURS[b.kind] ?? FALLBACK;
    out.push(
      `<g class="bar" data-label="${escapeXml(b.label)}" data-kind="${escapeXml(b.kind)}" data-ms="${b.ms}">` +
        `<title>${escapeXml(`${b.label} (${b.kind}): ${fmt(b.ms)} ms, ${pct.toFixed(1)}% of ${fmt(totalMs)} ms`)}</title>` +
        `<text x="${barX - 6}" y="${y + BAR - 2}" text-anchor="end" fill="#222">${escapeXml(b.label)}</text>` +
        `<rect x="${barX}" y="${y}" width="${w}" height="${BAR}" fill="${colour}"/>` +
        `<text x="${barX + w + 5}" y="${y + BAR - 2}" fill="#222">${fmt(b.ms)} ms ${pct.toFixed(1)}%</text>` +
        `</g>`,
    );
  });
  out.push(`<line x1="${barX}" y1="${top - 4}" x2="${barX}" y2="${top + bars.length * ROW}" stroke="#888"/>`);
  let x = MARGIN;
  for (const k of kinds) {
    out.push(`<rect x="${x}" y="${legendY}" width="${BAR}" height="${BAR}" fill="${COLOURS[k] ?? FALLBACK}"/>`);
    out.push(`<text x="${x + BAR + 5}" y="${legendY + BAR - 2}" fill="#222">${escapeXml(k)}</text>`);
    x += BAR + 5 + k.length * CHAR + 18;
  }
  out.push(
    `<text x="${MARGIN}" y="${legendY + ROW + BAR - 2}" fill="#555">the ${bars.length} bars add up to the total, ${fmt(totalMs)} ms ` +
      `(one scale for every bar: ${pxPerMs.toFixed(1)} px per ms)</text>`,
  );
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** The bars of a layer table: one per layer, then 'other' for time outside every layer (when there is any). */
export function layerBars(table: LayerTable): Bar[] {
  const bars: Bar[] = table.rows.map((r) => ({ label: r.layer, ms: r.ms, kind: r.op === 'conv' ? r.kernel : r.op }));
  if (table.otherMs > 0) bars.push({ label: 'other (layout, copies)', ms: table.otherMs, kind: 'other' });
  return bars;
}

/** The chart of a layer table. */
export function layerChartSvg(table: LayerTable, title: string, subtitle?: string): string {
  return barChartSvg({ title, subtitle, bars: layerBars(table), totalMs: table.totalMs });
}
