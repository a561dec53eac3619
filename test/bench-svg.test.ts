/**
 * The SVG writer of `resnet bench --svg` (src/bench/svg.ts): one bar per layer with its name and ms,
 * widths on one scale that sum to the total's width, an "other" bar for time outside the layers,
 * text escaped, and bars that do not add up refused. (test/runtimes/bench-svg.test.ts renders a
 * real run's chart in Chromium.)
 */
import { describe, expect, it } from 'vitest';
import { barChartSvg, escapeXml, layerBars, layerChartSvg } from '../src/bench/svg.js';
import type { LayerTable } from '../src/bench/layers.js';

interface ParsedBar {
  label: string;
  kind: string;
  ms: number;
  width: number;
  text: string;
}

/** The bars as the SVG states them: data attributes, the rect's width and the value label. */
function parse(svg: string): { totalMs: number; pxPerMs: number; bars: ParsedBar[] } {
  const root = /<svg [^>]*data-total-ms="([^"]+)" data-px-per-ms="([^"]+)"/.exec(svg);
  if (!root) throw new Error('no root <svg> with data-total-ms and data-px-per-ms');
  const bars = [...svg.matchAll(/<g class="bar" data-label="([^"]*)" data-kind="([^"]*)" data-ms="([^"]+)">.*?<rect [^>]*width="([^"]+)"[^>]*\/><text [^>]*>([^<]*)<\/text><\/g>/g)].map(
    (m) => ({ label: m[1], kind: m[2], ms: Number(m[3]), width: Number(m[4]), text: m[5] }),
  );
  return { totalMs: Number(root[1]), pxPerMs: Number(root[2]), bars };
}

const TABLE: LayerTable = {
  rows: [
    { layer: 'conv1', op: 'conv', kernel: 'stem', outputShape: [1, 64, 16, 16], macs: 1e6, ms: 0.4, gflops: 5, peakPercent: 10 },
    { layer: 'layer1.0.conv1', op: 'conv', kernel: 'winograd', outputShape: [1, 64, 16, 16], macs: 1e6, ms: 1.25, gflops: 1.6, peakPercent: 3 },
    { layer: 'avgpool', op: 'globalavgpool', kernel: 'globalavgpool', outputShape: [1, 64], macs: 0, ms: 0.05, gflops: null, peakPercent: null },
    { layer: 'fc', op: 'linear', kernel: 'linear', outputShape: [1, 10], macs: 640, ms: 0.1, gflops: 0.01, peakPercent: 0 },
  ],
  runs: 3,
  totalMs: 2.0,
  layersMs: 1.8,
  otherMs: 0.2,
  peakGflops: 50,
};

describe('the per-layer SVG bar chart', () => {
  const svg = layerChartSvg(TABLE, 'resnet20 1x3x32x32 on wasm: 2.00 ms per forward', 'mean of 3 instrumented forwards');
  const chart = parse(svg);

  it('has one bar per layer in forward order, then other, each named with its ms', () => {
    expect(chart.bars.map((b) => b.label)).toEqual(['conv1', 'layer1.0.conv1', 'avgpool', 'fc', 'other (layout, copies)']);
    expect(chart.bars.map((b) => b.kind)).toEqual(['stem', 'winograd', 'globalavgpool', 'linear', 'other']);
    expect(chart.bars.map((b) => b.text)).toEqual(['0.400 ms 20.0%', '1.25 ms 62.5%', '0.050 ms 2.5%', '0.100 ms 5.0%', '0.200 ms 10.0%']);
    expect(svg).toMatch(/<text [^>]*font-weight="bold"[^>]*>resnet20 1x3x32x32 on wasm: 2.00 ms per forward<\/text>/);
    expect(svg).toMatch(/the 5 bars add up to the total, 2.00 ms/);
  });

  it('draws every bar on one scale: widths proportional to ms, summing to the total times the scale', () => {
    expect(chart.totalMs).toBe(2);
    for (const b of chart.bars) expect(b.width, b.label).toBeCloseTo(b.ms * chart.pxPerMs, 9);
    const widths = chart.bars.reduce((a, b) => a + b.width, 0);
    expect(widths / chart.pxPerMs).toBeCloseTo(2.0, 9);
    // The longest bar fills the bar area, which leaves room for its value label inside the 960 px.
    expect(Math.max(...chart.bars.map((b) => b.width))).toBeGreaterThan(400);
    const right = [...svg.matchAll(/<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"/g)].map((m) => Number(m[1]) + Number(m[2]));
    expect(Math.max(...right)).toBeLessThan(960);
  });

  it('leaves out the other bar when the layers account for all of the time', () => {
    const exact = { ...TABLE, totalMs: 1.8, otherMs: 0 };
    expect(layerBars(exact).map((b) => b.label)).not.toContain('other (layout, copies)');
    expect(parse(layerChartSvg(exact, 't')).bars).toHaveLength(4);
  });

  it('escapes names and refuses bars that do not add up to the total, or a bad ms', () => {
    expect(escapeXml(`a<b>&"c'`)).toBe('a&lt;b&gt;&amp;&quot;c&apos;');
    const odd = barChartSvg({ title: 'x < y & z', bars: [{ label: '<script>', ms: 1, kind: 'a"b' }], totalMs: 1 });
    expect(odd).not.toContain('<script>');
    expect(odd).toContain('&lt;script&gt;');
    expect(odd).toContain('data-kind="a&quot;b"');
    expect(() => barChartSvg({ title: 't', bars: [{ label: 'a', ms: 1, kind: 'gemm' }], totalMs: 2 })).toThrow(/add up to 1 ms, expected the total 2 ms/);
    expect(() => barChartSvg({ title: 't', bars: [{ label: 'a', ms: NaN, kind: 'gemm' }], totalMs: 1 })).toThrow(/bar 'a' has NaN ms/);
    expect(() => barChartSvg({ title: 't', bars: [], totalMs: 1 })).toThrow(/at least one bar/);
  });
});
