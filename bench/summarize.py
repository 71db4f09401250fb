#!/usr/bin/python3
"""Summarises a side-by-side session (bench/side-by-side.sh) as the markdown tables of bench/README.md.

The record is bench/results/side-by-side.jsonl, one file of a session a line: {"session", "file", "result"} for a
run's JSON, {"session", "file", "peak_rss_kib"} for its peak RSS (`/usr/bin/time -f %M`).
Usage:
  bench/summarize.py SESSION [RECORD]      a session of the record (run1, run2, ...)
  bench/summarize.py FOLDER                a folder as bench/side-by-side.sh writes it
  bench/summarize.py --add RECORD SESSION FOLDER   folds the folder into the record as SESSION"""
import glob, json, os, statistics, sys

RECORD = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'results', 'side-by-side.jsonl')


def read_folder(folder):
    """{file name: result dict or peak RSS in KiB} of a session folder; a JSON file's last line is its result."""
    files = {}
    for path in sorted(glob.glob(os.path.join(folder, '*.json')) + glob.glob(os.path.join(folder, '*.rss'))):
        with open(path) as f:
            text = f.read().strip()
        name = os.path.basename(path)
        if name.endswith('.rss'):
            files[name] = int(text.split()[-1]) if text else None
        else:
            files[name] = json.loads(text.splitlines()[-1]) if text else None
    return files


def read_record(path, session):
    files = {}
    with open(path) as f:
        for line in f:
            r = json.loads(line) if line.strip() else None
            if r and r['session'] == session:
                files[r['file']] = r['result'] if 'result' in r else r['peak_rss_kib']
    if not files:
        sys.exit(f"{path}: no session named '{session}'")
    return files


if sys.argv[1:2] == ['--add']:
    record, session, folder = sys.argv[2:5]
    with open(record, 'a') as out:
        for name, value in read_folder(folder).items():
            key = 'peak_rss_kib' if name.endswith('.rss') else 'result'
            out.write(json.dumps({'session': session, 'file': name, key: value}) + '\n')
    sys.exit(0)

source = sys.argv[1]
files = read_folder(source) if os.path.isdir(source) else read_record(sys.argv[2] if len(sys.argv) > 2 else RECORD, source)


def load(name):
    return files.get(name)


def rss(name):
    kib = files.get(name)
    return kib / 1024 if kib is not None else float('nan')


def seeds(prefix):
    return sorted(int(n.split('seed')[1].split('.')[0]) for n in files if n.startswith(prefix + '-seed') and n.endswith('.json'))


print('| run | seed | final error rate (errors/113) | valid loss | frozen train img/s | unfrozen train img/s | valid img/s | peak RSS MB |')
print('|---|---|---|---|---|---|---|---|')
ratios = []
for seed in seeds('petsml'):
    p, r = load(f'petsml-seed{seed}.json'), load(f'reference-seed{seed}.json')
    if p:
        print(f"| PetsML | {seed} | {p['final_error_rate']:.4f} ({round(p['final_error_rate'] * p['valid_images'])}) | {p['final_valid_loss']:.4f} | "
              f"{p['frozen_train_images_per_s']:.1f} | {p['unfrozen_train_images_per_s']:.1f} | {p['valid_images_per_s']:.1f} | {rss(f'petsml-seed{seed}.rss'):.0f} |")
    if r:
        valid_s = sum(e['valid_s'] for e in r['epochs']); n_valid = r['n_valid'] * len(r['epochs'])
        print(f"| reference | {seed} | {r['final_error_rate']:.4f} ({round(r['final_error_rate'] * r['n_valid'])}) | {r['final_valid_loss']:.4f} | "
              f"{r.get('train_img_s_frozen', float('nan')):.1f} | {r.get('train_img_s_unfrozen', float('nan')):.1f} | {n_valid / valid_s:.1f} | {rss(f'reference-seed{seed}.rss'):.0f} |")
    if p and r:
        ratios.append((p['frozen_train_images_per_s'] / r['train_img_s_frozen'], p['unfrozen_train_images_per_s'] / r['train_img_s_unfrozen']))
if ratios:
    print(f"\nPetsML / reference training images/s, per seed (frozen, unfrozen): " + ', '.join(f'({a:.2f}, {b:.2f})' for a, b in ratios))
pl, rl = load('petsml-lrfind.json'), load('reference-lrfind.json')
if pl and rl:
    print(f"\nlr_find: PetsML {pl['lr_find_seconds']:.1f} s (valley {pl['lr_find_valley']:.3g}, peak RSS {rss('petsml-lrfind.rss'):.0f} MB); "
          f"reference {rl['lr_find']['seconds']:.1f} s (valley {rl['lr_find']['valley']:.3g}, peak RSS {rss('reference-lrfind.rss'):.0f} MB)")
step = load('petsml-step.json')
if step and seeds('petsml'):
    p = load(f"petsml-seed{seeds('petsml')[0]}.json")
    print(f"\nRaw step on pre-made tensors: frozen {step['frozen_images_per_s']:.1f} img/s, unfrozen {step['unfrozen_images_per_s']:.1f} img/s; "
          f"end-to-end epoch / raw step: frozen {p['frozen_train_images_per_s'] / step['frozen_images_per_s']:.0%}, "
          f"unfrozen {p['unfrozen_train_images_per_s'] / step['unfrozen_images_per_s']:.0%}")
batches = load('petsml-batches.json')
if batches:
    print('\nBatch source alone: ' + '; '.join(f"epoch {e['epoch']}: {e['images_per_s']:.0f} img/s, {e['cpu_ms_per_image']:.1f} ms CPU/img" for e in batches['epochs']))
