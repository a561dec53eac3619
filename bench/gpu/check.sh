#!/usr/bin/env bash
# WebGPU on a real GPU, from a built checkout (npm install done; the optional `webgpu` package present):
#   bash bench/gpu/check.sh [OUT_DIR]
# 1. test/webgpu.test.ts under CI=true (a missing adapter fails), with RESNET_CONFORMANCE_DIR if set;
# 2. where python3 has torch: PyTorch float64 goldens (bench/gpu/golden.py) and `resnet verify`
#    on webgpu and wasm, every module of every model (MODELS=resnet18,resnet50 picks some);
# 3. `resnet bench --backend webgpu` at batch 1 and 8, and the wasm backend on 1, 2, 4 and 8 threads.
# Pick the Vulkan driver with VK_ICD_FILENAMES (Dawn's Node binding runs on Vulkan on Linux).
set -u
out=${1:-/tmp/resnet-gpu-check}; mkdir -p "$out"
cd "$(dirname "$0")/../.."
R="node dist/cli/main.js"
step() { echo; echo "=== $* ($(date +%T))"; }
summary='const r=JSON.parse(require("fs").readFileSync(0,"utf8"));const t=r.tensors;console.log("pass="+r.pass,"tensors="+t.length,"worst="+Math.max(...t.map(e=>e.relToMax)).toExponential(2),"logits="+t[t.length-1].relToMax.toExponential(2),"top1Agree="+t[t.length-1].topK.top1Agree+"/"+t[t.length-1].topK.rows)'

step "adapter"
node -e "import('./dist/index.node.js').then(async (r) => console.log(JSON.stringify(await r.webgpuAvailability())))"

step "test/webgpu.test.ts"
CI=true node node_modules/vitest/vitest.mjs run test/webgpu.test.ts > "$out/webgpu-test.log" 2>&1; echo "rc=$?"
grep -E "max\|diff\||Tests " "$out/webgpu-test.log"

if python3 -c 'import torch, torchvision, safetensors' 2>/dev/null; then
  step "PyTorch float64 goldens, resnet verify (max |ours - golden| / max |golden| over every module)"
  python3 bench/gpu/golden.py "$out/golden" ${MODELS:-} 2>&1 | grep -v Warning
  for d in "$out"/golden/*/; do
    m=$(basename "$d")
    for b in webgpu wasm; do
      echo "$m $b: $($R verify --model "$m" --weights "$d/w.pth" --input "$d/x.npy" --golden "$d/acts.safetensors" --backend $b --json 2>/dev/null | node -e "$summary")"
    done
  done
else
  echo "(no torch: skipping the PyTorch goldens)"
fi

step "resnet bench"
for mb in resnet50:1 resnet50:8 resnet18:1 resnet18:8 resnet152:1 resnext50_32x4d:8; do
  m=${mb%:*}; b=${mb#*:}
  echo "$m batch $b webgpu: $($R bench --model "$m" --backend webgpu --batch "$b" --runs 30 --json 2>/dev/null | node -e 'const r=JSON.parse(require("fs").readFileSync(0,"utf8"));console.log(r.medianMs.toFixed(2)+" ms, p90 "+r.p90Ms.toFixed(2)+", "+r.imagesPerSecond.toFixed(0)+" images/s")')"
done
for t in 1 2 4 8; do
  echo "resnet50 batch 1 wasm $t threads: $($R bench --model resnet50 --threads $t --runs 10 --json 2>/dev/null | node -e 'const r=JSON.parse(require("fs").readFileSync(0,"utf8"));console.log(r.medianMs.toFixed(1)+" ms")')"
done
