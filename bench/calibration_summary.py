#!/usr/bin/python3
"""The calibration report of `pets` runs (the `calibration` of each record size_study.py writes), per cut: the ECE
(15 bins) of the plain softmax and after the temperature, on the validation photos (T fitted on them) and held out (T
fitted on one half, measured on the other), beside the ECE a perfectly calibrated model would show on as many photos.
  bench/calibration_summary.py RECORD.jsonl
"""
import json, statistics, sys

if len(sys.argv) != 2 or sys.argv[1].startswith('-'):
    sys.exit(__doc__.strip())
by = {}
with open(sys.argv[1]) as f:
    for line in f:
        if line.strip():
            e = json.loads(line)
            if e.get('result') and e['result'].get('calibration'):
                by.setdefault((e['cut'], e['run']), []).append(e)

KEYS = [('temperature', 'T'), ('ece_plain', 'ECE plain'), ('ece_calibrated', 'ECE after T'),
        ('ece_floor_plain', 'floor (plain)'), ('held_out_ece_plain', 'held out, plain'),
        ('held_out_ece_calibrated', 'held out, after T'), ('nll_plain', 'NLL plain'), ('nll_calibrated', 'NLL after T')]
print('| cut | run | seed | validation photos | error | ' + ' | '.join(label for _, label in KEYS) + ' |')
print('|---|---|---|---|---|' + '---|' * len(KEYS))
for (cut, run), runs in sorted(by.items()):
    for e in sorted(runs, key=lambda e: e['seed']):
        r, c = e['result'], e['result']['calibration']
        print(f"| {cut} | {run} | {e['seed']} | {r['valid_images']} | {r['final_error_rate']:.3f} | "
              + ' | '.join(f'{c[k]:.3f}' for k, _ in KEYS) + ' |')
    if len(runs) > 1:
        mean = lambda k: f"{statistics.mean(e['result']['calibration'][k] for e in runs):.3f} ± {statistics.stdev(e['result']['calibration'][k] for e in runs):.3f}"
        err = statistics.mean(e['result']['final_error_rate'] for e in runs)
        print(f"| {cut} | {run} | mean ± sd of {len(runs)} | | {err:.3f} | " + ' | '.join(mean(k) for k, _ in KEYS) + ' |')
