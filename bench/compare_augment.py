#!/usr/bin/python3
"""Sets PetsML's training augmentation (bench `presize-dump --train-draws K`) beside the reference's for the same draws.

The reference's BatchAug draws its parameters itself (torch's global generator, Python's random); here its random
calls are fed PetsML's draws instead (flip, warp, rotation, zoom and centre, crop window, brightness, contrast), and
everything else, the maths and the resampling, runs unchanged. Both outputs go back to [0, 1] pixel values.
  dotnet bench/PetsML.Bench/bin/Release/net10.0/PetsML.Bench.dll presize-dump --data DIR --count 8 --train-draws 6 --out /tmp/aug.bin
  /usr/bin/python3 bench/compare_augment.py --dump /tmp/aug.bin --reference REF/fastai_recipe.py
Both resample twice (BatchAugmenter's remarks), so expect float rounding, well under a level of 255; a wrong sign or
window shows as tens. --sharpness adds the mean |Laplacian| of each training view against the validation view of the
same photo (docs/many-classes-investigation.md)."""
import argparse, json, os
import numpy as np
import torch

from reference_module import load_reference

ap = argparse.ArgumentParser()
ap.add_argument('--dump', required=True)
ap.add_argument('--presize', type=int, default=460)
ap.add_argument('--reference', required=True, help='the reference script, fastai_recipe.py')
ap.add_argument('--negate-flips', action='store_true', help='a deliberate mistake: shows the comparison can tell')
ap.add_argument('--sharpness', action='store_true',
                help='also print the mean |Laplacian| of the training views (PetsML, reference) and the validation view')
a = ap.parse_args()
R = load_reference(a.reference)

names = open(a.dump + '.txt').read().split()
n = len(names)
images = torch.from_numpy(np.fromfile(a.dump, dtype=np.uint8).reshape(n, 3, a.presize, a.presize))
draws = json.load(open(a.dump + '.draws.json'))
size = int(round((os.path.getsize(a.dump + '.train') / 4 / len(draws) / n / 3) ** 0.5))
ours = torch.from_numpy(np.fromfile(a.dump + '.train', dtype=np.float32).reshape(len(draws), n, 3, size, size))
mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]  # presize-dump uses AugmentOptions' default, NormalizationStats.ImageNet


class Queue:
    """Hands out prepared values in the order the reference asks for them."""

    def __init__(self, values):
        self.values = list(values)

    def pop(self):
        return self.values.pop(0)


class CropRng:
    """Python's random for crop_window: the area draw that gives PetsML's side, then its top-left corner."""

    def __init__(self, crop, h, w):
        self.top, self.left, self.side = crop[0], crop[1], crop[2]
        self.h, self.w, self.calls = h, w, 0

    def uniform(self, lo, hi):
        self.calls += 1
        return self.side ** 2 / (self.h * self.w) if self.calls == 1 else lo  # area fraction; then log(ratio) = 0

    def randint(self, lo, hi):
        self.calls += 1
        return self.top if self.calls == 3 else self.left  # crop_window asks for the top, then the left


class FlipTorch:
    """torch with one change: the flip's torch.empty(n).bernoulli_(0.5) returns PetsML's flips."""

    def __init__(self, flips):
        self.flips = flips

    def __getattr__(self, name):
        return getattr(torch, name)

    def empty(self, *shape, **kw):
        t = torch.empty(*shape, **kw)
        flips = self.flips

        class Draw:
            def bernoulli_(self, p):
                return torch.tensor([(1 - f) / 2 for f in flips])

            def __getattr__(self, name):
                return getattr(t, name)
        return Draw()




def laplacian(x):
    """Mean |4-neighbour Laplacian| per image of the luminance (channel mean) of [0, 1] pixels: high-frequency content."""
    y = x.mean(1)
    lap = y[:, 1:-1, :-2] + y[:, 1:-1, 2:] + y[:, :-2, 1:-1] + y[:, 2:, 1:-1] - 4 * y[:, 1:-1, 1:-1]
    return lap.abs().flatten(1).mean(1)


if a.sharpness:
    feats = np.fromfile(a.dump + '.features', dtype=np.float32).reshape(n, 3, size, size)
    valid_view = torch.from_numpy(feats) * torch.tensor(std).view(1, 3, 1, 1) + torch.tensor(mean).view(1, 3, 1, 1)
    lap_valid = laplacian(valid_view)
    ratios_ours, ratios_theirs, ratios_ours_theirs = [], [], []

worst = 0.0
for k, d in enumerate(draws):
    unif = Queue([torch.tensor(d['xt']), torch.tensor(d['yt']), torch.tensor(d['degrees']), torch.tensor(d['zoom']),
                  torch.tensor(d['cx']), torch.tensor(d['cy']),
                  torch.tensor(d['brightness']), torch.log(torch.tensor(d['contrast']))])
    R._unif = lambda count, lo, hi: unif.pop().to(torch.float32)
    R._masked = lambda vals, p, neutral: vals
    R.torch = FlipTorch([-f for f in d['flip']] if a.negate_flips else d['flip'])
    aug = R.BatchAug(size, mean, std, rng=CropRng(d['crop'], a.presize, a.presize))
    theirs = aug(images, train=True)
    R.torch = torch
    m, s = torch.tensor(mean).view(1, 3, 1, 1), torch.tensor(std).view(1, 3, 1, 1)
    diff = ((ours[k] - theirs) * s * 255).abs()
    per_image = diff.flatten(1).mean(1)
    worst = max(worst, per_image.max().item())
    print(f'draw {k}: crop {d["crop"]}, mean abs per image (levels of 255) ' + ' '.join(f'{v:.2f}' for v in per_image.tolist()))
    if a.sharpness:
        lo, lt = laplacian(ours[k] * s + m), laplacian(theirs * s + m)
        ratios_ours.append(lo / lap_valid)
        ratios_theirs.append(lt / lap_valid)
        ratios_ours_theirs.append(lo / lt)
        print(f'  |Laplacian| x1000 PetsML {lo.mean().item() * 1000:.2f}, reference {lt.mean().item() * 1000:.2f}, '
              f'validation {lap_valid.mean().item() * 1000:.2f}; PetsML/reference {(lo / lt).mean().item():.3f}')
print(f'{len(draws)} draws of {n} images: largest per-image mean difference {worst:.2f} levels of 255')
if a.sharpness:
    def stats(rs):
        r = torch.cat(rs)
        return f'{r.mean().item():.3f} (min {r.min().item():.3f}, max {r.max().item():.3f})'
    print(f'sharpness, training view / validation view of the same photo: PetsML {stats(ratios_ours)}, '
          f'reference {stats(ratios_theirs)}; PetsML / reference, same draw: {stats(ratios_ours_theirs)}')
