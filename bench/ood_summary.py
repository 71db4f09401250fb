"""Summarises `PetsML.Bench ood` output (bench/results/ood/*.json) as the markdown tables of bench/README.md."""
import glob, json, statistics, sys

folder = sys.argv[1] if len(sys.argv) > 1 else "bench/results/ood"
runs = [json.load(open(f)) for f in sorted(glob.glob(f"{folder}/seed*.json"))]
full = [r for r in runs if r["kind"] == "all classes"]
near = [r for r in runs if r["kind"].startswith("held out")]
# "mahalanobis": what the model shipped before the switch to energy (seed 0's record); "shipped": the model's score since.
candidates = ["msp", "msp_calibrated", "max_logit", "energy", "mahalanobis", "shipped"]

def stat(values):
    values = [v for v in values if v is not None]
    if not values: return "-"
    if len(values) == 1: return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"

def table(title, rows, key):
    if not rows: return
    print(f"\n{title} ({len(rows)} seed(s): {', '.join(str(r['seed']) for r in rows)})\n")
    print("| score | AUROC | accepted at 95% in-distribution acceptance |")
    print("| --- | --- | --- |")
    for c in [c for c in candidates if c in rows[0][key]]:
        print(f"| {c} | {stat([r[key][c]['auroc'] for r in rows])} | {stat([r[key][c]['accepted_at_95'] for r in rows])} |")

table("Far: clothing photos", full, "far_photos_scores")
table("Far: drawn demo set", full, "far_drawn_scores")
table("Near: the held-out breed", near, "near_scores")
if full:
    print("\nThe model's own threshold (chosen on the same validation photos):")
    print(f"- validation photos flagged: {stat([r['valid_flagged_by_model'] for r in full])}")
    print(f"- clothing photos flagged: {stat([r['far_photos_flagged_by_model'] for r in full])}")
    print(f"- drawn photos flagged: {stat([r['far_drawn_flagged_by_model'] for r in full])}")
if near:
    print(f"- held-out-breed photos flagged: {stat([r['near_flagged_by_model'] for r in near])} ({', '.join(r['kind'] for r in near)})")
if full:
    c = [r["calibration"] for r in full]
    print(f"\nCalibration ({len(full)} seed(s)), temperature {stat([x['temperature'] for x in c])}, validation error {stat([r['error_rate'] for r in full])}\n")
    print("| | plain softmax | calibrated |")
    print("| --- | --- | --- |")
    print(f"| ECE, validation photos (T fitted on them) | {stat([x['ece_plain'] for x in c])} | {stat([x['ece_calibrated'] for x in c])} |")
    print(f"| ECE, held out (T fitted on the other half) | {stat([x['held_out_ece_plain'] for x in c])} | {stat([x['held_out_ece_calibrated'] for x in c])} |")
    print(f"| NLL, validation photos | {stat([x['nll_plain'] for x in c])} | {stat([x['nll_calibrated'] for x in c])} |")
    floors = [x for x in c if 'ece_floor_plain' in x]  # runs from before the floor was recorded lack it
    if floors:
        print(f"| ECE a calibrated model would show on these photos (the floor; {len(floors)} seed(s)) | "
              f"{stat([x['ece_floor_plain'] for x in floors])} | {stat([x['ece_floor_calibrated'] for x in floors])} |")
