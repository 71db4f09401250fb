"""Loads the reference (fastai's chapter-5 recipe in plain PyTorch, `fastai_recipe.py`, kept outside this repository)
as a module from the path given with --reference, unchanged, for the bench scripts that set PetsML beside it (compare_presize, compare_augment,
step_check, reference_with_split). The reference is a script, not a package, so it cannot simply be imported."""
import importlib.util, os, sys


def load_reference(path):
    if not path or not os.path.isfile(path):
        sys.exit(f"--reference: the reference script (fastai_recipe.py) was not found at '{path}'; "
                 "pass the path of your copy of it")
    spec = importlib.util.spec_from_file_location('fastai_recipe', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
