import { listModels } from '../api.js';
import { parse, printJson, type Command } from './common.js';

export const modelsCommand: Command = {
  name: 'models',
  summary: 'list every model with its parameter and MAC counts',
  usage: `usage: resnet models [--json]

Lists the model zoo. MACs are conv + fc multiply-accumulates at the model's default input size
(224x224, or 32x32 for the CIFAR ResNets), batch 1.

options:
  --json   print { models: [{ name, params, macs, family, variant, source, paramsWithBnStats, inputSize }] }`,
  async run(argv) {
    const { values } = parse(this, argv, { json: { type: 'boolean' } });
    const models = listModels();
    if (values.json) {
      printJson({ models });
      return;
    }
    const w = Math.max(...models.map((m) => m.name.length));
    process.stdout.write(`${'model'.padEnd(w)}  ${'source'.padEnd(11)}  ${'variant'.padEnd(7)}  ${'params'.padStart(11)}  ${'GMACs'.padStart(7)}  input\n`);
    for (const m of models) {
      process.stdout.write(
        `${m.name.padEnd(w)}  ${m.source.padEnd(11)}  ${m.variant.padEnd(7)}  ${m.params.toLocaleString('en-US').padStart(11)}  ${(m.macs / 1e9).toFixed(3).padStart(7)}  ${m.inputSize}\n`,
      );
    }
  },
};
