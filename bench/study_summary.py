#!/usr/bin/python3
"""Summarises the accuracy study (bench/study.sh). Per cut and run: mean ± sd of the final error rate and valid loss
over the seeds the run has, per-epoch means and PetsML's TTA; then the same runs counted in photos and seconds, with
what keep-best would have kept (read from the epoch rows); then, paired by seed over the seeds both have, each PetsML
run (and its TTA) against the reference, and each trick (a run named other than baseline) against PetsML's baseline.

The record is bench/results/study.jsonl, one run a line: {"cut", "run", "seed", "result"}, where result is the JSON
the run wrote (the bench's `pets --out-json`, or the reference's `--out-json`).
Usage:
  bench/study_summary.py [SOURCE...]                  the tables; a SOURCE is a record (.jsonl) or a folder of
                                                      per-run files CUT-RUN-seedN.json; default bench/results/study.jsonl
  bench/study_summary.py --add RECORD FOLDER          folds a folder's per-run files into the record (runs it already
                                                      holds are kept as they are)
  bench/study_summary.py --has RECORD CUT RUN SEED    exit status 0 when the record holds that run"""
import glob, json, os, re, statistics, sys

RUN_FILE = re.compile(r'(\w+)-(petsml-\w+|reference)-seed(\d+)\.json$')


def read_folder(folder):
    """(cut, run, seed, result) for each per-run file of a folder, in file-name order; a file's last line is its result."""
    for path in sorted(glob.glob(os.path.join(folder, '*.json'))):
        m = RUN_FILE.match(os.path.basename(path))
        if m:
            with open(path) as f:
                yield m.group(1), m.group(2), int(m.group(3)), json.loads(f.read().strip().splitlines()[-1])


def read_record(path):
    with open(path) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                yield r['cut'], r['run'], r['seed'], r['result']


def read(source):
    return read_folder(source) if os.path.isdir(source) else read_record(source)


if sys.argv[1:2] == ['--has']:
    record, cut, run, seed = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    held = os.path.exists(record) and any(k[:3] == (cut, run, seed) for k in read_record(record))
    sys.exit(0 if held else 1)
if sys.argv[1:2] == ['--add']:
    record, folder = sys.argv[2], sys.argv[3]
    held = {k[:3] for k in read_record(record)} if os.path.exists(record) else set()
    with open(record, 'a') as out:
        for cut, run, seed, result in read_folder(folder):
            if (cut, run, seed) not in held:
                out.write(json.dumps({'cut': cut, 'run': run, 'seed': seed, 'result': result}) + '\n')
    sys.exit(0)

runs = {}
for source in sys.argv[1:] or [os.path.join(os.path.dirname(os.path.abspath(__file__)), 'results', 'study.jsonl')]:
    for cut, run, seed, result in read(source):
        runs.setdefault((cut, run), {})[seed] = result


# The baseline's early few-shot runs skipped TTA; the same seeded runs were repeated with it under the name
# petsml-tta. Where a baseline run lacks TTA and the tta run of its seed has the same plain results bit for bit (so
# it is the same training), the baseline borrows that run's TTA error and loss (not its timings), and says so.
TTA_FIELDS = ('tta_error_rate', 'tta_valid_loss')
borrowed = {}
for (cut, name), seeds in runs.items():
    if name != 'petsml-baseline':
        continue
    repeat = runs.get((cut, 'petsml-tta'), {})
    for seed, d in seeds.items():
        other = repeat.get(seed)
        if d.get('tta_error_rate') is not None or other is None or other.get('tta_error_rate') is None:
            continue
        if (d['final_error_rate'], d['final_valid_loss']) != (other['final_error_rate'], other['final_valid_loss']):
            print(f'warning: {cut} seed {seed}: petsml-tta differs from petsml-baseline; its TTA is not borrowed')
            continue
        d.update({k: other[k] for k in TTA_FIELDS})
        borrowed.setdefault(cut, []).append(seed)


def ms(xs):
    """Mean ± sd of the values present; when some seeds lack the value (TTA in early runs), says over how many."""
    present = [x for x in xs if x is not None]
    if not present:
        return '-'
    sd = statistics.stdev(present) if len(present) > 1 else 0.0
    partial = f' ({len(present)} of {len(xs)} seeds)' if len(present) < len(xs) else ''
    return f'{statistics.mean(present):.4f} ± {sd:.4f}{partial}'


def frozen_epochs(d):
    if isinstance(d.get('epochs'), list):  # the reference: its rows name their phase
        return sum(e['phase'] == 'frozen' for e in d['epochs'])
    return d['freeze_epochs']


def mistakes(d, key):
    """An error rate back in photos: the count of wrong predictions over the validation set."""
    n = d.get('valid_images', d.get('n_valid'))
    return round(d[key] * n), n


def kept_by_keep_best(d):
    """The (error, loss) of the epoch keep-best would end on: the lowest valid loss of the last fit (fine_tune's
    unfrozen epochs). The callback draws no random numbers, so this is what a --keep-best run of the seed reports."""
    losses, errors = per_epoch(d, 'valid_loss')[frozen_epochs(d):], per_epoch(d, 'error_rate')[frozen_epochs(d):]
    best = losses.index(min(losses))
    return errors[best], losses[best]


