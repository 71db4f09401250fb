#!/usr/bin/python3
"""How far a BatchNorm2d in training mode moves when its input is channels-last instead of contiguous: the
outputs, the input and weight gradients, and the running variance against an fp64 reference, for a few layer shapes
of a ResNet-18 at batch 32-64. The differences are rounding (another summation order), not another computation.
  /usr/bin/python3 bench/bn_layout.py
"""
import torch
import torch.nn as nn

torch.manual_seed(0)
torch.set_num_threads(1)
print(f'torch {torch.__version__}')
print('| shape | outputs, max abs difference | input gradient, relative | weight gradient, relative | running var error, contiguous | running var error, channels-last |')
print('|---|---|---|---|---|---|')
for shape in [(32, 64, 112, 112), (32, 64, 56, 56), (64, 128, 28, 28), (64, 512, 7, 7)]:
    x0 = torch.randn(*shape) * 0.7 + torch.randn(1, shape[1], 1, 1)
    g = torch.randn(*shape)
    expected = 0.9 + 0.1 * x0.double().var(dim=(0, 2, 3), unbiased=True)
    got = []
    for layout in (torch.contiguous_format, torch.channels_last):
        bn = nn.BatchNorm2d(shape[1]).train()
        with torch.no_grad():
            bn.weight.copy_(torch.linspace(0.5, 1.5, shape[1]))
            bn.bias.copy_(torch.linspace(-0.1, 0.1, shape[1]))
        x = x0.clone(memory_format=layout).requires_grad_(True)
        y = bn(x)
        (y * g.contiguous(memory_format=layout)).sum().backward()
        got.append((y.detach(), x.grad, bn.weight.grad, (bn.running_var.double() - expected).abs().max().item()))
    (y1, gx1, gw1, rv1), (y2, gx2, gw2, rv2) = got
    rel = lambda a, b: ((a - b).abs().max() / a.abs().max()).item()
    print(f'| {"x".join(map(str, shape))} | {(y1 - y2).abs().max().item():.1e} | {rel(gx1, gx2):.1e} | {rel(gw1, gw2):.1e} | {rv1:.1e} | {rv2:.1e} |')
