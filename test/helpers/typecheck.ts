/**
 * Type-checks consumer sources against the published declarations, as an installed dependency is
 * checked: a temp app whose node_modules/resnet-ts links to this repo's root (dist/ built by
 * `pretest`), @types/node 20 at hand, `skipLibCheck: false`. Returns tsc's output ('' when clean).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

export function typeCheckConsumer(files: Record<string, string>, compilerOptions: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'resnet-ts-consumer-'));
  try {
    mkdirSync(join(dir, 'node_modules/@types'), { recursive: true });
    symlinkSync(ROOT, join(dir, 'node_modules/resnet-ts'));
    symlinkSync(join(ROOT, 'node_modules/@types/node'), join(dir, 'node_modules/@types/node'));
    symlinkSync(join(ROOT, 'node_modules/undici-types'), join(dir, 'node_modules/undici-types'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module', private: true }));
    for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
    const options = { target: 'ES2022', strict: true, noEmit: true, skipLibCheck: false, ...compilerOptions };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, files: Object.keys(files) }));
    execFileSync(process.execPath, [TSC, '-p', dir], { encoding: 'utf8', stdio: 'pipe' });
    return '';
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return `${err.stdout ?? ''}${err.stderr ?? ''}`.trim() || String(e);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
