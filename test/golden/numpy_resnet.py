#!/usr/bin/env python3
"""An independent float64 numpy forward pass of the ResNet family, used as a golden reference.

It shares no code with resnet-ts: it was written from the libraries' documented semantics
(see README.md in this folder) and writes, for one model with seeded random weights:

  weights.safetensors   torchvision / timm / akamaster names (akamaster keys keep 'module.')
  weights.pdparams      PaddleClas names, a protocol-4 pickle as paddle.save writes it
  input.npy             float32 [N, 3, H, W]
  logits.npy            float32 [N, K]
  acts.safetensors      every module output a forward hook on named_modules() sees (stem parts,
                        blocks, stages, pooling, head), float32, named by module path

usage: numpy_resnet.py --model resnet50d --batch 2 --size 33 [--size 33x65] --seed 0 --out DIR
       [--num-classes 10]        numpy_resnet.py --list

Weights are float32 (what the files hold) and the forward pass runs in float64 on those values,
so the only differences left are the other side's rounding.
"""
import argparse
import json
import os
import pickle
import struct
import sys

# Single-threaded BLAS: the matrices here are small, and on a busy machine OpenBLAS threads spin
# for far longer than the work takes.
for _var in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ.setdefault(_var, '1')

import numpy as np  # noqa: E402 (after the thread settings, which numpy reads on import)

BN_EPS = 1e-5  # torch nn.BatchNorm2d and paddle.nn.BatchNorm both default to 1e-5


# ----------------------------------------------------------------------------------------------
# Ops, all on float64 NCHW arrays
# ----------------------------------------------------------------------------------------------

def conv2d(x, w, stride, pad, groups=1):
    """Cross-correlation, weight OIHW with I = C / groups, zero padding `pad` on every side.
    im2col: columns [N, groups, Cg*kh*kw, Ho*Wo] in (channel, tap) order, the order of
    w.reshape(O, Cg*kh*kw)."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    assert c == cg * groups, f'conv: input has {c} channels, weight expects {cg} x {groups} groups'
    ho = (h + 2 * pad - kh) // stride + 1
    wo = (wd + 2 * pad - kw) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    taps = [xp[:, :, i:i + stride * (ho - 1) + 1:stride, j:j + stride * (wo - 1) + 1:stride]
            for i in range(kh) for j in range(kw)]
    cols = np.stack(taps, axis=2)  # [N, C, kh*kw, Ho, Wo]
    cols = cols.reshape(n, groups, cg * kh * kw, ho * wo)
    wm = w.reshape(groups, o // groups, cg * kh * kw)
    out = np.matmul(wm[None], cols)  # [N, groups, O/groups, Ho*Wo]
    return out.reshape(n, o, ho, wo)


def batchnorm(x, gamma, beta, mean, var):
    """Inference BN: (x - mean) / sqrt(var + eps) * gamma + beta, per channel."""
    s = (gamma / np.sqrt(var + BN_EPS))[None, :, None, None]
    return (x - mean[None, :, None, None]) * s + beta[None, :, None, None]


def relu(x):
    return np.maximum(x, 0.0)


def maxpool_3x3_s2_p1(x):
    """MaxPool2d(3, 2, 1), floor mode: padding never wins (it is -inf)."""
    n, c, h, w = x.shape
    ho, wo = (h + 2 - 3) // 2 + 1, (w + 2 - 3) // 2 + 1
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    out = np.full((n, c, ho, wo), -np.inf)
    for i in range(3):
        for j in range(3):
            out = np.maximum(out, xp[:, :, i:i + 2 * (ho - 1) + 1:2, j:j + 2 * (wo - 1) + 1:2])
    return out


def ceil_pool_size(size, k, s):
    """Output size of a pool with padding 0 and ceil_mode=True, torch's rule: ceil((size-k)/s)+1,
    minus one if the last window would start past the input (it cannot, with padding 0, when
    k >= s; kept for clarity)."""
    out = -(-(size - k) // s) + 1
    if (out - 1) * s >= size:
        out -= 1
    return out


def avgpool_2x2_s2_ceil_exclusive(x):
    """AvgPool2d(2, 2, ceil_mode=True, count_include_pad=False) (timm 'd' downsample) and Paddle's
    AvgPool2D(2, 2, padding 0 or 'SAME', ceil_mode=True, exclusive=True): on odd sizes the last
    row/column window holds one input row/column and divides by what it holds."""
    n, c, h, w = x.shape
    ho, wo = ceil_pool_size(h, 2, 2), ceil_pool_size(w, 2, 2)
    ph, pw = 2 * ho - h, 2 * wo - w  # overhang past the bottom / right edge
    xp = np.pad(x, ((0, 0), (0, 0), (0, ph), (0, pw)))
    ones = np.pad(np.ones((h, w)), ((0, ph), (0, pw)))
    total = np.zeros((n, c, ho, wo))
    count = np.zeros((ho, wo))
    for i in range(2):
        for j in range(2):
            total += xp[:, :, i::2, j::2]
            count += ones[i::2, j::2]
    return total / count


def shortcut_option_a(x, planes):
    """akamaster option A: x[:, :, ::2, ::2], then planes//4 zero channels before and after."""
    sub = x[:, :, ::2, ::2]
    p = planes // 4
    return np.pad(sub, ((0, 0), (p, p), (0, 0), (0, 0)))


