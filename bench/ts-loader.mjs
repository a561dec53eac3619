// `node --import ./bench/ts-loader.mjs script.mjs`: lets a bench script import src/*.ts directly.
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
