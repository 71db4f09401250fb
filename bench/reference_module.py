"""Loads the reference (fastai's chapter-5 recipe in plain PyTorch, `fastai_recipe.py`, kept outside this repository)
as a module from the path given with --reference, unchanged, for the bench scripts that set PetsML beside it (compare_presize, compare_augment,
step_check, reference_with_split, replay_check). The reference is a script, not a package, so it cannot simply be imported."""
import importlib.util, os, sys


def load_reference(path):
    if not path or not os.path.isfile(path):
        sys.exit(f"--reference: the reference script (fastai_recipe.py) was not found at '{path}'; "
                 "pass the path of your copy of it")
    spec = importlib.util.spec_from_file_location('fastai_recipe', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The reference's model is nn.Sequential(body, head), its body nn.Sequential(conv1, bn1, relu, maxpool, layer1..layer4);
# PetsML names the body's children and keeps the head's indices. The bench scripts that move weights across use these.
BODY_NAMES = {'0': 'conv1', '1': 'bn1', '4': 'layer1', '5': 'layer2', '6': 'layer3', '7': 'layer4'}


def petsml_name(key):
    """'0.4.0.conv1.weight' -> 'body.layer1.0.conv1.weight'; '1.8.weight' -> 'head.8.weight'."""
    part, child, rest = key.split('.', 2)
    return f'body.{BODY_NAMES[child]}.{rest}' if part == '0' else f'head.{child}.{rest}'


def reference_name(name):
    """The inverse of petsml_name."""
    part, child, rest = name.split('.', 2)
    index = {v: k for k, v in BODY_NAMES.items()}
    return f'0.{index[child]}.{rest}' if part == 'body' else f'1.{child}.{rest}'
