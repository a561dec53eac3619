"""Golden activations from PyTorch for `resnet verify --golden`, on random weights (no download).

    python3 bench/gpu/golden.py OUT_DIR [model,model,...]

For each model (torchvision or timm, random init with randomised BatchNorm statistics so that the
folded BN is exercised): OUT_DIR/<model>/x.npy (a seeded input), w.pth (the state dict, as
torch.save writes it), acts.safetensors (the stem, block, stage, pool and fc outputs, computed in
float64 on the CPU, stored as float32) and y.npy (the logits). With CUDA it also records, in
OUT_DIR/torch.json, how far PyTorch's own float32 CUDA forward (TF32 off) is from its float64 one,
and its CUDA latency for ResNet-18/50 at batch 1, 8 and 32 (eager, output copied back), for context.
Needs torch, torchvision, safetensors, numpy, and timm for the timm models.
"""
import json, os, sys, time

import numpy as np
import torch
import torchvision
from safetensors.torch import save_file

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False

MODELS = [('resnet18', 'tv', 2), ('resnet50', 'tv', 2), ('resnext50_32x4d', 'tv', 1), ('wide_resnet50_2', 'tv', 1),
          ('resnet152', 'tv', 1), ('resnet50d', 'timm', 2), ('resnet50s', 'timm', 1)]
out = sys.argv[1]
chosen = [m for m in MODELS if len(sys.argv) < 3 or m[0] in sys.argv[2].split(',')]
cuda = torch.cuda.is_available()
report = {}
for name, lib, batch in chosen:
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)() if lib == 'tv' else __import__('timm').create_model(name, pretrained=False)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                c = mod.num_features
                mod.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
                mod.running_var.copy_(torch.rand(c, generator=g) + 0.5)
                mod.weight.copy_(torch.rand(c, generator=g) + 0.5)
                mod.bias.copy_(torch.randn(c, generator=g) * 0.1)
    model.eval()
    x = torch.randn(batch, 3, 224, 224, generator=g)
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, 'x.npy'), x.numpy())
    torch.save(model.state_dict(), os.path.join(d, 'w.pth'))
    acts = {}
    for path, mod in model.named_modules():
        # Stem, blocks, stages, pool, fc; not the inside of a deep stem or of timm's pool.
        if path and path.count('.') <= 1 and not path.startswith(('conv1.', 'global_pool.')):
            mod.register_forward_hook(lambda m, i, o, path=path: acts.__setitem__(path, o.detach().clone()))
    with torch.no_grad():
        y64 = model.double()(x.double())
    save_file({k: v.float().contiguous() for k, v in acts.items()}, os.path.join(d, 'acts.safetensors'))
    np.save(os.path.join(d, 'y.npy'), y64.float().numpy())
    r = {'batch': batch, 'goldenTensors': len(acts)}
    if cuda:
        mc = model.float().cuda()
        with torch.no_grad():
            yc = mc(x.cuda()).double().cpu()
            r['torchCudaFp32MaxAbsOverMax'] = float((yc - y64).abs().max() / y64.abs().max())
            if name in ('resnet18', 'resnet50'):
                for b in (1, 8, 32):
                    xb = torch.randn(b, 3, 224, 224, device='cuda')
                    for _ in range(5):
                        mc(xb)
                    torch.cuda.synchronize()
                    times = []
                    for _ in range(20):
                        t = time.perf_counter()
                        mc(xb).cpu()
                        times.append((time.perf_counter() - t) * 1e3)
                    r[f'torchCudaFp32MedianMs_b{b}'] = float(np.median(times))
    report[name] = r
    print(name, r, flush=True)
with open(os.path.join(out, 'torch.json'), 'w') as f:
    json.dump(report, f, indent=1)
