#!/usr/bin/python3
"""Makes nested data-size cuts of one image set for issue 23's sweep: the same validation photos at every size, and
each smaller training set a subset of the next.

SOURCE is a folder with one sub-folder of photos per class, or (with --label-regex) one flat folder whose file names
give the class. Per class, the photos are shuffled once with --seed; the first --valid validate, the next ones train
in that order. For each N of --train (photos a class; `all` = every photo left) it writes OUT-N/ (hard links, or
copies across file systems, named <class>_<n>.<ext> as bench/manyclass_cut.py names them, or kept as they are with
--label-regex) and OUT-N.train.txt, the training list that `pets --train-list` and bench/reference_with_split.py read.
  bench/size_cuts.py --source CLOTHING/train --train 5,10,20 --valid 10 --out /data/clothing
  bench/size_cuts.py --source PETS/images --label-regex '(.+)_\\d+\\.\\w+$' --train 5,10,20 --valid 20 --out /data/pets
"""
import argparse, os, random, re, shutil, sys

ap = argparse.ArgumentParser()
ap.add_argument('--source', required=True)
ap.add_argument('--train', default='5,10,20,50,100,all', help='photos a class, comma-separated; all = every photo left')
ap.add_argument('--valid', type=int, default=10, help='validation photos a class (the same at every size)')
ap.add_argument('--seed', type=int, default=42)
ap.add_argument('--label-regex', default=None, help='SOURCE is flat; the regex\'s first group is the class')
ap.add_argument('--out', required=True, help='prefix: OUT-N/ and OUT-N.train.txt')
args = ap.parse_args()

IMAGE = ('.jpg', '.jpeg', '.png')
classes = {}
if args.label_regex:
    pattern = re.compile(args.label_regex)
    for name in sorted(os.listdir(args.source)):
        m = pattern.match(name)
        if m and name.lower().endswith(IMAGE):
            classes.setdefault(m.group(1), []).append((os.path.join(args.source, name), name))
else:
    for folder in sorted(os.listdir(args.source)):
        path = os.path.join(args.source, folder)
        if folder.startswith('.') or not os.path.isdir(path):
            continue
        label = re.sub(r'[^a-z0-9]+', '-', folder.lower())
        photos = sorted(f for f in os.listdir(path) if f.lower().endswith(IMAGE))
        classes[label] = [(os.path.join(path, f), f'{label}_{i}{os.path.splitext(f)[1].lower()}') for i, f in enumerate(photos)]
if not classes:
    sys.exit(f'--source {args.source}: no photos found')

rng = random.Random(args.seed)
order = {}
for label, photos in classes.items():
    photos = list(photos)
    rng.shuffle(photos)
    if len(photos) <= args.valid:
        sys.exit(f'--source {args.source}: class {label} has {len(photos)} photos, not more than --valid {args.valid}')
    order[label] = (photos[:args.valid], photos[args.valid:])

for n in args.train.split(','):
    take = None if n == 'all' else int(n)
    if take is not None and any(len(train) < take for _, train in order.values()):
        short = min(len(train) for _, train in order.values())
        sys.exit(f'--train {n}: a class has only {short} photos left after --valid {args.valid}')
    out = f'{args.out}-{n}'
    if os.path.exists(out) and os.listdir(out):
        sys.exit(f'{out}: exists and is not empty')
    os.makedirs(out, exist_ok=True)
    names = []
    for valid, train in order.values():
        chosen = train if take is None else train[:take]
        for src, name in valid + chosen:
            dst = os.path.join(out, name)
            try:
                os.link(src, dst)
            except OSError:
                shutil.copyfile(src, dst)
        names += [name for _, name in chosen]
    with open(out + '.train.txt', 'w') as f:
        f.write('\n'.join(sorted(names)) + '\n')
    print(f'{out}: {len(names)} training and {sum(len(v) for v, _ in order.values())} validation photos, {len(order)} classes')
