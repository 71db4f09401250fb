#!/usr/bin/python3
"""Sets PetsML's training augmentation (bench `presize-dump --train-draws K`) beside the reference's for the same draws.

The reference's BatchAug draws its parameters itself (torch's global generator, Python's random); here its random
calls are fed PetsML's draws instead (flip, warp, rotation, zoom and centre, crop window, brightness, contrast), and
everything else, the maths and the resampling, runs unchanged. Both outputs go back to [0, 1] pixel values.
  dotnet bench/PetsML.Bench/bin/Release/net10.0/PetsML.Bench.dll presize-dump --data DIR --count 8 --train-draws 6 --out /tmp/aug.bin
  /usr/bin/python3 bench/compare_augment.py --dump /tmp/aug.bin --reference REF/fastai_recipe.py
PetsML resamples once where the reference resamples twice (BatchAugmenter's remarks), so the two differ by one
bilinear blur: expect a mean difference of about one level of 255, not zero. A wrong sign or window shows as tens."""
import argparse, json, os
import numpy as np
import torch

from reference_module import load_reference

ap = argparse.ArgumentParser()
ap.add_argument('--dump', required=True)
ap.add_argument('--presize', type=int, default=460)
ap.add_argument('--reference', required=True, help='the reference script, fastai_recipe.py')
ap.add_argument('--negate-flips', action='store_true', help='a deliberate mistake: shows the comparison can tell')
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
print(f'{len(draws)} draws of {n} images: largest per-image mean difference {worst:.2f} levels of 255')
