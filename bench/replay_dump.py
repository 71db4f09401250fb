"""Reads a replay dump (issue 28): the folder `PetsML.Bench.dll pets --replay-dump` (bench/PetsML.Bench/ReplayDump.cs)
or `bench/reference_with_split.py --replay-dump` (bench/reference_replay_dump.py) wrote. For bench/replay_check.py and
bench/compare_replay_batches.py.
  meta.json        train_batches (per batch: images shape, mask shapes), valid_batches (shapes), dropout_p,
                   freeze_epochs, history (the run's own epoch rows)
  init.bin/.json   the model before the first step, raw float32 under PetsML's state-dict names, with the input map
                   (input_scale, input_shift) that takes the stored images to what the body reads
  train-NNNN.bin   one training batch: images float32, targets int64, then one uint8 keep-mask per head dropout
  valid.bin        the validation batches, images and targets, one after another
"""
import json, os

import numpy as np
import torch


class Dump:
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

    def _path(self, i):
        return os.path.join(self.folder, f'train-{i:04d}.bin')

    def batch(self, i):
        """Training batch i: images (as stored), targets and the dropout keep-masks."""
        b = self.batches[i]
        raw = np.fromfile(self._path(i), dtype=np.uint8)
        n = int(np.prod(b['images'])) * 4
        images = torch.from_numpy(raw[:n].view(np.float32).reshape(b['images']).copy())
        at = n + b['images'][0] * 8
        targets = torch.from_numpy(raw[n:at].view(np.int64).copy())
        masks = self._split_masks(raw[at:], b['masks'])
        return images, targets, masks

    def masks(self, i):
        """Only the keep-masks of training batch i, read from behind the images and targets."""
        b = self.batches[i]
        skip = int(np.prod(b['images'])) * 4 + b['images'][0] * 8
        return self._split_masks(np.fromfile(self._path(i), dtype=np.uint8, offset=skip), b['masks'])

    def _split_masks(self, raw, shapes):
        masks, at = [], 0
        for shape in shapes:
            size = int(np.prod(shape))
            masks.append(torch.from_numpy(raw[at:at + size].reshape(shape).copy()))
            at += size
        assert at == len(raw), (self.folder, at, len(raw))
        return masks

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
