#!/usr/bin/python3
"""Splits the PetsML − reference gap of bench/replay_swap_study.sh's seeds into the part that travels with the
training batches (shuffle, presize positions, augmentation: "data") and the part that travels with the head's
initial weights and dropout masks ("head draws"). Per seed, from the final epoch, with P and R the two sides' own
runs, DP PetsML's batches with the reference's head draws and DR the reference's batches with PetsML's:
  data       = ((P − DR) + (DP − R)) / 2
  head draws = ((P − DP) + (DR − R)) / 2          (the two add up to P − R)
and, over seeds, mean ± standard error and t, for the error and the valid loss.
  bench/replay_swap_summary.py OUT
"""
import glob, json, math, os, re, sys


def final(rows):
    return rows[-1]['error_rate'], rows[-1]['valid_loss']


def stats(values):
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return f'{mean:+.4f}'
    se = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1) / n)
    return f'{mean:+.4f} ± {se:.4f}' + (f' (t {mean / se:+.1f})' if se > 0 else '')


if len(sys.argv) != 2:
    sys.exit(__doc__)
folder = sys.argv[1]
seeds = sorted(int(re.search(r'-s(\d+)\.json$', p).group(1)) for p in glob.glob(os.path.join(folder, 'x-dr-s*.json')))
seeds = [s for s in seeds if os.path.exists(os.path.join(folder, f'x-dp-s{s}.json'))]
if not seeds:
    sys.exit(f'no finished seed in {folder} (x-dp-sN.json and x-dr-sN.json)')
parts = {k: ([], []) for k in ('P − R', 'data', 'head draws')}
print('| seed | P: error / valid loss | R | DP (P batches, R head draws) | DR (R batches, P head draws) |')
print('|---|---|---|---|---|')
for s in seeds:
    dp, dr = (json.load(open(os.path.join(folder, f'x-{k}-s{s}.json'))) for k in ('dp', 'dr'))
    P, R, DP, DR = final(dp['dump']), final(dr['dump']), final(dp['replay']), final(dr['replay'])
    print(f'| {s} | ' + ' | '.join(f'{e:.3f} / {v:.3f}' for e, v in (P, R, DP, DR)) + ' |')
    for i in (0, 1):
        parts['P − R'][i].append(P[i] - R[i])
        parts['data'][i].append(((P[i] - DR[i]) + (DP[i] - R[i])) / 2)
        parts['head draws'][i].append(((P[i] - DP[i]) + (DR[i] - R[i])) / 2)
print()
print(f'| over seeds {",".join(map(str, seeds))} | error: mean ± se (t) | valid loss: mean ± se (t) |')
print('|---|---|---|')
for name, (errors, losses) in parts.items():
    print(f'| {name} | {stats(errors)} | {stats(losses)} |')
