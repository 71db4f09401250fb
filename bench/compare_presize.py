#!/usr/bin/python3
"""Sets PetsML's presized validation bytes (bench `presize-dump`) beside the reference's item path (Pillow open, convert
RGB, centre crop, BILINEAR resize: fastai_recipe.load_item) for the same files, and prints the differences.
  dotnet bench/PetsML.Bench/bin/Release/net10.0/PetsML.Bench.dll presize-dump --data DIR --count 40 --out /tmp/presized.bin
  /usr/bin/python3 bench/compare_presize.py --data DIR --dump /tmp/presized.bin [--reference ../shared/tools/reference/fastai_recipe.py]"""
import argparse, importlib.util, os
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument('--data', required=True)
ap.add_argument('--dump', required=True)
ap.add_argument('--presize', type=int, default=460)
ap.add_argument('--reference', default='../shared/tools/reference/fastai_recipe.py')
a = ap.parse_args()
spec = importlib.util.spec_from_file_location('reference', a.reference)
reference = importlib.util.module_from_spec(spec)
spec.loader.exec_module(reference)

names = open(a.dump + '.txt').read().split()
petsml = np.fromfile(a.dump, dtype=np.uint8).reshape(len(names), 3, a.presize, a.presize)
worst = 0
for i, name in enumerate(names):
    theirs = reference.load_item(os.path.join(a.data, name), a.presize, (0.5, 0.5)).numpy()
    diff = np.abs(theirs.astype(int) - petsml[i].astype(int))
    worst = max(worst, int(diff.max()))
    print(f'{name}: mean abs {diff.mean():.4f}, max {diff.max()}')
print(f'{len(names)} images, largest difference {worst} levels of 255')