def per_epoch(d, name):
    if isinstance(d.get('epochs'), list):  # the reference: a list of epoch rows
        return [e[name] for e in d['epochs']]
    return d['error_rates' if name == 'error_rate' else 'valid_losses']


# Two runs' error rates can be the same count of mistakes computed in a different order (1 - accuracy against
# wrong / n): a difference below this is a tie, not a seed where one side is lower.
TIE = 1e-9


def paired(ours, theirs, seeds, ours_key, theirs_key):
    d = [ours[s][ours_key] - theirs[s][theirs_key] for s in seeds]
    mean, sd = statistics.mean(d), statistics.stdev(d)
    se = sd / len(d) ** 0.5
    return (f'{mean:+.4f} ± {se:.4f} (t {mean / se if se else 0:+.1f}); lower at {sum(x < -TIE for x in d)}, '
            f'equal at {sum(abs(x) <= TIE for x in d)}, higher at {sum(x > TIE for x in d)}')


def paired_rows(ours, theirs, name, with_tta):
    seeds = sorted(set(ours) & set(theirs))
    if len(seeds) < 2:
        return []
    rows = [[name, len(seeds), paired(ours, theirs, seeds, 'final_error_rate', 'final_error_rate'),
             paired(ours, theirs, seeds, 'final_valid_loss', 'final_valid_loss')]]
    if with_tta and all(ours[s].get('tta_error_rate') is not None for s in seeds):  # TTA against their plain run
        rows.append([name + ' with TTA', len(seeds), paired(ours, theirs, seeds, 'tta_error_rate', 'final_error_rate'),
                     paired(ours, theirs, seeds, 'tta_valid_loss', 'final_valid_loss')])
    return rows


def print_paired(title, rows):
    if not rows:
        return
    print(f'\n| {title}, paired by seed | seeds | final error: mean ± se (t); seeds '
          '| final valid loss: mean ± se (t); seeds |')
    print('|---|---|---|---|')
    for name, n, e, l in rows:
        print(f'| {name} | {n} | {e} | {l} |')


for cut in sorted({c for c, _ in runs}):
    names = sorted(n for c, n in runs if c == cut)
    print(f'\n## {cut}')
    if cut in borrowed:
        print(f'(petsml-baseline: the TTA of seeds {",".join(map(str, sorted(borrowed[cut])))} is petsml-tta\'s, '
              'the same runs repeated with TTA: same plain results bit for bit)')
    print('| run | seeds | final error (mean ± sd) | final valid loss | error per epoch (means) '
          '| valid loss per epoch | TTA error | TTA valid loss |')
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

    # The same runs in photos and seconds, and what keep-best and early stopping would have done.
    print('\n| run | mistakes: all seeds (of predictions) | with TTA | valid loss falls every epoch '
          '| keep-best from the rows: error, valid loss (mean) | median seconds a run '
          '| TTA ÷ a plain valid pass (median) |')
    print('|---|---|---|---|---|---|---|')
    for name in names:
        r = [runs[(cut, name)][s] for s in sorted(runs[(cut, name)])]
        wrong = [mistakes(d, 'final_error_rate') for d in r]
        tta = [mistakes(d, 'tta_error_rate') for d in r if d.get('tta_error_rate') is not None]
        falls = sum(all(b < a for a, b in zip(v, v[1:])) for v in (per_epoch(d, 'valid_loss') for d in r))
        kept = [kept_by_keep_best(d) for d in r]
        seconds = statistics.median(d.get('total_seconds', d.get('wall_s', 0)) for d in r)
        tta_cost = [d['tta_seconds'] / d['plain_valid_seconds'] for d in r if d.get('tta_seconds')]
        print(f'| {name} | {sum(w for w, _ in wrong)} ({sum(n for _, n in wrong)}) | '
              f'{f"{sum(w for w, _ in tta)} ({sum(n for _, n in tta)})" if tta else "-"} | '
              f'at {falls} of {len(r)} seeds | '
              f'{statistics.mean(e for e, _ in kept):.4f}, {statistics.mean(l for _, l in kept):.4f} | {seconds:.0f} | '
              f'{f"{statistics.median(tta_cost):.1f}x" if tta_cost else "-"} |')

    # Paired by seed: each PetsML run (and its TTA) against the reference's run with the same seed (same split, other
    # random numbers); then each trick against PetsML's baseline with the same seed (same split and random numbers).
    ref = runs.get((cut, 'reference'), {})
    base = runs.get((cut, 'petsml-baseline'), {})
    print_paired('run − reference', [row for name in names if name != 'reference'
                                     for row in paired_rows(runs[(cut, name)], ref, name, with_tta=True)])
    print_paired('trick − baseline', [row for name in names if name not in ('reference', 'petsml-baseline')
                                      for row in paired_rows(runs[(cut, name)], base, name, with_tta=True)])
    # The baseline over exactly the seeds each trick was paired on, so that a trick's table can show both sides.
    for seeds in sorted({tuple(sorted(set(runs[(cut, n)]) & set(base))) for n in names
                         if n not in ('reference', 'petsml-baseline') and len(set(runs[(cut, n)]) & set(base)) >= 2}):
        print(f'petsml-baseline over seeds {",".join(map(str, seeds))}: '
              f'error {ms([base[s]["final_error_rate"] for s in seeds])}, '
              f'valid loss {ms([base[s]["final_valid_loss"] for s in seeds])}')
