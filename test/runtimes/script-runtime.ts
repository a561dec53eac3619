/**
 * The tests of a runtime that runs a script file (Node, Deno, Bun): the README's snippet for it,
 * written verbatim into the consumer app and run with the README's command, must print Node's
 * logits (to 1e-5, on the kernel build the runtime runs) and top-1 class for cat.jpg; the same
 * snippet with 'cat.jpg' replaced by 'cat.png' (the one substitution) must do the same for the PNG
 * of the same pixels. A probe script (not from the README) says which kernel build the runtime's
 * default backend runs and must get Node's named errors for bad input.
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  compareWithNode,
  consumerApp,
  genericErrorNames,
  lastJson,
  nodeBadInputErrors,
  probeModule,
  run,
  runtimeAvailable,
  readmeSnippet,
  type Classified,
  type ConsumerApp,
  type Probe,
} from './consumer.js';

export interface ScriptRuntime {
  /** The README marker (`<!-- runtime: NAME -->`) and the test's name. */
  readonly name: string;
  readonly title: string;
  /** The runtime's executable. */
  readonly bin: string;
  /** The script's file name in the app. */
  readonly file: string;
  /** The README's command line after the executable, for a script `file` that reads `image` ('' for none). */
  readonly args: (file: string, image: string) => string[];
  readonly env?: Record<string, string>;
}

export function describeScriptRuntime(rt: ScriptRuntime): void {
  describe(`${rt.title}: the README's snippet in a fresh app`, () => {
    let app: ConsumerApp;
    let available = false;
    let probe: Promise<Probe>;
    beforeAll(async () => {
      available = runtimeAvailable(rt.title, rt.bin);
      if (!available) return;
      app = await consumerApp();
      const file = rt.file.replace(/(\.\w+)$/, '-probe$1');
      writeFileSync(join(app.dir, file), `${probeModule()}console.log(JSON.stringify(await probe()));\n`);
      probe = runIn(file, rt.args(file, '')).then((r) => {
        if (r.code !== 0) throw new Error(`${rt.title} ${file} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
        return lastJson<Probe>(r, `${rt.title} ${file}`);
      });
      probe.catch(() => {}); // reported by the tests that await it
    }, 600_000);

    const runIn = (file: string, args: string[]) => run(rt.bin, args, { cwd: app.dir, env: { ...process.env, ...rt.env }, timeoutMs: 120_000 });

    for (const image of ['cat.jpg', 'cat.png'] as const) {
      it(`classifies ${image} with the embedded model like Node`, async () => {
        if (!available) return;
        const snippet = readmeSnippet(rt.name);
        expect(snippet).toContain("'cat.jpg'");
        const file = image === 'cat.jpg' ? rt.file : rt.file.replace(/(\.\w+)$/, '-png$1');
        writeFileSync(join(app.dir, file), snippet.replaceAll("'cat.jpg'", `'${image}'`));
        const r = await runIn(file, rt.args(file, image));
        expect(r.code, `${rt.title} ${file} exited ${r.code}\n${r.stdout}\n${r.stderr}`).toBe(0);
        await compareWithNode(`${rt.title} ${image}`, lastJson<Classified>(r, `${rt.title} ${file}`), image, (await probe).variant);
      });
    }

    it('runs the wasm kernels on every core by default (at most 8), with logits equal to one thread bit for bit', async () => {
      if (!available) return;
      const { threads } = await probe;
      console.log(`${rt.title} threads: ${JSON.stringify(threads)}`);
      expect(threads).toEqual({ count: Math.min(availableParallelism(), 8), note: null, equal: true });
    });

    it('gets the named errors Node gets for an unknown model, a truncated JPEG and a non-image', async () => {
      if (!available) return;
      const { errors } = await probe;
      console.log(`${rt.title} bad input: ${Object.entries(errors).map(([k, e]) => `${k} -> ${e.name}: ${e.message}`).join('; ')}`);
      expect(genericErrorNames(errors)).toEqual([]);
      expect(errors).toEqual(await nodeBadInputErrors());
    });
  });
}
