#!/usr/bin/python3
"""Runs the reference (fastai's recipe in plain PyTorch, fastai_recipe.py, given with --reference) unchanged,
except for its split: with --train-list FILE the files named there train and every other file validates.

The reference has only a seeded random split; the few-shot cut of bench/study.sh needs the same explicit split
on both sides. This wrapper imports the reference and replaces its two split helpers; nothing else changes.
  bench/reference_with_split.py --reference PATH/fastai_recipe.py --train-list cut.txt -- <reference args>
With --replay-dump DIR it also writes the run's random numbers for bench/replay_check.py (reference_replay_dump.py).
"""
import os, sys
from reference_module import load_reference

argv = sys.argv[1:]
sep = argv.index('--') if '--' in argv else len(argv)
own, rest = argv[:sep], argv[sep + 1:]
opts = dict(zip(own[0::2], own[1::2]))
path = opts.get('--reference')
if not path:
    sys.exit('--reference PATH/fastai_recipe.py is required (the reference script, kept outside this repository)')

recipe = load_reference(path)

if '--replay-dump' in opts:  # every random number of the run, for bench/replay_check.py
    from reference_replay_dump import install
    install(recipe, opts['--replay-dump'])

if '--train-list' in opts:
    with open(opts['--train-list']) as f:
        train_names = {line.strip() for line in f if line.strip()}
    listed = {}
    list_images = recipe.list_images

    def listing(folder):
        listed['files'] = list_images(folder)
        return listed['files']

    def split(n, valid_pct, seed):
        files = listed['files']
        train = [i for i, f in enumerate(files) if os.path.basename(f) in train_names]
        valid = [i for i, f in enumerate(files) if os.path.basename(f) not in train_names]
        if len(train) != len(train_names):
            sys.exit(f'--train-list: {len(train_names) - len(train)} listed files are not in the data folder')
        return train, valid

    recipe.list_images = listing
    recipe.random_split = split

sys.argv = [path] + rest
recipe.main()
