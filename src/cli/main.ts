#!/usr/bin/env node
/** `resnet`: the command-line entry point. One file per command under src/cli/. */
import { CliError, type Command } from './common.js';
import { modelsCommand } from './models.js';
import { summaryCommand } from './summary.js';
import { runCommand } from './run.js';
import { classifyCommand } from './classify.js';
import { evalCommand } from './eval.js';
import { convertCommand } from './convert.js';
import { benchCommand } from './bench.js';

const COMMANDS: Command[] = [classifyCommand, evalCommand, runCommand, modelsCommand, summaryCommand, convertCommand, benchCommand];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: resnet <command> [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'resnet <command> --help' for a command's options.",
  ].join('\n');
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    if (name === undefined) process.exitCode = 2;
    return;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) throw new CliError(`unknown command '${name}'\n\n${usage()}`, 2);
  await cmd.run(rest);
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
  process.exitCode = err instanceof CliError ? err.exitCode : 1;
});
