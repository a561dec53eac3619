/**
 * Access to ../shared (the project's read-only data beside the clone). In CI (CI set) a missing
 * file is an error; on a developer's machine tests may skip with a printed reason.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SHARED_DIR = process.env.RESNET_SHARED_DIR ?? resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared');

export function sharedPath(rel: string): string {
  return join(SHARED_DIR, rel);
}

/** True when the file exists; when it does not: throws under CI, warns and returns false elsewhere. */
export function sharedAvailable(rel: string): boolean {
  const p = sharedPath(rel);
  if (existsSync(p)) return true;
  if (process.env.CI) throw new Error(`required test data missing: ${p} (CI must have ../shared beside the clone)`);
  console.warn(`skipping: test data ${p} is not here (set RESNET_SHARED_DIR)`);
  return false;
}

export function readShared(rel: string): Buffer {
  return readFileSync(sharedPath(rel));
}
