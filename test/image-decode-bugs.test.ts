/**
 * decodeImage names a bad file with ImageDecodeError, but a bug of ours inside the JPEG decoder (a
 * TypeError, say) must reach the caller as it is, not be reported as a damaged file (issue 17's
 * fuzzing note: wrapping it hid real bugs from the fuzz targets and users alike).
 */
import { describe, expect, it, vi } from 'vitest';

const mode = vi.hoisted(() => ({ throws: 'bug' as 'bug' | 'corrupt' }));
vi.mock('../src/image/jpeg-baseline.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../src/image/jpeg-baseline.js')>()),
  decodeJpegExact: () => {
    if (mode.throws === 'bug') throw new TypeError("Cannot read properties of undefined (reading 'length')");
    throw new Error('JPEG file ends inside a marker segment');
  },
}));

const { decodeImage, ImageDecodeError } = await import('../src/image/decode.js');
const JPEG = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);

describe('decodeImage: decoder bugs are not reported as bad files', () => {
  it('a TypeError from the decoder passes through unwrapped', async () => {
    mode.throws = 'bug';
    const e = await decodeImage(JPEG).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TypeError);
    expect(e).not.toBeInstanceOf(ImageDecodeError);
  });

  it("the decoder's own refusal of a damaged file is still an ImageDecodeError naming it", async () => {
    mode.throws = 'corrupt';
    await expect(decodeImage(JPEG, { name: 'x.jpg' })).rejects.toThrow(new ImageDecodeError("cannot decode JPEG 'x.jpg': JPEG file ends inside a marker segment"));
  });
});
