#!/usr/bin/python3
"""Makes a many-class, few-photo cut of a folder-per-class image set (issue 28's benchmark).

From SOURCE/<class>/*.jpg it draws CLASSES classes and TRAIN + VALID photos of each (one seeded draw), copies them
into OUT as <class>_<n>.jpg (the name shape PetsML's bench and the reference both read) and writes OUT.train.txt,
the TRAIN photos a class that train; every other photo of OUT validates (`pets --train-list`,
bench/reference_with_split.py). Class names are lower-cased with anything but letters and digits turned into '-',
so the label regex (.+)_\\d+\\.\\w+$ gives them back whole.
  bench/manyclass_cut.py --source 101_ObjectCategories --exclude BACKGROUND_Google,Faces_easy \\
      --classes 37 --train 8 --valid 2 --seed 42 --out /data/caltech37
"""
import argparse, os, random, re, shutil, sys

ap = argparse.ArgumentParser()
ap.add_argument('--source', required=True, help='a folder with one sub-folder of photos per class')
ap.add_argument('--classes', type=int, default=37)
ap.add_argument('--train', type=int, default=8)
ap.add_argument('--valid', type=int, default=2)
ap.add_argument('--seed', type=int, default=42)
ap.add_argument('--exclude', default='', help='comma-separated class folders to leave out')
ap.add_argument('--out', required=True)
args = ap.parse_args()

excluded = {e for e in args.exclude.split(',') if e}
per_class = args.train + args.valid
folders = {}
for name in sorted(os.listdir(args.source)):
    path = os.path.join(args.source, name)
    if name in excluded or name.startswith('.') or not os.path.isdir(path):
        continue
    photos = sorted(f for f in os.listdir(path) if f.lower().endswith(('.jpg', '.jpeg', '.png')))
    if len(photos) >= per_class:
        folders[name] = photos
if len(folders) < args.classes:
    sys.exit(f'--source {args.source}: only {len(folders)} classes have {per_class} photos; --classes {args.classes} asked')
if os.path.exists(args.out) and os.listdir(args.out):
    sys.exit(f'--out {args.out}: exists and is not empty')
os.makedirs(args.out, exist_ok=True)

rng = random.Random(args.seed)
chosen = sorted(rng.sample(sorted(folders), args.classes))
train = []
for folder in chosen:
    label = re.sub(r'[^a-z0-9]+', '-', folder.lower())
    photos = rng.sample(folders[folder], per_class)
    for i, photo in enumerate(photos):
        ext = os.path.splitext(photo)[1].lower()
        name = f'{label}_{i + 1}{ext}'
        shutil.copyfile(os.path.join(args.source, folder, photo), os.path.join(args.out, name))
        if i < args.train:
            train.append(name)
with open(args.out.rstrip('/') + '.train.txt', 'w') as f:
    f.write('\n'.join(sorted(train)) + '\n')
print(f'{len(chosen)} classes x ({args.train} train + {args.valid} valid) -> {args.out}, '
      f'training list {args.out.rstrip("/")}.train.txt')
print('classes: ' + ', '.join(chosen))
