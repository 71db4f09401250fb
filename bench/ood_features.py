"""Out-of-distribution candidates on the feature dumps of `PetsML.Bench ood --features-dir DIR` (needs numpy).

Per seed the verb writes seed{s}-{all|near}-{set}-{logits|pooled|penultimate|labels}.npy for the training photos
(the deterministic validation path, no augmentation), the validation photos and the outside photos. This script scores
each candidate ("higher = more likely outside") with AUROC and the share of outside photos accepted at 95%
in-distribution acceptance (the bench's own definitions) and prints one markdown table per outside set, mean ± sd
over the seeds found.

    python3 bench/ood_features.py DIR [--max-rows 1000] [--json OUT.json]
"""
import glob, json, os, re, statistics, sys
import numpy as np

folder = sys.argv[1]
max_rows = int(sys.argv[sys.argv.index("--max-rows") + 1]) if "--max-rows" in sys.argv else None
json_out = sys.argv[sys.argv.index("--json") + 1] if "--json" in sys.argv else None


def load(prefix, name):
    out = {}
    for part in ("logits", "pooled", "penultimate", "labels"):
        path = f"{prefix}-{name}-{part}.npy"
        if os.path.exists(path): out[part] = np.load(path).astype(np.float64)
    if "labels" in out: out["labels"] = out["labels"][:, 0].astype(int)
    return out


def auroc(inside, outside):
    # Mann-Whitney U with ties counted half, as the bench does.
    both = np.concatenate([inside, outside])
    order = both.argsort(kind="mergesort")
    ranks = np.empty(len(both))
    sorted_values = both[order]
    i = 0
    while i < len(both):
        j = i
        while j + 1 < len(both) and sorted_values[j + 1] == sorted_values[i]: j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    r = ranks[len(inside):].sum()
    return (r - len(outside) * (len(outside) + 1) / 2) / (len(inside) * len(outside))


def accepted(inside, outside, share=0.95):
    s = np.sort(inside)
    t = s[min(max(int(np.ceil(share * len(s))) - 1, 0), len(s) - 1)]
    return float((outside <= t).mean())


def l2(x): return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def lse(l):
    m = l.max(1, keepdims=True)
    return (m + np.log(np.exp(l - m).sum(1, keepdims=True)))[:, 0]


