#!/usr/bin/python3
"""Sets PetsML's validation path (bench `presize-dump`) beside the reference's for the same files and prints the
differences: the presized bytes against its item path (Pillow open, convert RGB, centre crop, BILINEAR resize:
fastai_recipe.load_item), then the normalised 224-pixel tensors against its BatchAug valid path, in pixel values.
  dotnet bench/PetsML.Bench/bin/Release/net10.0/PetsML.Bench.dll presize-dump --data DIR --count 40 --out /tmp/presized.bin
  /usr/bin/python3 bench/compare_presize.py --data DIR --dump /tmp/presized.bin --reference REF/fastai_recipe.py"""
import argparse, os
import numpy as np

from reference_module import load_reference

# presize-dump's features use AugmentOptions' default normalisation, NormalizationStats.ImageNet.
IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]

ap = argparse.ArgumentParser()
ap.add_argument('--data', required=True)
ap.add_argument('--dump', required=True)
ap.add_argument('--presize', type=int, default=460)
ap.add_argument('--reference', required=True, help='the reference script, fastai_recipe.py')
a = ap.parse_args()
reference = load_reference(a.reference)

names = open(a.dump + '.txt').read().split()
petsml = np.fromfile(a.dump, dtype=np.uint8).reshape(len(names), 3, a.presize, a.presize)
worst = 0
for i, name in enumerate(names):
    theirs = reference.load_item(os.path.join(a.data, name), a.presize, (0.5, 0.5)).numpy()
    diff = np.abs(theirs.astype(int) - petsml[i].astype(int))
    worst = max(worst, int(diff.max()))
    print(f'{name}: mean abs {diff.mean():.4f}, max {diff.max()}')
print(f'{len(names)} images, largest difference {worst} levels of 255')

# The validation tensors: PetsML's AugmentImages floats (ImageNet statistics) against the reference's BatchAug valid path
# (the packaged weights' statistics), both taken back to [0, 1] pixel values.
features = a.dump + '.features'
if os.path.exists(features):
    import torch
    size = int(round((os.path.getsize(features) / 4 / len(names) / 3) ** 0.5))
    ours = torch.from_numpy(np.fromfile(features, dtype=np.float32).reshape(len(names), 3, size, size))
    ours = ours * torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) + torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    aug = reference.BatchAug(size, reference.WEIGHTS_MEAN, reference.WEIGHTS_STD)
    theirs = aug(torch.from_numpy(petsml), train=False)
    theirs = theirs * torch.tensor(reference.WEIGHTS_STD).view(1, 3, 1, 1) + torch.tensor(reference.WEIGHTS_MEAN).view(1, 3, 1, 1)
    diff = (ours - theirs).abs()
    print(f'validation tensors {size}x{size}: mean abs {diff.mean().item() * 255:.5f}, max {diff.max().item() * 255:.4f} levels of 255')
