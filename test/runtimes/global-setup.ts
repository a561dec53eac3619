/**
 * vitest global setup: an empty directory for this run's consumer app (test/runtimes/consumer.ts
 * fills it on first use, so runs that do not reach the runtime tests install nothing), removed at
 * the end of the run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    consumerRoot: string;
  }
}

export default function setup(project: TestProject): () => void {
  const root = mkdtempSync(join(tmpdir(), 'resnet-ts-consumer-'));
  project.provide('consumerRoot', root);
  return () => rmSync(root, { recursive: true, force: true });
}