def global_avgpool(x):
    return x.mean(axis=(2, 3))


# ----------------------------------------------------------------------------------------------
# Weights: created on first use in forward order, rounded to float32, named per library
# ----------------------------------------------------------------------------------------------

class Weights:
    """style 'torch': BN {weight, bias, running_mean, running_var[, num_batches_tracked]},
    Linear weight [out, in]. style 'paddle': BN {weight, bias, _mean, _variance}, Linear
    weight [in, out]."""

    def __init__(self, seed, style, batches_tracked=True):
        self.rng = np.random.default_rng(seed)
        self.style = style
        self.batches_tracked = batches_tracked
        self.tensors = {}  # name -> float32 ndarray (or int64 scalar), insertion order = creation

    def _add(self, name, arr):
        assert name not in self.tensors, f'duplicate key {name}'
        self.tensors[name] = arr
        return arr.astype(np.float64)

    def conv(self, name, cout, cin_per_group, k):
        fan_in = cin_per_group * k * k
        w = self.rng.standard_normal((cout, cin_per_group, k, k), dtype=np.float32)
        return self._add(name, w * np.float32(np.sqrt(1.0 / fan_in)))

    def bn(self, prefix, c):
        r = self.rng
        gamma = self._add(prefix + '.weight', r.uniform(0.5, 1.0, c).astype(np.float32))
        beta = self._add(prefix + '.bias', r.uniform(-0.2, 0.2, c).astype(np.float32))
        stats = ('running_mean', 'running_var') if self.style == 'torch' else ('_mean', '_variance')
        mean = self._add(f'{prefix}.{stats[0]}', r.uniform(-0.2, 0.2, c).astype(np.float32))
        var = self._add(f'{prefix}.{stats[1]}', r.uniform(0.5, 1.5, c).astype(np.float32))
        if self.style == 'torch' and self.batches_tracked:
            self.tensors[prefix + '.num_batches_tracked'] = np.array(12345, dtype=np.int64)
        return gamma, beta, mean, var

    def linear(self, prefix, cin, cout):
        """Returns (weight [out, in], bias) whatever the stored layout."""
        w = self.rng.uniform(-1.0, 1.0, (cout, cin)) * np.sqrt(3.0 / cin)
        b = self.rng.uniform(-0.1, 0.1, cout)
        stored = w if self.style == 'torch' else w.T  # paddle.nn.Linear stores [in, out]
        stored = self._add(prefix + '.weight', np.ascontiguousarray(stored).astype(np.float32))
        bias = self._add(prefix + '.bias', b.astype(np.float32))
        return (stored if self.style == 'torch' else stored.T), bias


# Module outputs in the order forward hooks fire (a container's after its children), by module
# path as the library's named_modules() / named_sublayers() gives it. Reset by main().
ACTS = {}


def rec(name, x):
    assert name not in ACTS, f'module output {name} recorded twice'
    ACTS[name] = x
    return x


