/**
 * WGSL shared by the one-thread-per-element kernels: the flat element index of a 1-D problem that
 * was dispatched on a 2-D grid (one grid axis stops at 65535 workgroups, see `gridFor` in ../plan.ts).
 */
export const ELEMENTWISE_WORKGROUP = 64;

export const flatIndexWgsl: string = /* wgsl */ `
const WG: u32 = ${ELEMENTWISE_WORKGROUP}u;

fn flatIndex(wid: vec3u, nwg: vec3u, lid: vec3u) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG + lid.x;
}
`;
