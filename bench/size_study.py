#!/usr/bin/python3
"""Issue 23's sweep over data size: PetsML with no options (the training plan decides), PetsML with the fixed
defaults it had before the plan (batch 64, fine_tune(2) with 1 frozen, lr 2e-3) and the reference (fastai's recipe
in plain PyTorch) at every point of a grid (batch {8, 16, 32, 64} x fine_tune {2, 4, 8}), seed by seed, on cuts made by
bench/size_cuts.py (the same split on every side: CUT/ holds the photos, CUT.train.txt the training list).

A batch larger than the training set gives no step under drop_last, so those grid points (and the fixed defaults
below 64 photos) are recorded as not trained instead of run. Every run is one process timed from outside (start-up,
decode, training and validation: the wall time a user waits). Finished runs go to the record, one JSON line each;
a run the record holds is not run again.
  bench/size_study.py run --cuts /data/pets-5,/data/pets-10 --seeds 0,1,2,3,4 --reference REF --record R.jsonl
  bench/size_study.py summary R.jsonl            # per cut: the plan against the grid's best and the fixed defaults
  bench/size_study.py pair --cut pets-50 R.jsonl:petsml-bs16-ft8 R.jsonl:petsml-plan   # any two runs, seed by seed
REF: the folder holding fastai_recipe.py and mapping.json (not in this repository).
"""
import argparse, json, math, os, re, resource, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
BATCHES, EPOCHS = (8, 16, 32, 64), (2, 4, 8)
# The plan under earlier epoch rules, kept where a rule change chose differently (docs/training-plan.md).
OLD_PLANS = {'petsml-plan-1200': '1,200 photos whatever the classes', 'petsml-plan-600': '600 photos'}
# PetsML set by hand at a grid point, e.g. petsml-bs16-ft8 or, in another precision, petsml-bs16-ft8-fp32.
PETSML_POINT = re.compile(r'petsml-bs(\d+)-ft(\d+)(?:-(\w+))?')
ONNX = os.path.expanduser('~/.nuget/packages/microsoft.ml.dnnimagefeaturizer.resnet18/0.23.1/tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx')


