#!/usr/bin/env node
/** `resnet`: the command-line entry point. One file per command under src/cli/. */
import { readFileSync } from 'node:fs';
import '../backends/wasm/threads-node.js';
import { CliError, closest, type Command } from './common.js';
import { modelsCommand } from './models.js';
import { summaryCommand } from './summary.js';
import { runCommand } from './run.js';
import { classifyCommand } from './classify.js';
import { evalCommand } from './eval.js';
import { convertCommand } from './convert.js';
import { benchCommand } from './bench.js';
import { dumpCommand } from './dump.js';
import { verifyCommand } from './verify.js';

const COMMANDS: Command[] = [classifyCommand, evalCommand, runCommand, modelsCommand, summaryCommand, convertCommand, benchCommand];
COMMANDS.push(dumpCommand, verifyCommand);

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: resnet <command> [options]    resnet help <command>    resnet --version',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'resnet <command> --help' for a command's options.",
  ].join('\n');
}

/** The package's version, from the package.json two folders up (src/cli/ and dist/cli/ alike). */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
  return `${pkg.name} ${pkg.version}`;
}

function findCommand(name: string): Command {
  const cmd = COMMANDS.find((c) => c.name === name);
  if (cmd) return cmd;
  const near = closest(name, COMMANDS.map((c) => c.name));
  throw new CliError(`unknown command '${name}'${near ? `; did you mean '${near}'?` : ''}\n\n${usage()}`, 2);
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    process.stdout.write(version() + '\n');
    return;
  }
  if (name === 'help' && rest.length) {
    process.stdout.write(findCommand(rest[0]).usage.trimEnd() + '\n');
    return;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    if (name === undefined) process.exitCode = 2;
    return;
  }
  await findCommand(name).run(rest);
}

// `resnet models | head`: a closed pipe ends the output, it is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

main(process.argv.slice(2)).catch((e: unknown) => {
  const err = e instanceof Error ? e : new Error(String(e));
  // One line that names the problem; the stack only when asked for (RESNET_DEBUG=1).
  process.stderr.write(`resnet: error: ${process.env.RESNET_DEBUG ? err.stack ?? err.message : err.message}\n`);
  // Exit codes: 0 ok, 1 a runtime failure, 2 a usage error (an unknown model name is one).
  process.exitCode = err instanceof CliError ? err.exitCode : ['UnknownModelError', 'UnknownPretrainedError'].includes(err.name) ? 2 : 1;
});
