#!/usr/bin/python3
"""Summarises bench/study.sh's JSON files: per cut and run, mean ± sd of the final error rate and valid loss over the
seeds the run has, per-epoch means, and PetsML's TTA; then each PetsML run (and its TTA) against the reference, paired by
seed over the seeds both have. Usage: bench/study_summary.py bench/results/study"""
import glob, json, os, re, statistics, sys

folder = sys.argv[1]
runs = {}
for path in sorted(glob.glob(os.path.join(folder, '*.json'))):
    m = re.match(r'(\w+)-(petsml-\w+|reference)-seed(\d+)\.json$', os.path.basename(path))
    if not m:
        continue
    with open(path) as f:
        d = json.loads(f.read().strip().splitlines()[-1])
    runs.setdefault((m.group(1), m.group(2)), {})[int(m.group(3))] = d


def ms(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return '-'
    sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
    return f'{statistics.mean(xs):.4f} ± {sd:.4f}'


def per_epoch(d, name):
    if isinstance(d.get('epochs'), list):  # the reference: a list of epoch rows
        return [e[name] for e in d['epochs']]
    return d['error_rates' if name == 'error_rate' else 'valid_losses']


for cut in sorted({c for c, _ in runs}):
    names = sorted(n for c, n in runs if c == cut)
    print(f'\n## {cut}')
    print('| run | seeds | final error (mean ± sd) | final valid loss | error per epoch (means) | valid loss per epoch | TTA error | TTA valid loss |')
    print('|---|---|---|---|---|---|---|---|')
    for name in names:
        r = runs[(cut, name)]
        seeds = sorted(r)
        err = [r[s]['final_error_rate'] for s in seeds]
        loss = [r[s]['final_valid_loss'] for s in seeds]
        ep_err = [statistics.mean(col) for col in zip(*[per_epoch(r[s], 'error_rate') for s in seeds])]
        ep_loss = [statistics.mean(col) for col in zip(*[per_epoch(r[s], 'valid_loss') for s in seeds])]
        tta_e = ms([r[s].get('tta_error_rate') for s in seeds])
        tta_l = ms([r[s].get('tta_valid_loss') for s in seeds])
        print(f'| {name} | {",".join(map(str, seeds))} | {ms(err)} | {ms(loss)} | '
              f'{" ".join(f"{x:.3f}" for x in ep_err)} | {" ".join(f"{x:.3f}" for x in ep_loss)} | {tta_e} | {tta_l} |')

    # Paired by seed: each PetsML run against the reference's run with the same seed (same split, other random numbers).
    ref = runs.get((cut, 'reference'), {})
    paired_rows = []
    for name in names:
        if name == 'reference':
            continue
        seeds = sorted(set(runs[(cut, name)]) & set(ref))
        if len(seeds) < 2:
            continue
        def paired(ours_key, ref_key):
            d = [runs[(cut, name)][s][ours_key] - ref[s][ref_key] for s in seeds]
            mean, sd = statistics.mean(d), statistics.stdev(d)
            return (f'{mean:+.4f} ± {sd / len(d) ** 0.5:.4f} (t {mean / (sd / len(d) ** 0.5) if sd else 0:+.1f}); '
                    f'lower at {sum(x < 0 for x in d)}, equal at {sum(x == 0 for x in d)}, higher at {sum(x > 0 for x in d)}')
        paired_rows.append([name, len(seeds), paired('final_error_rate', 'final_error_rate'), paired('final_valid_loss', 'final_valid_loss')])
        if all(runs[(cut, name)][s].get('tta_error_rate') is not None for s in seeds):  # PetsML's TTA against the reference's plain run
            paired_rows.append([name + ' with TTA', len(seeds), paired('tta_error_rate', 'final_error_rate'), paired('tta_valid_loss', 'final_valid_loss')])
    if paired_rows:
        print('\n| run − reference, paired by seed | seeds | final error: mean ± se (t); seeds | final valid loss: mean ± se (t); seeds |')
        print('|---|---|---|---|')
        for name, n, e, l in paired_rows:
            print(f'| {name} | {n} | {e} | {l} |')