def read_record(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def runs_for(train_photos, which, petsml_points=(), grid_points=()):
    """(name, bench args or None when it cannot train) for every run of one cut and seed."""
    if 'plan' in which:
        yield 'petsml-plan', ['--plan']
    for point in petsml_points:  # PetsML set by hand at a grid point, to tell the plan's choice from the trainer
        bs, ep = point.removeprefix('bs').split('-ft')
        yield f'petsml-bs{bs}-ft{ep}', (['--bs', bs, '--epochs', ep, '--freeze-epochs', '1'] if int(bs) <= train_photos else None)
    if 'grid' in which:
        for bs in BATCHES:
            for ep in EPOCHS:
                if grid_points and f'bs{bs}-ft{ep}' not in grid_points:
                    continue
                yield f'reference-bs{bs}-ft{ep}', (['--bs', str(bs), '--epochs', str(ep), '--freeze-epochs', '1'] if bs <= train_photos else None)
    if 'fixed' in which:
        yield 'petsml-fixed', (['--bs', '64', '--epochs', '2', '--freeze-epochs', '1'] if 64 <= train_photos else None)


def run(args):
    held = {(r['cut'], r['run'], r['seed']) for r in read_record(args.record)}
    os.makedirs(args.out, exist_ok=True)
    for cut_dir in args.cuts.split(','):
        cut, train_list = os.path.basename(cut_dir.rstrip('/')), cut_dir.rstrip('/') + '.train.txt'
        with open(train_list) as f:
            train_photos = sum(1 for line in f if line.strip())
        for seed in [int(s) for s in args.seeds.split(',')]:
            for name, extra in runs_for(train_photos, args.runs.split(','), [p for p in args.petsml_points.split(',') if p],
                                         [p for p in args.grid.split(',') if p]):
                if name.startswith('petsml') and args.precision != 'auto':
                    name += f'-{args.precision}'  # e.g. petsml-bs16-ft8-fp32: not what a user gets by default
                if (cut, name, seed) in held:
                    continue
                entry = {'cut': cut, 'run': name, 'seed': seed, 'train_photos': train_photos}
                if extra is None:
                    entry['result'] = None  # a batch larger than the training set: no optimizer step
                else:
                    base = os.path.join(args.out, f'{cut}-{name}-seed{seed}')
                    common = ['--size', '224', '--presize', '460', '--seed', str(seed),
                              '--threads', str(args.threads), '--out-json', base + '.json']
                    if name.startswith('petsml'):
                        cmd = ['dotnet', args.bench_dll, 'pets', '--data', cut_dir, '--train-list', train_list,
                               '--precision', args.precision] + extra + common
                    else:
                        cmd = [args.python, os.path.join(HERE, 'reference_with_split.py'), '--reference',
                               os.path.join(args.reference, 'fastai_recipe.py'), '--train-list', train_list, '--',
                               '--data', cut_dir, '--onnx', args.onnx, '--mapping', os.path.join(args.reference, 'mapping.json')] + extra + common
                    start, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
                    with open(base + '.log', 'w') as log:
                        code = subprocess.call(cmd, stdout=log if not name.startswith('petsml') else subprocess.DEVNULL, stderr=log)
                    entry['wall_s'] = time.perf_counter() - start
                    after = resource.getrusage(resource.RUSAGE_CHILDREN)
                    entry['cpu_s'] = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
                    if code != 0 or not os.path.exists(base + '.json'):
                        print(f'{cut} {name} seed {seed}: failed with exit code {code}; see {base}.log', file=sys.stderr)
                        continue
                    with open(base + '.json') as f:
                        entry['result'] = json.loads(f.read().strip().splitlines()[-1])
                with open(args.record, 'a') as f:
                    f.write(json.dumps(entry) + '\n')
                print(f'{cut} {name} seed {seed}: ' + ('not trained' if entry['result'] is None else
                      f"error {final(entry)[0]:.3f}, valid loss {final(entry)[1]:.3f}, {entry['wall_s']:.0f} s"), flush=True)


def final(entry):
    """The last epoch's error and valid loss (both the bench's and the reference's JSON name them so)."""
    return entry['result']['final_error_rate'], entry['result']['final_valid_loss']


def paired(a, b):
    """Mean, standard error and t of a - b over the seeds both have."""
    seeds = sorted(set(a) & set(b))
    d = [round(a[s] - b[s], 9) for s in seeds]  # the two sides compute 1/60 in different float paths
    if len(d) < 2:
        return None
    m, se = statistics.mean(d), statistics.stdev(d) / math.sqrt(len(d))
    return m, se, (m / se if se > 0 else (0.0 if m == 0 else math.copysign(math.inf, m))), len(d)


def paired_final(a, b):
    """Paired (error, valid loss) differences of two runs given as {seed: entry}, or None below 2 common seeds."""
    e, l = (paired({s: final(x)[i] for s, x in a.items()}, {s: final(x)[i] for s, x in b.items()}) for i in (0, 1))
    return (e, l) if e and l else None


def cell(d):
    return f'{d[0]:+.3f} ± {d[1]:.3f} (t {d[2]:+.1f})'


def shape(runs):
    r = next(iter(runs.values()))['result']
    return f"(batch {r['bs']}, fine_tune({r['epochs']}))"


def summary(args):
    by = {}
    for e in read_record(args.record):
        by.setdefault(e['cut'], {}).setdefault(e['run'], {})[e['seed']] = e
    print('| cut | train photos | run | seeds | error (mean ± sd) | valid loss | wall s (mean) | CPU s (mean) |')
    print('|---|---|---|---|---|---|---|---|')
    verdicts, same, gains = [], [], []
    for cut in sorted(by, key=lambda c: (c.rsplit('-', 1)[0], int(c.rsplit('-', 1)[1]) if c.rsplit('-', 1)[1].isdigit() else 1 << 30)):
        runs = by[cut]
        trained = {n: {s: e for s, e in seeds.items() if e['result'] is not None} for n, seeds in runs.items()}
        photos = next(iter(next(iter(runs.values())).values()))['train_photos']

        def row(name, label):
            got = trained.get(name, {})
            if not got:
                if name in runs:
                    print(f'| {cut} | {photos} | {label} | - | does not train (batch > training photos) | | |')
                return
            err = [final(e)[0] for e in got.values()]
            loss = [final(e)[1] for e in got.values()]
            wall = [e['wall_s'] for e in got.values()]
            cpu = [e['cpu_s'] for e in got.values()]
            sd = lambda v: statistics.stdev(v) if len(v) > 1 else 0.0
            print(f'| {cut} | {photos} | {label} | {len(got)} | {statistics.mean(err):.3f} ± {sd(err):.3f} | '
                  f'{statistics.mean(loss):.3f} ± {sd(loss):.3f} | {statistics.mean(wall):.0f} | {statistics.mean(cpu):.0f} |')

        plan = trained.get('petsml-plan', {})
        row('petsml-plan', 'PetsML, no options' + (' ' + shape(plan) if plan else ''))
        for old_name, rule in OLD_PLANS.items():
            if old := trained.get(old_name, {}):
                row(old_name, f'PetsML, no options, the rule of {rule} ' + shape(old))
                if d := paired_final(plan, old):
                    gains.append(f'| {cut} | {rule} | {d[0][3]} | {cell(d[0])} | {cell(d[1])} |')
        row('petsml-fixed', 'PetsML, fixed defaults (batch 64, fine_tune(2))')
        for n in sorted(n for n in runs if n.startswith('petsml-bs')):
            bs, epochs, precision = PETSML_POINT.fullmatch(n).groups()
            row(n, f'PetsML set to batch {bs}, fine_tune({epochs})' + (f', {precision}' if precision else ''))
        grid = {n: g for n, g in trained.items() if n.startswith('reference') and g}
        most = max((len(g) for g in grid.values()), default=0)
        complete = {n: g for n, g in grid.items() if len(g) == most}
        best = min(complete, key=lambda n: (statistics.mean(final(e)[0] for e in complete[n].values()),
                                             statistics.mean(final(e)[1] for e in complete[n].values())), default=None)
        for n in sorted(grid, key=lambda n: (int(n.split('-bs')[1].split('-')[0]), int(n.split('-ft')[1]))):
            row(n, ('**grid best** ' if n == best else '') + 'reference ' + n.split('-', 1)[1].replace('bs', 'batch ').replace('-ft', ', fine_tune(') + ')')
        for n in sorted(n for n in trained if n.startswith('petsml-bs') and trained[n]):
            bs, epochs, _ = PETSML_POINT.fullmatch(n).groups()
            if d := paired_final(trained[n], trained.get(f'reference-bs{bs}-ft{epochs}', {})):
                same.append(f'| {cut} | {n.split("-", 1)[1]} | {d[0][3]} | {cell(d[0])} | {cell(d[1])} |')
        if best and plan and (d := paired_final(plan, complete[best])):
            ratio = lambda k: statistics.mean(x[k] for x in plan.values()) / statistics.mean(x[k] for x in complete[best].values())
            verdicts.append(f'| {cut} | {best.split("-", 1)[1]} | {d[0][3]} | {cell(d[0])} | {cell(d[1])} | '
                            f'{ratio("wall_s"):.2f}x | {ratio("cpu_s"):.2f}x |')
    if verdicts:
        print('\nPetsML with no options minus the grid\'s best point, paired by seed (mean ± standard error, t):\n')
        print('| cut | grid best | pairs | error | valid loss | wall time, PetsML / grid best | CPU time, PetsML / grid best |')
        print('|---|---|---|---|---|---|---|')
        print('\n'.join(verdicts))
    if gains:
        print('\nPetsML with no options minus the same under an earlier rule for the unfrozen epochs, paired by seed:\n')
        print('| cut | rule before | pairs | error | valid loss |')
        print('|---|---|---|---|---|')
        print('\n'.join(gains))
    if same:
        print('\nPetsML set by hand minus the reference at the same grid point, paired by seed:\n')
        print('| cut | point | pairs | error | valid loss |')
        print('|---|---|---|---|---|')
        print('\n'.join(same))


def pair(args):
    """Two runs of one cut (each RECORD:RUN, from the same record or two), seed by seed, and the first minus the second."""
    def load(spec):
        path, name = spec.rsplit(':', 1)
        return {e['seed']: final(e) for e in read_record(path) if e['cut'] == args.cut and e['run'] == name and e['result']}
    a, b = load(args.first), load(args.second)
    print(f'| seed | {args.first} error | valid loss | {args.second} error | valid loss |')
    print('|---|---|---|---|---|')
    for s in sorted(set(a) & set(b)):
        print(f'| {s} | {a[s][0]:.3f} | {a[s][1]:.3f} | {b[s][0]:.3f} | {b[s][1]:.3f} |')
    for i, what in enumerate(('error', 'valid loss')):
        d = paired({s: v[i] for s, v in a.items()}, {s: v[i] for s, v in b.items()})
        print(f'{what}, first minus second: ' + ('fewer than 2 common seeds' if d is None else f'{d[0]:+.3f} ± {d[1]:.3f} (t {d[2]:+.1f}, {d[3]} pairs)'))


ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
sub = ap.add_subparsers(dest='verb', required=True)
r = sub.add_parser('run')
r.add_argument('--cuts', required=True, help='comma-separated cut folders made by bench/size_cuts.py')
r.add_argument('--seeds', default='0,1,2,3,4')
r.add_argument('--runs', default='plan,grid,fixed', help='which of plan, grid, fixed')
r.add_argument('--reference', required=True, help='folder with fastai_recipe.py and mapping.json')
r.add_argument('--record', required=True)
r.add_argument('--out', default=os.path.join(os.environ.get('TMPDIR', '/tmp'), 'petsml-size-study'))
r.add_argument('--grid', default='', help='only these grid points, e.g. bs8-ft8 (default: all)')
r.add_argument('--petsml-points', default='', help='also PetsML set by hand at these grid points, e.g. bs8-ft8,bs16-ft4')
r.add_argument('--threads', type=int, default=1)
r.add_argument('--precision', default='auto', help='PetsML\'s: auto as a user gets it (bf16-mixed where the CPU has it); another value is added to the run\'s name; the reference runs fp32')
r.add_argument('--bench-dll', default=os.path.join(HERE, 'PetsML.Bench/bin/Release/net10.0/PetsML.Bench.dll'))
r.add_argument('--onnx', default=ONNX)
r.add_argument('--python', default='/usr/bin/python3', help='the Python with torch and numpy that runs the reference')
s = sub.add_parser('summary')
s.add_argument('record')
p = sub.add_parser('pair')
p.add_argument('--cut', required=True)
p.add_argument('first', help='RECORD.jsonl:RUN, e.g. R.jsonl:petsml-bs16-ft8')
p.add_argument('second', help='RECORD.jsonl:RUN')
a = ap.parse_args()
{'run': run, 'summary': summary, 'pair': pair}[a.verb](a)
