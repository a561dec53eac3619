/**
 * Reaching Node-only modules from code that also runs in browsers and workers, without a static
 * import that would pull `node:*` or an optional package into their bundles.
 */

/** The parts of Node's `process` we read (Bun and Deno 2 provide it too). */
export interface NodeProcess {
  versions?: { node?: string };
  platform?: string;
  env: Record<string, string | undefined>;
}

/** `process` where the runtime is Node-compatible, else undefined. */
export function nodeProcess(): NodeProcess | undefined {
  const p = (globalThis as { process?: NodeProcess }).process;
  return p?.versions?.node ? p : undefined;
}

/**
 * Dynamic import through a variable so that bundlers for the browser leave it alone: the `webgpu`
 * package and `node:fs` are never part of a browser build.
 */
export const importOptional = (specifier: string): Promise<unknown> => import(/* @vite-ignore */ specifier);
