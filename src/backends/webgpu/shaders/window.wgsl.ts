/**
 * The sliding-window geometry shared by the conv and pooling shaders: WGSL `override` constants,
 * and the values kernels.ts gives them (per axis: kernel, stride, leading pad, dilation).
 */
export const windowOverridesWgsl: string = /* wgsl */ `
override KH: u32;
override KW: u32;
override SH: u32;
override SW: u32;
override PAD_T: u32;
override PAD_L: u32;
override DH: u32;
override DW: u32;
`;

/** The window overrides' values: [height, width] pairs, pads as [top, left]. */
export function windowConstants(
  kernel: readonly [number, number],
  stride: readonly [number, number],
  pads: readonly [number, number],
  dilation: readonly [number, number],
): Record<'KH' | 'KW' | 'SH' | 'SW' | 'PAD_T' | 'PAD_L' | 'DH' | 'DW', number> {
  return {
    KH: kernel[0],
    KW: kernel[1],
    SH: stride[0],
    SW: stride[1],
    PAD_T: pads[0],
    PAD_L: pads[1],
    DH: dilation[0],
    DW: dilation[1],
  };
}