def conv_bn(W, x, conv_key, bn_prefix, cout, k, stride=1, groups=1, act=True, names=(None, None, None)):
    """Conv (no bias) + BN (+ ReLU); `names` = module paths of the conv, BN and ReLU outputs to record."""
    w = W.conv(conv_key, cout, x.shape[1] // groups, k)
    c = conv2d(x, w, stride, k // 2, groups)
    if names[0]:
        rec(names[0], c)
    y = batchnorm(c, *W.bn(bn_prefix, cout))
    if names[1]:
        rec(names[1], y)
    if act:
        y = relu(y)
        if names[2]:
            rec(names[2], y)
    return y


def classifier(W, x, key, num_classes):
    """Linear on pooled features x [N, C]."""
    w, b = W.linear(key, x.shape[1], num_classes)
    return rec(key, x @ w.T + b)


def keepdims(x):
    """[N, C] -> [N, C, 1, 1]: what AdaptiveAvgPool2d(1) returns before the flatten."""
    return x[:, :, None, None]


# ----------------------------------------------------------------------------------------------
# torchvision / timm (torch key names)
# see: torchvision/models/resnet.py (ResNet, BasicBlock, Bottleneck: "ResNet V1.5", stride on 3x3)
#      timm/models/resnet.py (stem_type='deep', avg_down -> downsample_avg with AvgPool2d at index 0)
#      He et al. 2016 (va: stride on the first 1x1); Bag of Tricks, arXiv 1812.01187 (b/c/d)
# ----------------------------------------------------------------------------------------------

def torch_resnet(W, x, cfg, num_classes):
    # stem (timm calls the stem ReLU act1; torchvision relu)
    timm = cfg.get('timm', False)
    if cfg.get('stem_width'):  # timm: conv1 = Sequential(conv, bn, act, conv, bn, act, conv), then bn1, act1
        sw = cfg['stem_width']
        x = conv_bn(W, x, 'conv1.0.weight', 'conv1.1', sw, 3, stride=2, names=('conv1.0', 'conv1.1', 'conv1.2'))
        x = conv_bn(W, x, 'conv1.3.weight', 'conv1.4', sw, 3, names=('conv1.3', 'conv1.4', 'conv1.5'))
        w = W.conv('conv1.6.weight', 2 * sw, sw, 3)
        c = rec('conv1.6', conv2d(x, w, 1, 1))
        rec('conv1', c)
        x = rec('act1', relu(rec('bn1', batchnorm(c, *W.bn('bn1', 2 * sw)))))
    else:
        x = conv_bn(W, x, 'conv1.weight', 'bn1', 64, 7, stride=2, names=('conv1', 'bn1', 'act1' if timm else 'relu'))
    x = rec('maxpool', maxpool_3x3_s2_p1(x))

    bottleneck = cfg['block'] == 'bottleneck'
    expansion = 4 if bottleneck else 1
    groups, base_width = cfg.get('groups', 1), cfg.get('base_width', 64)
    for s, blocks in enumerate(cfg['layers']):
        planes = 64 * 2 ** s
        for i in range(blocks):
            p = f'layer{s + 1}.{i}'
            stride = 2 if s > 0 and i == 0 else 1
            if bottleneck:
                width = (planes * base_width // 64) * groups
                s1, s2 = (stride, 1) if cfg.get('stride_on_1x1') else (1, stride)
                out = conv_bn(W, x, f'{p}.conv1.weight', f'{p}.bn1', width, 1, stride=s1)
                out = conv_bn(W, out, f'{p}.conv2.weight', f'{p}.bn2', width, 3, stride=s2, groups=groups)
                out = conv_bn(W, out, f'{p}.conv3.weight', f'{p}.bn3', planes * 4, 1, act=False)
            else:
                out = conv_bn(W, x, f'{p}.conv1.weight', f'{p}.bn1', planes, 3, stride=stride)
                out = conv_bn(W, out, f'{p}.conv2.weight', f'{p}.bn2', planes, 3, act=False)
            if stride != 1 or x.shape[1] != planes * expansion:
                if cfg.get('avg_down'):  # Sequential(AvgPool2d or Identity, conv1x1 s1, BN)
                    pooled = avgpool_2x2_s2_ceil_exclusive(x) if stride > 1 else x
                    short = conv_bn(W, pooled, f'{p}.downsample.1.weight', f'{p}.downsample.2',
                                    planes * expansion, 1, act=False)
                else:  # Sequential(conv1x1 with the stride, BN)
                    short = conv_bn(W, x, f'{p}.downsample.0.weight', f'{p}.downsample.1',
                                    planes * expansion, 1, stride=stride, act=False)
            else:
                short = x
            x = rec(p, relu(out + short))
        rec(f'layer{s + 1}', x)
    pooled = global_avgpool(x)
    if timm:  # SelectAdaptivePool2d: pool = AdaptiveAvgPool2d(1), flatten = nn.Flatten(1)
        rec('global_pool.pool', keepdims(pooled))
        rec('global_pool.flatten', pooled)
        rec('global_pool', pooled)
    else:
        rec('avgpool', keepdims(pooled))
    return classifier(W, pooled, 'fc', num_classes)


# ----------------------------------------------------------------------------------------------
# PaddleClas legendary_models/resnet.py: ConvBNLayer at path p holds p.conv and p.bn; blocks are
# numbered globally (blocks.0 ..); block 0 of EVERY stage has `short` (use_first_short_conv), so
# ResNet18/34 carry a 64->64 stride-1 projection in stage 1; vd puts AvgPool2D(2, stride, 'SAME',
# ceil_mode) before a stride-1 1x1 in every short except stage 1 block 0 (if_first).
# ----------------------------------------------------------------------------------------------

def paddle_legendary(W, x, cfg, num_classes):
    vd = cfg['version'] == 'vd'
    stem = [(32, 3, 2), (32, 3, 1), (64, 3, 1)] if vd else [(64, 7, 2)]
    for j, (cout, k, stride) in enumerate(stem):  # each ConvBNLayer ends with its ReLU
        x = rec(f'stem.{j}', conv_bn(W, x, f'stem.{j}.conv.weight', f'stem.{j}.bn', cout, k, stride=stride))
    rec('stem', x)
    x = rec('max_pool', maxpool_3x3_s2_p1(x))

    bottleneck = cfg['block'] == 'bottleneck'
    g = 0
    for s, blocks in enumerate(cfg['layers']):
        nf = 64 * 2 ** s
        cout = nf * 4 if bottleneck else nf
        for i in range(blocks):
            p = f'blocks.{g}'
            stride = 2 if s > 0 and i == 0 else 1
            if bottleneck:
                out = conv_bn(W, x, f'{p}.conv0.conv.weight', f'{p}.conv0.bn', nf, 1)
                out = conv_bn(W, out, f'{p}.conv1.conv.weight', f'{p}.conv1.bn', nf, 3, stride=stride)
                out = conv_bn(W, out, f'{p}.conv2.conv.weight', f'{p}.conv2.bn', cout, 1, act=False)
            else:
                out = conv_bn(W, x, f'{p}.conv0.conv.weight', f'{p}.conv0.bn', nf, 3, stride=stride)
                out = conv_bn(W, out, f'{p}.conv1.conv.weight', f'{p}.conv1.bn', nf, 3, act=False)
            if i == 0:
                if vd and s > 0:  # if_first keeps stage 1's short a plain 1x1
                    pooled = avgpool_2x2_s2_ceil_exclusive(x)  # the stride is 2 here
                    short = conv_bn(W, pooled, f'{p}.short.conv.weight', f'{p}.short.bn', cout, 1, act=False)
                else:
                    short = conv_bn(W, x, f'{p}.short.conv.weight', f'{p}.short.bn', cout, 1,
                                    stride=stride, act=False)
            else:
                short = x
            x = rec(p, relu(out + short))
            g += 1
    rec('blocks', x)
    pooled = global_avgpool(x)
    rec('avg_pool', keepdims(pooled))
    rec('flatten', pooled)
    return classifier(W, pooled, 'fc', num_classes)


# ----------------------------------------------------------------------------------------------
# PaddleClas model_zoo/resnext_vd.py: ConvBNLayer at p holds p._conv and p._batch_norm; deep stem
# conv1_1..3; blocks bb_{stage}_{i} with conv0 1x1, conv1 3x3 grouped with the stride, conv2 1x1;
# `short` in block 0 of every stage: a stride-1 1x1, after AvgPool2D(2, 2, ceil_mode) except in
# stage 1 (if_first); head `out`, weight [in, out].
# ----------------------------------------------------------------------------------------------

def paddle_resnext_vd(W, x, cfg, num_classes):
    card = cfg['cardinality']
    x = rec('conv1_1', conv_bn(W, x, 'conv1_1._conv.weight', 'conv1_1._batch_norm', 32, 3, stride=2))
    x = rec('conv1_2', conv_bn(W, x, 'conv1_2._conv.weight', 'conv1_2._batch_norm', 32, 3))
    x = rec('conv1_3', conv_bn(W, x, 'conv1_3._conv.weight', 'conv1_3._batch_norm', 64, 3))
    x = rec('pool2d_max', maxpool_3x3_s2_p1(x))

    num_filters = [128, 256, 512, 1024] if card == 32 else [256, 512, 1024, 2048]
    for s, blocks in enumerate(cfg['layers']):
        nf = num_filters[s]
        cout = nf * 2 if card == 32 else nf
        for i in range(blocks):
            p = f'bb_{s}_{i}'
            stride = 2 if s > 0 and i == 0 else 1
            out = conv_bn(W, x, f'{p}.conv0._conv.weight', f'{p}.conv0._batch_norm', nf, 1)
            out = conv_bn(W, out, f'{p}.conv1._conv.weight', f'{p}.conv1._batch_norm', nf, 3,
                          stride=stride, groups=card)
            out = conv_bn(W, out, f'{p}.conv2._conv.weight', f'{p}.conv2._batch_norm', cout, 1, act=False)
            if i == 0:
                src = x if s == 0 else avgpool_2x2_s2_ceil_exclusive(x)
                short = conv_bn(W, src, f'{p}.short._conv.weight', f'{p}.short._batch_norm', cout, 1, act=False)
            else:
                short = x
            x = rec(p, relu(out + short))
    pooled = global_avgpool(x)
    rec('pool2d_avg', keepdims(pooled))
    return classifier(W, pooled, 'out', num_classes)


# ----------------------------------------------------------------------------------------------
# akamaster/pytorch_resnet_cifar10 resnet.py, keys as its DataParallel checkpoints hold them
# ('module.' prefix, head 'linear'); option A shortcuts, no maxpool, 3 stages of 16/32/64.
# ----------------------------------------------------------------------------------------------

def cifar_resnet(W, x, cfg, num_classes):
    # the model's own module paths have no 'module.' (only the DataParallel checkpoints do); its
    # ReLUs and the pooling are functions (F.relu, F.avg_pool2d), which no hook sees
    x = conv_bn(W, x, 'module.conv1.weight', 'module.bn1', 16, 3, names=('conv1', 'bn1', None))
    for s in range(3):
        planes = 16 * 2 ** s
        for i in range(cfg['n']):
            p = f'module.layer{s + 1}.{i}'
            stride = 2 if s > 0 and i == 0 else 1
            out = conv_bn(W, x, f'{p}.conv1.weight', f'{p}.bn1', planes, 3, stride=stride)
            out = conv_bn(W, out, f'{p}.conv2.weight', f'{p}.bn2', planes, 3, act=False)
            short = shortcut_option_a(x, planes) if stride != 1 or x.shape[1] != planes else x
            x = rec(f'layer{s + 1}.{i}', relu(out + short))
        rec(f'layer{s + 1}', x)
    # F.avg_pool2d(out, out.size()[3]) is the global mean on the square inputs used here
    assert x.shape[2] == x.shape[3], 'the CIFAR head pools a square map'
    w, b = W.linear('module.linear', x.shape[1], num_classes)
    return rec('linear', global_avgpool(x) @ w.T + b)


# ----------------------------------------------------------------------------------------------
# The model table: name -> (builder, weight style, config)
# ----------------------------------------------------------------------------------------------

R50 = [3, 4, 6, 3]
MODELS = {
    # torchvision
    'resnet18': (torch_resnet, dict(block='basic', layers=[2, 2, 2, 2])),
    'resnet50': (torch_resnet, dict(block='bottleneck', layers=R50)),
    'resnext50_32x4d': (torch_resnet, dict(block='bottleneck', layers=R50, groups=32, base_width=4)),
    'wide_resnet50_2': (torch_resnet, dict(block='bottleneck', layers=R50, base_width=128)),
    'resnet50_va': (torch_resnet, dict(block='bottleneck', layers=R50, stride_on_1x1=True)),
    # timm
    'resnet50c': (torch_resnet, dict(block='bottleneck', layers=R50, stem_width=32, timm=True)),
    'resnet50d': (torch_resnet, dict(block='bottleneck', layers=R50, stem_width=32, avg_down=True, timm=True)),
    'resnet18d': (torch_resnet, dict(block='basic', layers=[2, 2, 2, 2], stem_width=32, avg_down=True, timm=True)),
    'resnet26d': (torch_resnet, dict(block='bottleneck', layers=[2, 2, 2, 2], stem_width=32, avg_down=True, timm=True)),
    'resnet50s': (torch_resnet, dict(block='bottleneck', layers=R50, stem_width=64, timm=True)),
    # PaddleClas
    'ResNet18': (paddle_legendary, dict(block='basic', layers=[2, 2, 2, 2], version='vb')),
    'ResNet50_vd': (paddle_legendary, dict(block='bottleneck', layers=R50, version='vd')),
    'ResNeXt50_vd_32x4d': (paddle_resnext_vd, dict(layers=R50, cardinality=32)),
    # akamaster CIFAR-10
    'resnet20': (cifar_resnet, dict(n=3)),
    'resnet56': (cifar_resnet, dict(n=9)),
}
PADDLE = {paddle_legendary, paddle_resnext_vd}


# ----------------------------------------------------------------------------------------------
# File writers
# ----------------------------------------------------------------------------------------------

def write_safetensors(path, tensors):
    """safetensors: u64 LE header length, JSON header {name: {dtype, shape, data_offsets}} padded
    with spaces to 8 bytes, then the raw little-endian data. Like the reference writer, tensors
    are laid out by decreasing dtype alignment, then name, so every tensor is aligned."""
    dtypes = {np.dtype(np.float32): ('F32', 4), np.dtype(np.int64): ('I64', 8)}
    order = sorted(tensors, key=lambda k: (-dtypes[tensors[k].dtype][1], k))
    header, chunks, offset = {'__metadata__': {'format': 'pt'}}, [], 0
    for name in order:
        arr = np.ascontiguousarray(tensors[name])
        raw = arr.astype(arr.dtype.newbyteorder('<')).tobytes()
        header[name] = {'dtype': dtypes[arr.dtype][0], 'shape': list(arr.shape),
                        'data_offsets': [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * (-len(text) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)


def write_pdparams(path, tensors):
    """What paddle.save(layer.state_dict(), path) writes: a protocol-4 pickle of a dict of
    structured name -> numpy array, plus 'StructuredToParameterName@@' mapping each structured
    name to the parameter's own name (generated names here, like unnamed ParamAttrs get)."""
    state = {name: arr for name, arr in tensors.items()}
    state['StructuredToParameterName@@'] = {name: f'param_{i}' for i, name in enumerate(tensors)}
    with open(path, 'wb') as f:
        pickle.dump(state, f, protocol=4)


def parse_size(text):
    parts = text.lower().split('x')
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise SystemExit(f'--size: expected S or HxW (positive integers), found {text!r}')
    return int(parts[0]), int(parts[1])


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--model', choices=sorted(MODELS))
    ap.add_argument('--batch', type=int, default=1)
    ap.add_argument('--size', default='33', help='S or HxW')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--num-classes', type=int, default=10)
    ap.add_argument('--out', help='output folder (created if missing)')
    ap.add_argument('--list', action='store_true', help='print the model names and exit')
    a = ap.parse_args(argv)
    if a.list:
        print('\n'.join(MODELS))
        return
    if not a.model or not a.out:
        ap.error('--model and --out are required')
    h, w = parse_size(a.size)
    build, cfg = MODELS[a.model]
    paddle = build in PADDLE
    cifar = build is cifar_resnet

    # akamaster's shipped checkpoints predate num_batches_tracked (torch < 0.4.1)
    W = Weights(a.seed, 'paddle' if paddle else 'torch', batches_tracked=not cifar)
    x = np.random.default_rng(a.seed + 1_000_003).normal(0.0, 1.0, (a.batch, 3, h, w)).astype(np.float32)
    ACTS.clear()
    logits = build(W, x.astype(np.float64), cfg, a.num_classes)

    os.makedirs(a.out, exist_ok=True)
    if paddle:
        write_pdparams(os.path.join(a.out, 'weights.pdparams'), W.tensors)
    else:
        write_safetensors(os.path.join(a.out, 'weights.safetensors'), W.tensors)
    np.save(os.path.join(a.out, 'input.npy'), x)
    np.save(os.path.join(a.out, 'logits.npy'), logits.astype(np.float32))
    write_safetensors(os.path.join(a.out, 'acts.safetensors'), {k: v.astype(np.float32) for k, v in ACTS.items()})
    n_params = sum(int(t.size) for k, t in W.tensors.items() if not k.endswith('num_batches_tracked'))
    print(json.dumps({'model': a.model, 'tensors': len(W.tensors), 'values': n_params,
                      'input': list(x.shape), 'logits': list(logits.shape),
                      'maxAbsLogit': float(np.abs(logits).max()), 'acts': list(ACTS)}))


if __name__ == '__main__':
    main(sys.argv[1:])
