#!/usr/bin/python3
"""The training side of issue 10, numerically: the reference's fine_tune on fixed data, for PetsML to repeat.

Writes, into --out, everything PetsML's bench verb `step-check` needs to run the same training from the same start:
  images.u8     the photos, centre-cropped and resized to --size by the reference's own item path, N x 3 x S x S uint8
  labels.i64    their class indices (int64), training photos first
  meta.json     counts, classes, batch size, epochs, and the reference's per-epoch losses and errors
  init.pt       the reference's initial model (packaged body + seeded fastai head) under PetsML's state-dict names
No augmentation (each side only normalises, with its own statistics) and no dropout (p = 0 on both sides), so the
two runs see the same numbers and differ only by float rounding: any larger gap is a difference in training.
  bench/step_check.py --reference REF/fastai_recipe.py --data PHOTOS \
      --train-list bench/results/checks/fewshot-train.txt --onnx ResNet18.onnx --mapping mapping.json --out /tmp/sc
  dotnet PetsML.Bench.dll step-check --dir /tmp/sc
"""
import argparse, json, os, re

import numpy as np
import torch
import torch.nn as nn

from reference_module import load_reference, petsml_name

ap = argparse.ArgumentParser()
ap.add_argument('--reference', required=True)
ap.add_argument('--data', required=True)
ap.add_argument('--train-list', required=True)
ap.add_argument('--onnx', required=True)
ap.add_argument('--mapping', required=True)
ap.add_argument('--out', required=True)
ap.add_argument('--valid', type=int, default=64, help='validation photos (the first N not in the list)')
ap.add_argument('--size', type=int, default=224)
ap.add_argument('--bs', type=int, default=8)
ap.add_argument('--epochs', type=int, default=4)
ap.add_argument('--freeze-epochs', type=int, default=1)
ap.add_argument('--seed', type=int, default=0)
args = ap.parse_args()

R = load_reference(args.reference)
torch.set_num_threads(2)
os.makedirs(args.out, exist_ok=True)

with open(args.train_list) as f:
    listed = {line.strip() for line in f if line.strip()}
files = R.list_images(args.data)
pattern = re.compile(r'(.+)_\d+\.\w+$')
listed_files = [p for p in files if os.path.basename(p) in listed]
vocab = sorted({R.label_of(p, pattern) for p in listed_files})
# Classes interleaved (a batch of one breed would make BatchNorm's statistics meaningless) and every 8th other photo.
by_class = [[p for p in listed_files if R.label_of(p, pattern) == c] for c in vocab]
train = [p for group in zip(*by_class) for p in group]
others = [p for p in files if os.path.basename(p) not in listed]
valid = others[::max(1, len(others) // args.valid)][:args.valid]
paths = train + valid
labels = torch.tensor([vocab.index(R.label_of(p, pattern)) for p in paths], dtype=torch.int64)
images = torch.stack([R.load_item(p, args.size, (0.5, 0.5)) for p in paths])
images.numpy().tofile(os.path.join(args.out, 'images.u8'))
labels.numpy().tofile(os.path.join(args.out, 'labels.i64'))

torch.manual_seed(args.seed)
body = R.load_body(args.onnx, args.mapping)
model = nn.Sequential(body, R.create_head(512, len(vocab)))
for m in model.modules():
    if isinstance(m, nn.Dropout):
        m.p = 0.0

state = {petsml_name(k): v.clone() for k, v in model.state_dict().items() if not k.endswith('num_batches_tracked')}
torch.save(state, os.path.join(args.out, 'init.pt'))

mean = torch.tensor(R.WEIGHTS_MEAN).view(1, 3, 1, 1)
std = torch.tensor(R.WEIGHTS_STD).view(1, 3, 1, 1)


def normalise(xb, train):
    return (xb.float() / 255 - mean) / std


class Batches:
    """In order, every epoch the same; the training loader drops a last partial batch as fastai's does."""

    def __init__(self, lo, hi, bs, drop_last):
        self.lo, self.hi, self.bs, self.drop_last = lo, hi, bs, drop_last

    def __len__(self):
        n = self.hi - self.lo
        return n // self.bs if self.drop_last else -(-n // self.bs)

    def __iter__(self):
        for b in range(len(self)):
            s = self.lo + b * self.bs
            e = min(s + self.bs, self.hi)
            yield images[s:e], labels[s:e]


class Loader:
    def __init__(self, batches):
        self.batch_sampler = batches

    def __iter__(self):
        return iter(self.batch_sampler)


n_train = len(train)
learn = R.Learner(model, Loader(Batches(0, n_train, args.bs, True)), Loader(Batches(n_train, len(paths), args.bs, False)),
                  normalise, log=lambda s: print(s, flush=True))
learn.freeze()
learn.fine_tune(args.epochs, freeze_epochs=args.freeze_epochs)
meta = dict(n_train=n_train, n_valid=len(valid), classes=vocab, size=args.size, bs=args.bs, epochs=args.epochs,
            freeze_epochs=args.freeze_epochs, seed=args.seed,
            reference=[dict(train_loss=r['train_loss'], valid_loss=r['valid_loss'], error_rate=r['error_rate'])
                       for r in learn.history],
            reference_head_norms={k: float(v.norm()) for k, v in model[1].state_dict().items()
                                  if not k.endswith('num_batches_tracked')})
with open(os.path.join(args.out, 'meta.json'), 'w') as f:
    json.dump(meta, f, indent=1)
print(json.dumps(meta['reference']))
