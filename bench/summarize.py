#!/usr/bin/python3
"""Summarises a bench/side-by-side.sh result folder as the markdown tables of bench/README.md."""
import glob, json, os, statistics, sys

out = sys.argv[1]
def load(name):
    path = os.path.join(out, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        text = f.read().strip().splitlines()
    return json.loads(text[-1]) if text else None
def rss(name):
    path = os.path.join(out, name)
    return int(open(path).read().split()[-1]) / 1024 if os.path.exists(path) else float('nan')
def seeds(prefix):
    return sorted(int(p.split('seed')[1].split('.')[0]) for p in glob.glob(os.path.join(out, prefix + '-seed*.json')))

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
