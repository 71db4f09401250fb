"""Issue 28's replay check, the reference's half: makes the reference write every random number of a real run in the
format PetsML.Bench's `pets --replay-dump` writes (see bench/PetsML.Bench/ReplayDump.cs), so that bench/replay_check.py
can train on either side's random numbers, or on one side's data with the other side's initial head and dropout
masks. Installed by bench/reference_with_split.py --replay-dump DIR; the run itself is unchanged (validation draws no
random numbers, so reading its batches once more moves nothing).

The images are stored as the reference's model reads them (normalised with the weights' own statistics), so the
input map written with them is the identity. A dropout mask is read back from the layer's output (an element is kept
where the output is not zero); an input that is exactly zero would lose its mask, and is counted in meta.json.
"""
import json, os

import numpy as np
import torch
import torch.nn as nn

from reference_module import petsml_name

def install(recipe, folder):
    os.makedirs(folder, exist_ok=True)
    Learner = recipe.Learner
    fine_tune, train_batch, validate = Learner.fine_tune, Learner._train_batch, Learner.validate
    state = dict(train=[], valid=None, masks=[], zero_inputs=0, hooked=False)

    def write_init(model):
        index, offset = [], 0
        with open(os.path.join(folder, 'init.bin'), 'wb') as f:
            tensors = [(petsml_name(k), v) for k, v in model.state_dict().items() if v.is_floating_point()]
            tensors += [('input_scale', torch.ones(1, 3, 1, 1)), ('input_shift', torch.zeros(1, 3, 1, 1))]
            for name, v in tensors:
                data = v.detach().float().contiguous().numpy()
                f.write(data.tobytes())
                index.append(dict(name=name, shape=list(v.shape), offset=offset))
                offset += data.size * 4
        with open(os.path.join(folder, 'init.json'), 'w') as f:
            json.dump(index, f)

    def hook(module, inputs, output):
        if module.training:
            state['zero_inputs'] += int((inputs[0] == 0).sum())
            state['masks'].append((output != 0).to(torch.uint8))

    def dumping_fine_tune(self, epochs, base_lr=2e-3, freeze_epochs=1, **kw):
        if not state['hooked']:
            write_init(self.model)
            for m in self.model.modules():
                if isinstance(m, nn.Dropout):
                    m.register_forward_hook(hook)
            state['hooked'], state['freeze_epochs'] = True, freeze_epochs
            state['dropout_p'] = [m.p for m in self.model.modules() if isinstance(m, nn.Dropout)]
        fine_tune(self, epochs, base_lr=base_lr, freeze_epochs=freeze_epochs, **kw)
        meta = dict(train_batches=state['train'], valid_batches=state['valid'], dropout_p=state['dropout_p'],
                    freeze_epochs=state['freeze_epochs'], zero_dropout_inputs=state['zero_inputs'],
                    history=[dict(train_loss=r['train_loss'], valid_loss=r['valid_loss'], error_rate=r['error_rate'])
                             for r in self.history])
        with open(os.path.join(folder, 'meta.json'), 'w') as f:
            json.dump(meta, f)

    def dumping_train_batch(self, xb, yb):
        state['masks'] = []
        loss = train_batch(self, xb, yb)
        i = len(state['train'])
        with open(os.path.join(folder, f'train-{i:04d}.bin'), 'wb') as f:
            f.write(xb.detach().float().contiguous().numpy().tobytes())
            f.write(yb.to(torch.int64).numpy().tobytes())
            for m in state['masks']:
                f.write(m.contiguous().numpy().tobytes())
        state['train'].append(dict(images=list(xb.shape),
                                   masks=[list(m.shape) for m in state['masks']]))
        return loss

    def dumping_validate(self):
        if state['valid'] is None:
            state['valid'] = []
            with open(os.path.join(folder, 'valid.bin'), 'wb') as f, torch.no_grad():
                for xb, yb in self.valid_dl:
                    x = self._prep(xb, False)
                    f.write(x.float().contiguous().numpy().tobytes())
                    f.write(yb.to(torch.int64).numpy().tobytes())
                    state['valid'].append(list(x.shape))
        return validate(self)

    Learner.fine_tune, Learner._train_batch, Learner.validate = dumping_fine_tune, dumping_train_batch, dumping_validate
