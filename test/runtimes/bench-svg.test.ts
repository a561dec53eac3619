/**
 * Issue 16's end-to-end check of `resnet bench`: in the fresh app that has only `npm install` of the
 * packed tarball (consumer.ts), `npx resnet bench --model resnet18 --layers --svg out.svg` works, and
 * the chart it writes, opened in headless Chromium (Debian's, through playwright-core, as in
 * chromium.test.ts), is not blank and its bars add up to the measured total of the same run's --json.
 * Kept small for CI: 3 runs at 64x64.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import pngjs from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, consumerApp, lastJson, run, runtimeAvailable, type ConsumerApp } from './consumer.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

interface Report {
  model: string;
  p50Ms: number;
  layers: { totalMs: number; layersMs: number; otherMs: number; rows: { layer: string; op: string; ms: number }[] };
}

describe('npx resnet bench --layers --svg, installed from the tarball', () => {
  let app: ConsumerApp;
  let report: Report;
  let stderr = '';
  let browser: Browser | undefined;

  beforeAll(async () => {
    app = await consumerApp();
    const r = await run('npx', ['resnet', 'bench', '--model', 'resnet18', '--layers', '--svg', 'out.svg', '--runs', '3', '--warmup', '1', '--input-size', '64', '--json'], {
      cwd: app.dir,
      env: cleanEnv(),
      timeoutMs: 300_000,
    });
    stderr = r.stderr;
    expect(r.code, `npx resnet bench exited ${r.code}:\n${r.stderr}`).toBe(0);
    report = lastJson<Report>(r, 'npx resnet bench');
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('runs from the install and reports the per-layer table', () => {
    expect(report.model).toBe('resnet18');
    // resnet18: 20 convs (the stem, 16 in blocks, 3 downsamples; BN, adds and ReLUs fused in), maxpool, avgpool, fc.
    expect(report.layers.rows).toHaveLength(23);
    expect(report.layers.rows.filter((r) => r.op === 'conv')).toHaveLength(20);
    expect(report.layers.layersMs + report.layers.otherMs).toBeCloseTo(report.layers.totalMs, 9);
    expect(stderr, 'no progress bar in a pipe').not.toMatch(/\r|\[#/);
  });

  it('writes an SVG that Chromium renders, not blank, with bars adding up to the measured total', async () => {
    if (!runtimeAvailable('Chromium', CHROMIUM)) return;
    const svg = readFileSync(join(app.dir, 'out.svg'), 'utf8');
    const [, width, height] = /<svg [^>]*width="(\d+)" height="(\d+)"/.exec(svg) ?? [];
    expect(Number(width)).toBeGreaterThan(0);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking'] });
    const page = await browser.newPage({ viewport: { width: Number(width), height: Number(height) } });
    await page.goto(`file://${join(app.dir, 'out.svg')}`);

    // Not blank: the screenshot has many colours and a fair share of non-white pixels.
    const png = pngjs.PNG.sync.read(await page.screenshot());
    const colours = new Set<number>();
    let inked = 0;
    for (let i = 0; i < png.data.length; i += 4) {
      const rgb = (png.data[i] << 16) | (png.data[i + 1] << 8) | png.data[i + 2];
      colours.add(rgb);
      if (rgb !== 0xffffff) inked++;
    }
    const share = inked / (png.data.length / 4);
    console.log(`bench SVG ${width}x${height}: ${colours.size} colours, ${(100 * share).toFixed(1)}% non-white pixels`);
    expect(colours.size).toBeGreaterThan(8);
    expect(share).toBeGreaterThan(0.02);

    // The rendered bars: one per layer plus other, each with a visible label, widths summing to the total.
    const drawn = await page.evaluate(() => {
      const root = document.documentElement as unknown as SVGSVGElement;
      const bars = [...document.querySelectorAll('g.bar')].map((g) => ({
        label: g.getAttribute('data-label')!,
        ms: Number(g.getAttribute('data-ms')),
        width: (g.querySelector('rect') as SVGRectElement).getBBox().width,
        labelWidth: (g.querySelector('text') as SVGTextElement).getBBox().width,
      }));
      return { pxPerMs: Number(root.getAttribute('data-px-per-ms')), totalMs: Number(root.getAttribute('data-total-ms')), bars };
    });
    const t = report.layers;
    expect(drawn.totalMs).toBe(t.totalMs);
    expect(drawn.bars.map((b) => b.label)).toEqual([...t.rows.map((r) => r.layer), ...(t.otherMs > 0 ? ['other (layout, copies)'] : [])]);
    for (const b of drawn.bars) expect(b.labelWidth, `${b.label}: its label is drawn`).toBeGreaterThan(0);
    const sumWidths = drawn.bars.reduce((a, b) => a + b.width, 0);
    console.log(`bars: ${drawn.bars.length}, widths ${sumWidths.toFixed(2)} px / ${drawn.pxPerMs.toFixed(3)} px per ms = ${(sumWidths / drawn.pxPerMs).toFixed(4)} ms; measured total ${t.totalMs.toFixed(4)} ms`);
    // getBBox is float32: 1e-5 relative covers its rounding over ~25 bars.
    expect(Math.abs(sumWidths / drawn.pxPerMs - t.totalMs) / t.totalMs).toBeLessThan(1e-5);
  }, 120_000);
});
