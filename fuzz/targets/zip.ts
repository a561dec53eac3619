/** Fuzz target: the zip container of torch.save (weights/zip.ts): directory, then every entry's data and CRC. */
import { readZipDirectory, zipEntryData } from '../../src/weights/zip.js';
import { fuzzEntry, type Target } from '../outcome.js';

export const target: Target = {
  name: 'zip',
  reads: 'readZipDirectory, then zipEntryData of every entry (src/weights/zip.ts)',
  parse(bytes) {
    for (const entry of readZipDirectory(bytes)) zipEntryData(bytes, entry);
  },
};

export const fuzz = fuzzEntry(target);
