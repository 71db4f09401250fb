#!/usr/bin/python3
"""Writes the few-shot cut of a photo folder: N training images a class (the rest are validation).

The cut is a list of file names (one a line), read by both sides of bench/study.sh: PetsML's `pets --train-list`
and bench/reference_with_split.py, so PetsML and the reference train and validate on exactly the same files.
  bench/fewshot_cut.py --data PHOTOS --per-class 8 --seed 42 --out cut.txt
"""
import argparse, os, random, re

ap = argparse.ArgumentParser()
ap.add_argument('--data', required=True)
ap.add_argument('--per-class', type=int, default=8)
ap.add_argument('--seed', type=int, default=42)
ap.add_argument('--label-regex', default=r'(.+)_\d+\.\w+$')
ap.add_argument('--out', required=True)
args = ap.parse_args()

pattern = re.compile(args.label_regex)
by_class = {}
for name in sorted(os.listdir(args.data)):
    m = pattern.search(name)
    if m and not name.startswith('.'):
        by_class.setdefault(m.group(1), []).append(name)
rng = random.Random(args.seed)
train = []
for label in sorted(by_class):
    names = list(by_class[label])
    rng.shuffle(names)
    train += sorted(names[:args.per_class])
with open(args.out, 'w') as f:
    f.write('\n'.join(train) + '\n')
print(f'{len(train)} training files ({args.per_class} a class, {len(by_class)} classes) -> {args.out}')
