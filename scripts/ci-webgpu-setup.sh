#!/usr/bin/env bash
# What CI needs for the WebGPU tests on a machine without a GPU (idempotent; run it as root):
#   - chromium: headless Chromium for test/browser/ (WebGPU there falls back to its SwiftShader),
#     and it ships the SwiftShader Vulkan driver, /usr/lib/chromium/vk_swiftshader_icd.json, that
#     Dawn (the optional `webgpu` npm package) uses in Node;
#   - libvulkan1: the Vulkan loader Dawn opens (libvulkan.so.1);
#   - the npm packages: `webgpu` (optionalDependency) and `playwright-core` (devDependency) come with
#     `npm ci`; this script checks that they are there and never downloads a browser through
#     playwright.
# It exports nothing. The tests and the backend set VK_ICD_FILENAMES themselves when Node finds no
# adapter and the variable is unset (src/backends/webgpu/gpu.ts); to pick a driver by hand:
#   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json npx vitest run test/webgpu.test.ts
# Chromium is looked up at $CHROMIUM_PATH, default /usr/bin/chromium.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -e /usr/lib/x86_64-linux-gnu/libvulkan.so.1 ] || [ -e /usr/lib/aarch64-linux-gnu/libvulkan.so.1 ] || need+=(libvulkan1)
if [ "${#need[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

[ -e /usr/lib/chromium/vk_swiftshader_icd.json ] || { echo "ci-webgpu-setup: SwiftShader ICD missing from the chromium package" >&2; exit 1; }

cd "$(dirname "$0")/.."
node -e "import('webgpu').then(() => import('playwright-core'))" 2>/dev/null || {
  # Installs what package.json and package-lock.json pin, nothing new (under a lock when several
  # jobs share the tree).
  lock=()
  command -v flock >/dev/null 2>&1 && lock=(flock /tmp/npm.lock)
  "${lock[@]}" npm install --no-save --include=optional --include=dev >/dev/null
}
# Dawn must now see the software adapter (the same fallback as src/backends/webgpu/gpu.ts).
adapter=$(node --input-type=module -e "
  process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';
  const { create } = await import('webgpu');
  const a = await create([]).requestAdapter();
  if (!a) { console.error('ci-webgpu-setup: Dawn found no adapter'); process.exit(1); }
  console.log([a.info.vendor, a.info.architecture, a.info.description].filter(Boolean).join(' / '));
" 2>/dev/null | tail -1) || { echo "ci-webgpu-setup: Dawn (npm webgpu) found no adapter even with SwiftShader" >&2; exit 1; }
echo "ci-webgpu-setup: $(chromium --version 2>/dev/null | head -1); Node WebGPU adapter: ${adapter}"
