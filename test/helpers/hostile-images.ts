/**
 * Crafted image files for issue 17's hostile-input classes (items 1, 2 and 6): each is small and either
 * valid but expensive (extreme aspect ratio, huge dimensions) or damaged in the way that used to cost
 * time or memory. Built here, byte by byte, so that the tests say exactly what each file holds.
 */
import { deflateSync } from 'node:zlib';
import { concatBytes, PNG_SIGNATURE, pngChunk, u32 } from './png-bytes.js';

export { concatBytes, pngChunk } from './png-bytes.js';


/** A PNG of the given header whose IDAT holds `idat` as it is (a zlib stream, or not). */
export function pngWithIdat(width: number, height: number, depth: number, colourType: number, idat: ArrayLike<number>): Uint8Array {
  return concatBytes(
    PNG_SIGNATURE,
    pngChunk('IHDR', [...u32(width), ...u32(height), depth, colourType, 0, 0, 0]),
    pngChunk('IDAT', idat),
    pngChunk('IEND', []),
  );
}

/** A valid 8-bit greyscale PNG, every sample `value`, filter None on every row. */
export function flatGreyPng(width: number, height: number, value = 128): Uint8Array {
  const raw = new Uint8Array(height * (width + 1));
  for (let y = 0; y < height; y++) raw.fill(value, y * (width + 1) + 1, (y + 1) * (width + 1));
  return pngWithIdat(width, height, 8, 0, deflateSync(raw, { level: 9 }));
}

/** A baseline JPEG (greyscale, or 4:4:4 YCbCr) of width x height, every block DC 0 (mid grey), 3 bits per 8x8 block; `scanBytes` cuts the scan. */
export function flatGreyJpeg(width: number, height: number, scanBytes?: number, components: 1 | 3 = 1): Uint8Array {
  const seg = (marker: number, body: number[]): number[] => [0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 255, ...body];
  const ids = components === 1 ? [1] : [1, 2, 3];
  const blocks = Math.ceil(width / 8) * Math.ceil(height / 8) * components;
  // Each block is DC code '00' (diff 0) then AC '0' (EOB): 3 zero bits; pad the last byte with 1s.
  let scan = new Uint8Array(Math.ceil((blocks * 3) / 8));
  const bits = blocks * 3;
  if (bits % 8 !== 0) scan[scan.length - 1] = (1 << (8 - (bits % 8))) - 1;
  if (scanBytes !== undefined) scan = scan.subarray(0, scanBytes);
  return concatBytes(
    [0xff, 0xd8],
    seg(0xdb, [0x00, ...Array<number>(64).fill(1)]),
    seg(0xc0, [8, height >> 8, height & 255, width >> 8, width & 255, components, ...ids.flatMap((id) => [id, 0x11, 0])]),
    seg(0xc4, [0x00, 0, 1, ...Array<number>(14).fill(0), 0x00]), // DC table: '00' -> 0
    seg(0xc4, [0x10, 1, ...Array<number>(15).fill(0), 0x00]), // AC table: '0' -> EOB
    seg(0xda, [components, ...ids.flatMap((id) => [id, 0x00]), 0, 63, 0]),
    scan,
    scanBytes === undefined ? [0xff, 0xd9] : [],
  );
}

/** One crafted file per hostile class, with what the CLI must do with it. */
export interface HostileImage {
  readonly name: string;
  readonly file: string;
  readonly bytes: Uint8Array;
  /** What stderr must say (the named error), when it fails. */
  readonly error: RegExp;
}

export function hostileImages(): HostileImage[] {
  return [
    {
      // Item 1: a tiny PNG whose IDAT is not a zlib stream (the old native sync inflate aborted on such files).
      name: 'PNG with a corrupt zlib stream (item 1)',
      file: 'corrupt-zlib.png',
      bytes: pngWithIdat(1, 1, 8, 2, [0x78, 0x9c, 0xff, 0xff, 0xff, 0xff, 0x00, 0x01, 0x02]),
      error: /corrupt|truncated|expected/,
    },
    {
      // Item 2: 30000x30000 declared in a 69-byte file.
      name: '30000x30000 PNG, 69 bytes (item 2)',
      file: 'huge.png',
      bytes: pngWithIdat(30000, 30000, 8, 2, deflateSync(new Uint8Array(4))),
      error: /900000000 pixels, over the limit/,
    },
    {
      // Item 2: 10000x10000 16-bit RGB (600 MB of scanlines) with a few bytes of image data.
      name: '10000x10000 16-bit PNG, image data missing (item 2)',
      file: 'missing-data.png',
      bytes: pngWithIdat(10000, 10000, 16, 2, deflateSync(new Uint8Array(4))),
      error: /at most .* bytes.*IHDR implies|truncated/,
    },
    {
      // Item 6: valid, 2 KB, but resizing the short side to 256 makes a 256 x 5,120,000 image.
      name: 'valid 1x20000 JPEG (item 6)',
      file: 'tall.jpg',
      bytes: flatGreyJpeg(1, 20000),
      error: /resizing .* over the limit of maxResizePixels = 25000000/,
    },
    {
      // Item 6: valid, ~150 bytes, 1x40000: the resize target is 256 x 10,240,000 (7.9 GB of RGB).
      name: 'valid 1x40000 PNG (item 6)',
      file: 'tall.png',
      bytes: flatGreyPng(1, 40000),
      error: /resizing .* over the limit of maxResizePixels = 25000000/,
    },
    {
      name: 'valid 40000x1 PNG (item 6, wide)',
      file: 'wide.png',
      bytes: flatGreyPng(40000, 1),
      error: /resizing .* over the limit of maxResizePixels = 25000000/,
    },
    {
      // A 100-megapixel frame header with 100 bytes of scan data.
      name: '10000x10000 JPEG, scan data cut to 100 bytes',
      file: 'truncated-big.jpg',
      bytes: flatGreyJpeg(10000, 10000, 100),
      // The exact decoder finds the scan truncated at once; jpeg-js used to spend 8 s and 1 GB on it.
      error: /truncated.*the jpeg-js fallback takes frames up to maxFallbackPixels = 25000000, this one is 10000x10000/,
    },
  ];
}
