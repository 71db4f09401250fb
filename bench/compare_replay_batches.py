#!/usr/bin/python3
"""Sets the training views of two replay dumps side by side (issue 28): per view, the mean and spread of its pixels
and two sharpness measures, over every training batch of each run, as the model reads them (each dump's input map
applied). Two dumps of the same cut and settings, one from each side, say whether the two pipelines' real training
views differ in distribution; the two-sample Kolmogorov-Smirnov distance is printed beside 1.36·√(2/n), the distance
chance stays under 95% of the time at n views a side.
  bench/compare_replay_batches.py /tmp/petsml-dump /tmp/reference-dump
(dumps from `PetsML.Bench.dll pets ... --replay-dump` and `bench/reference_with_split.py ... --replay-dump`).
"""
import math, sys

import numpy as np
import torch

from replay_dump import Dump

FEATURES = ['mean', 'spread', 'laplacian', 'gradient x', 'red', 'green', 'blue']


def views(folder):
    dump = Dump(folder)
    scale, shift = dump.input_map()
    rows = []
    for i in range(len(dump.batches)):
        x = dump.batch(i)[0] * scale + shift
        lum = x.mean(1)
        laplacian = (4 * lum[:, 1:-1, 1:-1] - lum[:, :-2, 1:-1] - lum[:, 2:, 1:-1] - lum[:, 1:-1, :-2]
                     - lum[:, 1:-1, 2:]).abs().mean((1, 2))
        gradient = (lum[:, :, 1:] - lum[:, :, :-1]).abs().mean((1, 2))
        channels = x.mean((2, 3))
        rows.append(torch.stack([x.mean((1, 2, 3)), x.std((1, 2, 3)), laplacian, gradient,
                                 channels[:, 0], channels[:, 1], channels[:, 2]], 1))
    return torch.cat(rows).numpy()


def ks(u, v):
    both = np.sort(np.concatenate([u, v]))
    cu = np.searchsorted(np.sort(u), both, side='right') / len(u)
    cv = np.searchsorted(np.sort(v), both, side='right') / len(v)
    return np.abs(cu - cv).max()


if len(sys.argv) != 3:
    sys.exit(__doc__)
a, b = views(sys.argv[1]), views(sys.argv[2])
print(f'{len(a)} views against {len(b)}; chance stays under KS {1.36 * math.sqrt((len(a) + len(b)) / (len(a) * len(b))):.3f}')
print(f'{"":12s} {"first":>18s} {"second":>18s} {"ratio":>7s} {"KS":>6s}')
for j, name in enumerate(FEATURES):
    u, v = a[:, j], b[:, j]
    print(f'{name:12s} {u.mean():8.4f} ± {u.std():7.4f} {v.mean():8.4f} ± {v.std():7.4f} {u.mean() / v.mean():7.4f} {ks(u, v):6.3f}')
