#!/usr/bin/python3
"""Issue 28's replay check: the reference trains on exactly the random numbers a real PetsML run consumed.

The step check (bench/step_check.py) holds every random part fixed: the same photos each epoch, no augmentation, no
dropout. This check keeps them all, as PetsML drew them. `PetsML.Bench.dll pets ... --replay-dump DIR` writes the
model before the first step, every training batch as the model saw it (shuffled, presized at a random position,
augmented), the head's dropout masks of that batch and the validation batches; this script builds the reference's
model from that start, feeds it the same batches with the same masks through the reference's own Learner (its
optimiser, schedules, freezing, BatchNorm and loss), and sets its epoch rows beside PetsML's. Equal up to float
rounding means that, given the same random numbers, the two trainings are the same: any gap between them over
seeds is then in which random numbers each side draws, not in what it does with them.
  dotnet PetsML.Bench.dll pets --data CUT --train-list CUT.train.txt --precision fp32 --channels-last false \
      --threads 1 --bs 32 --epochs 4 --freeze-epochs 1 --seed 0 --replay-dump /tmp/replay
  bench/replay_check.py --reference REF/fastai_recipe.py --onnx ResNet18.onnx --mapping REF/mapping.json --dump /tmp/replay
The reference writes the same dump of its own run (bench/reference_with_split.py --replay-dump DIR, see
bench/reference_replay_dump.py); --init-from, --masks-from and --running-stats-from then train one dump's batches with
another dump's initial model, dropout masks or BatchNorm running statistics, to see which random part a gap follows.
"""
import argparse, json, os

import numpy as np
import torch
import torch.nn as nn

from reference_module import load_reference, reference_name
from replay_dump import Dump

ap = argparse.ArgumentParser()
ap.add_argument('--reference', required=True)
ap.add_argument('--onnx', required=True)
ap.add_argument('--mapping', required=True)
ap.add_argument('--dump', required=True, help='a folder `pets --replay-dump` (or reference_with_split.py --replay-dump) '
                                              'wrote: the training batches, and by default everything else')
ap.add_argument('--init-from', default=None, help='another dump whose initial model to start from')
ap.add_argument('--masks-from', default=None, help='another dump whose dropout masks to use')
ap.add_argument('--running-stats-from', default=None, help="another dump whose BatchNorm running statistics to start from")
ap.add_argument('--base-lr', type=float, default=2e-3)
ap.add_argument('--threads', type=int, default=1)
ap.add_argument('--out-json', default=None)
args = ap.parse_args()

R = load_reference(args.reference)
torch.set_num_threads(args.threads)


data = Dump(args.dump)
init_dump = Dump(args.init_from) if args.init_from else data
mask_dump = Dump(args.masks_from) if args.masks_from else data
meta, init = data.meta, dict(init_dump.init)
if args.running_stats_from:
    stats_init = Dump(args.running_stats_from).init
    init.update({k: v for k, v in stats_init.items() if k.endswith(('running_mean', 'running_var'))})
classes = init['head.8.weight'].shape[0]

model = nn.Sequential(R.load_body(args.onnx, args.mapping), R.create_head(512, classes))
state = model.state_dict()
loaded = {reference_name(k): v for k, v in init.items() if k not in ('input_scale', 'input_shift')}
missing = [k for k in state if k not in loaded and not k.endswith('num_batches_tracked')]
extra = [k for k in loaded if k not in state]
assert not missing and not extra, f'state dicts differ: missing {missing[:5]}, extra {extra[:5]}'
for k, v in loaded.items():
    assert state[k].shape == v.shape, (k, state[k].shape, v.shape)
    state[k].copy_(v)


class MaskDropout(nn.Module):
    """nn.Dropout with the mask the dump's run drew for this batch: kept elements x 1/(1-p), as nn.Dropout."""

    def __init__(self, p, slot):
        super().__init__()
        self.p, self.slot = p, slot

    def forward(self, x):
        if not self.training:
            return x
        keep = current_masks[self.slot]
        assert keep.shape == x.shape, (keep.shape, x.shape)
        return x * keep.to(x.dtype) / (1 - self.p)


head = model[1]
slots = [i for i, m in enumerate(head) if isinstance(m, nn.Dropout)]
ps = mask_dump.meta['dropout_p']
assert len(slots) == len(ps), (slots, ps)
for slot, (i, p) in enumerate(zip(slots, ps)):
    assert abs(head[i].p - p) < 1e-9, (head[i].p, p)
    head[i] = MaskDropout(p, slot)
current_masks = [None] * len(slots)

train_batches = data.batches
epochs_total = len(meta['history'])
per_epoch = len(train_batches) // epochs_total
assert per_epoch * epochs_total == len(train_batches), (len(train_batches), epochs_total)
assert len(mask_dump.batches) == len(train_batches), 'the mask dump has another number of training batches'
valid = data.valid()


class Replay:
    """The training loader: epoch e yields the dump's batches of epoch e, setting each batch's masks."""

    def __init__(self):
        self.epoch = 0
        self.bs = train_batches[0]['images'][0]

    def __len__(self):
        return per_epoch

    def __iter__(self):
        first = self.epoch * per_epoch
        self.epoch += 1
        for i in range(first, first + per_epoch):
            images, targets, masks = data.batch(i)
            current_masks[:] = masks if mask_dump is data else mask_dump.masks(i)
            yield images, targets


class Loader:
    def __init__(self, batches):
        self.batch_sampler = batches

    def __iter__(self):
        return iter(self.batch_sampler)


class ValidLoader:
    batch_sampler = None

    def __iter__(self):
        return iter(valid)


scale, shift = data.input_map()


def input_map(xb, train):
    return xb * scale + shift


learn = R.Learner(model, Loader(Replay()), ValidLoader(), input_map,
                  log=lambda s: print(s, flush=True))
freeze_epochs = meta['freeze_epochs']
learn.freeze()
learn.fine_tune(epochs_total - freeze_epochs, base_lr=args.base_lr, freeze_epochs=freeze_epochs)

print('epoch  train_loss (dump / replay)      valid_loss (dump / replay)      error_rate (dump / replay)')
worst = 0.
for i, (ours, theirs) in enumerate(zip(meta['history'], learn.history)):
    worst = max(worst, abs(ours['valid_loss'] - theirs['valid_loss']))
    print(f"{i:<6} {ours['train_loss']:10.6f} / {theirs['train_loss']:<10.6f}    {ours['valid_loss']:10.6f} / "
          f"{theirs['valid_loss']:<10.6f}    {ours['error_rate']:.4f} / {theirs['error_rate']:.4f}")
print(f'largest valid-loss difference: {worst:.3g}')
if args.out_json:
    with open(args.out_json, 'w') as f:
        json.dump(dict(dump=meta['history'], args=vars(args), replay=[dict(train_loss=r['train_loss'], valid_loss=r['valid_loss'],
                                                            error_rate=r['error_rate']) for r in learn.history]), f)
