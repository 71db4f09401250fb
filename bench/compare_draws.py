#!/usr/bin/python3
"""Sets the distribution of PetsML's augmentation draws (bench `draw-dump`) beside the reference's own draws.

The pixel check (bench/compare_augment.py) feeds PetsML's draws to the reference, so it holds the random numbers fixed;
this compares the random numbers themselves. The reference's BatchAug runs as it is, on tiny images (the draws do not
depend on the pixels), with its two helpers _unif and _masked wrapped to record what they return; the flip is read
back from the sign of the affine matrix (cos θ and the zoom's scale are positive). Per parameter: mean, standard
deviation, share at the neutral value (a draw not applied) and the two-sample Kolmogorov-Smirnov distance with its
asymptotic p-value; the crop window's side and its top-left corner likewise.
  dotnet PetsML.Bench.dll draw-dump --images 64 --batches 500 --out /tmp/draws.json
  /usr/bin/python3 bench/compare_draws.py --draws /tmp/draws.json --reference REF/fastai_recipe.py
"""
import argparse, json, math, random

import numpy as np
import torch

from reference_module import load_reference

ap = argparse.ArgumentParser()
ap.add_argument('--draws', required=True)
ap.add_argument('--reference', required=True, help='the reference script, fastai_recipe.py')
ap.add_argument('--presize', type=int, default=460)
ap.add_argument('--seed', type=int, default=0)
a = ap.parse_args()
R = load_reference(a.reference)

ours = json.load(open(a.draws))
n, batches = len(ours[0]['flip']), len(ours)
keys = ['flip', 'degrees', 'zoom', 'cx', 'cy', 'xt', 'yt', 'brightness', 'contrast']
mine = {k: np.concatenate([np.asarray(b[k], dtype=np.float64) for b in ours]) for k in keys}
mine_crop = np.asarray([b['crop'] for b in ours], dtype=np.float64)

# The reference's draws, recorded from its own helpers.
torch.manual_seed(a.seed)
masked, unif = [], []
real_masked, real_unif = R._masked, R._unif
R._masked = lambda vals, p, neutral: masked.append(real_masked(vals, p, neutral)) or masked[-1]
R._unif = lambda k, lo, hi: unif.append(real_unif(k, lo, hi)) or unif[-1]
grids = []
real_grid = R.F.affine_grid
R.F.affine_grid = lambda theta, *args, **kw: grids.append(theta.clone()) or real_grid(theta, *args, **kw)
aug = R.BatchAug(224, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225], rng=random.Random(a.seed))
theirs = {k: [] for k in keys}
theirs_crop = []
x = torch.full((n, 3, 8, 8), 0.5)
for _ in range(batches):
    masked.clear(); unif.clear(); grids.clear()
    aug.affine_warp(x)
    xt, yt, th, zz = masked[:4]
    theirs['flip'].append(torch.sign(grids[0][:, 0, 0]))
    theirs['xt'].append(xt); theirs['yt'].append(yt); theirs['degrees'].append(th); theirs['zoom'].append(zz)
    theirs['cx'].append(unif[4]); theirs['cy'].append(unif[5])
    masked.clear()
    aug.lighting(x)
    theirs['brightness'].append(masked[0]); theirs['contrast'].append(masked[1])
    (h, w), (t, l) = aug.crop_window(a.presize, a.presize, True)
    theirs_crop.append([t, l, h, w])
theirs = {k: torch.cat(v).double().numpy() for k, v in theirs.items()}
theirs_crop = np.asarray(theirs_crop, dtype=np.float64)
neutral = {'flip': 1, 'degrees': 0, 'zoom': 1, 'xt': 0, 'yt': 0, 'brightness': 0.5, 'contrast': 1}


def ks(p, q):
    """Two-sample Kolmogorov-Smirnov distance and its asymptotic p-value."""
    grid = np.sort(np.concatenate([p, q]))
    d = np.max(np.abs(np.searchsorted(np.sort(p), grid, 'right') / len(p) - np.searchsorted(np.sort(q), grid, 'right') / len(q)))
    en = math.sqrt(len(p) * len(q) / (len(p) + len(q)))
    lam = (en + 0.12 + 0.11 / en) * d
    pval = 2 * sum((-1) ** (j - 1) * math.exp(-2 * j * j * lam * lam) for j in range(1, 101))
    return d, min(1.0, max(0.0, pval))


print(f'{len(mine["flip"])} PetsML draws against {len(theirs["flip"])} of the reference ({batches} batches of {n}; crop: one a batch)\n')
print('| parameter | PetsML mean ± sd | reference mean ± sd | PetsML at neutral | reference at neutral | KS distance | p |')
print('|---|---|---|---|---|---|---|')
for k in keys:
    p, q = mine[k], theirs[k]
    share = lambda v: f'{np.mean(np.isclose(v, neutral[k], atol=1e-7)):.3f}' if k in neutral else '-'
    d, pval = ks(p, q)
    print(f'| {k} | {p.mean():.4f} ± {p.std():.4f} | {q.mean():.4f} ± {q.std():.4f} | {share(p)} | {share(q)} | {d:.4f} | {pval:.2f} |')
for i, name in enumerate(['crop top', 'crop left', 'crop side']):
    p, q = mine_crop[:, i], theirs_crop[:, i]
    d, pval = ks(p, q)
    print(f'| {name} | {p.mean():.1f} ± {p.std():.1f} | {q.mean():.1f} ± {q.std():.1f} | - | - | {d:.4f} | {pval:.2f} |')
