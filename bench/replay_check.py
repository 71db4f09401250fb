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

ap = argparse.ArgumentParser()
ap.add_argument('--reference', required=True)
ap.add_argument('--onnx', required=True)
ap.add_argument('--mapping', required=True)
ap.add_argument('--dump', required=True, help='a folder `pets --replay-dump` (or reference_with_split.py --replay-dump) '
                                              'wrote: the training batches, and by default everything else')
ap.add_argument('--init-from', default=None, help='another dump whose initial model to start from')
ap.add_argument('--masks-from', default=None, help='another dump whose dropout masks to use')
ap.add_argument('--valid-from', default=None, help='another dump whose validation batches to use')
ap.add_argument('--running-stats-from', default=None, help="another dump whose BatchNorm running statistics to start from")
ap.add_argument('--base-lr', type=float, default=2e-3)
ap.add_argument('--threads', type=int, default=1)
ap.add_argument('--out-json', default=None)
args = ap.parse_args()

R = load_reference(args.reference)
torch.set_num_threads(args.threads)


class Dump:
    """One dump folder: meta.json, the initial model, the training batches (images, targets, masks), validation."""

    def __init__(self, folder):
        self.folder = folder
        with open(os.path.join(folder, 'meta.json')) as f:
            self.meta = json.load(f)
        with open(os.path.join(folder, 'init.json')) as f:
            index = json.load(f)
        raw = np.fromfile(os.path.join(folder, 'init.bin'), dtype=np.float32)
        self.init = {e['name']: torch.from_numpy(raw[e['offset'] // 4: e['offset'] // 4 + int(np.prod(e['shape']))]
                                                 .reshape(e['shape']).copy()) for e in index}
        self.batches = self.meta['train_batches']

    def input_map(self):
        return self.init['input_scale'], self.init['input_shift']

    def batch(self, i):
        b = self.batches[i]
        raw = np.fromfile(os.path.join(self.folder, f'train-{i:04d}.bin'), dtype=np.uint8)
        n = int(np.prod(b['images'])) * 4
        images = torch.from_numpy(raw[:n].view(np.float32).reshape(b['images']).copy())
        at = n + b['images'][0] * 8
        targets = torch.from_numpy(raw[n:at].view(np.int64).copy())
        masks = []
        for shape in b['masks']:
            size = int(np.prod(shape))
            masks.append(torch.from_numpy(raw[at:at + size].reshape(shape).copy()))
            at += size
        assert at == len(raw), (self.folder, i, at, len(raw))
        return images, targets, masks

    def valid(self):
        raw = np.fromfile(os.path.join(self.folder, 'valid.bin'), dtype=np.uint8)
        batches, at = [], 0
        for shape in self.meta['valid_batches']:
            n = int(np.prod(shape)) * 4
            images = torch.from_numpy(raw[at:at + n].view(np.float32).reshape(shape).copy())
            targets = torch.from_numpy(raw[at + n:at + n + shape[0] * 8].view(np.int64).copy())
            at += n + shape[0] * 8
            batches.append((images, targets))
        assert at == len(raw), (self.folder, at, len(raw))
        return batches


data = Dump(args.dump)
init_dump = Dump(args.init_from) if args.init_from else data
mask_dump = Dump(args.masks_from) if args.masks_from else data
valid_dump = Dump(args.valid_from) if args.valid_from else data
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
train_map, valid_map = data.input_map(), valid_dump.input_map()
valid = valid_dump.valid()
if valid_dump is not data:
    ours = torch.cat([t for _, t in data.valid()])
    assert torch.equal(ours, torch.cat([t for _, t in valid])), 'the two dumps validate other photos or classes'


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
            if mask_dump is not data:
                masks = mask_dump.batch(i)[2]
            current_masks[:] = masks
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


def input_map(xb, train):
    scale, shift = train_map if train else valid_map
    return xb * scale + shift


learn = R.Learner(model, Loader(Replay()), ValidLoader(), input_map,
                  log=lambda s: print(s, flush=True))
if 'freeze_epochs' in meta:
    freeze_epochs = meta['freeze_epochs']
else:  # PetsML's dump: the epoch index restarts at 0 with the second fit of fine_tune, the unfrozen one
    epoch_of = [b['epoch'] for b in train_batches[::per_epoch]]
    freeze_epochs = next((i for i in range(1, len(epoch_of)) if epoch_of[i] == 0), len(epoch_of))
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