def softmax(l):
    e = np.exp(l - l.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def knn(bank, x, k):
    d = np.sqrt(np.maximum(2 - 2 * l2(x) @ l2(bank).T, 0))
    return np.sort(d, axis=1)[:, k - 1]


def shrunk_precision(centred):
    # Ledoit-Wolf shrinkage towards a multiple of the identity (fewer rows than features).
    n, d = centred.shape
    s = centred.T @ centred / n
    mu = np.trace(s) / d
    delta = ((s - mu * np.eye(d)) ** 2).sum() / d
    norms = (centred ** 2).sum(1)
    quad = ((centred @ s) * centred).sum(1)
    beta = (norms ** 2 - 2 * quad + (s ** 2).sum()).sum() / (n * n * d)
    shrink = np.clip(min(beta, delta) / delta, 1e-3, 1) if delta > 0 else 1
    return np.linalg.inv(s * (1 - shrink) + np.eye(d) * shrink * mu)


def mahalanobis(train, labels, x):
    classes = sorted(set(labels))
    means = np.stack([train[labels == c].mean(0) for c in classes])
    centred = train - means[np.searchsorted(classes, labels)]
    p = shrunk_precision(centred)
    d = np.stack([(((x - m) @ p) * (x - m)).sum(1) for m in means], 1)
    return d.min(1)


def vim(train, train_logits, x, x_logits, dims):
    # Wang et al. 2022: the residual of the feature outside the training features' principal subspace, scaled to the
    # logits' size, as a virtual logit beside the real ones. The head's output linear has no bias, so the origin is 0.
    _, _, vt = np.linalg.svd(train, full_matrices=False)
    rest = vt[dims:].T
    alpha = train_logits.max(1).mean() / np.linalg.norm(train @ rest, axis=1).mean()
    v = alpha * np.linalg.norm(x @ rest, axis=1)
    return v - lse(x_logits)


def candidates(train, valid, outside):
    if max_rows is not None and len(train["labels"]) > max_rows:
        keep = np.random.default_rng(0).choice(len(train["labels"]), max_rows, replace=False)
        train = {k: v[keep] for k, v in train.items()}
    sets = {"valid": valid, "outside": outside}
    scores = {}
    def add(name, f):
        scores[name] = {s: f(d) for s, d in sets.items()}
    add("msp", lambda d: -softmax(d["logits"]).max(1))
    add("energy", lambda d: -lse(d["logits"]))
    add("max_logit", lambda d: -d["logits"].max(1))
    mean_p, std_p = train["pooled"].mean(0), train["pooled"].std(0) + 1e-6
    feats = {
        "penultimate": lambda d: d["penultimate"],
        "pooled": lambda d: d["pooled"],
        "pooled_std": lambda d: (d["pooled"] - mean_p) / std_p,
    }
    for fname, f in feats.items():
        for k in (1, 5, 10):
            add(f"knn{k}_{fname}", lambda d, f=f, k=k: knn(f(train), f(d), k))
        add(f"maha_l2_{fname}", lambda d, f=f: mahalanobis(l2(f(train)), train["labels"], l2(f(d))))
    for dims in (64, 128, 256):
        add(f"vim{dims}", lambda d, dims=dims: vim(train["penultimate"], train["logits"], d["penultimate"], d["logits"], dims))
    # Combinations: each score standardised by the validation photos' mean and sd (what Fit has), then added.
    def z(name):
        v = scores[name]["valid"]
        return {s: (x - v.mean()) / v.std() for s, x in scores[name].items()}
    for a, b in (("energy", "knn1_penultimate"), ("energy", "knn5_penultimate"), ("energy", "knn1_pooled_std"), ("energy", "knn5_pooled_std"), ("msp", "knn5_penultimate"), ("energy", "maha_l2_pooled_std")):
        za, zb = z(a), z(b)
        scores[f"{a}+{b}"] = {s: za[s] + zb[s] for s in sets}
    return {n: (float(auroc(s["valid"], s["outside"])), accepted(s["valid"], s["outside"])) for n, s in scores.items()}


def stat(values):
    if len(values) == 1: return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


results = {}
for prefix in sorted(glob.glob(f"{folder}/seed*-*-valid-logits.npy")):
    m = re.match(r".*/seed(\d+)-(all|near)-valid-logits.npy", prefix)
    seed, kind = int(m.group(1)), m.group(2)
    base = f"{folder}/seed{seed}-{kind}"
    train, valid = load(base, "train"), load(base, "valid")
    for outside in (("far_photos", "far_drawn") if kind == "all" else ("near",)):
        results.setdefault(outside, {})[seed] = candidates(train, valid, load(base, outside))

for outside, by_seed in results.items():
    seeds = sorted(by_seed)
    print(f"\n{outside} (seeds {', '.join(map(str, seeds))})\n")
    print("| score | AUROC | accepted at 95% |")
    print("| --- | --- | --- |")
    names = list(by_seed[seeds[0]])
    for n in sorted(names, key=lambda n: -statistics.mean(by_seed[s][n][0] for s in seeds)):
        print(f"| {n} | {stat([by_seed[s][n][0] for s in seeds])} | {stat([by_seed[s][n][1] for s in seeds])} |")

if json_out:
    with open(json_out, "w") as f:
        json.dump({o: {str(seed): {n: {"auroc": a, "accepted_at_95": b} for n, (a, b) in r.items()} for seed, r in by_seed.items()} for o, by_seed in results.items()}, f, indent=1)
