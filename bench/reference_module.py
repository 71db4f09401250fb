"""Loads the reference (fastai's recipe in plain PyTorch, ../shared/tools/reference/fastai_recipe.py) as a module
from its path, unchanged, for the bench scripts that set PetsML beside it (compare_presize, compare_augment,
step_check, reference_with_split). The reference is a script, not a package, so it cannot simply be imported."""
import importlib.util


def load_reference(path):
    spec = importlib.util.spec_from_file_location('fastai_recipe', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
