#!/usr/bin/env bash
# PetsML and fastai's recipe in plain PyTorch (the reference: $REF/fastai_recipe.py, kept outside this repository), run alternately
# on the same photos, split (seed 42), weights, sizes and batch size, so machine drift hits both alike.
#   DATA=photos REF=reference bench/side-by-side.sh   # 3 seeds of fine_tune(2) at 224, batch 32, plus lr_find and raw steps
#   SEEDS="0" bench/side-by-side.sh            # one seed
# Needs: apt-get install -y python3-torch python3-torchvision python3-onnx python3-pil (Debian 12).
# Writes one JSON per run into $OUT (a scratch folder), adds them to bench/results/side-by-side.jsonl as session
# $SESSION and prints the summary (bench/summarize.py). DATA: the photos; REF: the folder of the reference
# (fastai_recipe.py and its mapping.json), which is not part of this repository.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-}
REF=${REF:-}
[ -n "$DATA" ] && [ -d "$DATA" ] || { echo "$0: set DATA to a folder of pet photos named <breed>_<n>.jpg (the figures in bench/README.md used 569 photos of 3 breeds); got '$DATA'" >&2; exit 2; }
[ -n "$REF" ] && [ -f "$REF/fastai_recipe.py" ] && [ -f "$REF/mapping.json" ] || { echo "$0: set REF to the folder holding the reference (fastai_recipe.py and mapping.json: fastai's recipe in plain PyTorch, not part of this repository); got '$REF'" >&2; exit 2; }
SEEDS=${SEEDS:-0 1 2}
BS=${BS:-32}
SESSION=${SESSION:-$(date -u +%Y%m%d-%H%M%S)}
OUT=${OUT:-${TMPDIR:-/tmp}/petsml-side-by-side-$SESSION}
ONNX=${ONNX:-$HOME/.nuget/packages/microsoft.ml.dnnimagefeaturizer.resnet18/0.23.1/tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx}
mkdir -p "$OUT"
dotnet build -c Release bench/PetsML.Bench -v quiet -nologo
BENCH="dotnet bench/PetsML.Bench/bin/Release/net10.0/PetsML.Bench.dll"
PY="/usr/bin/python3 $REF/fastai_recipe.py --data $DATA --onnx $ONNX --mapping $REF/mapping.json --bs $BS"

peak() { /usr/bin/time -f "%M" -o "$1" "${@:2}"; }   # max resident set size in KiB

$BENCH step --bs "$BS" --out-json "$OUT/petsml-step.json" > /dev/null
$BENCH batches --data "$DATA" --bs "$BS" > "$OUT/petsml-batches.json"
peak "$OUT/petsml-lrfind.rss" $BENCH pets --data "$DATA" --bs "$BS" --epochs 0 --freeze-epochs 0 --lr-find --out-json "$OUT/petsml-lrfind.json" > /dev/null 2>&1 || true
peak "$OUT/reference-lrfind.rss" $PY --lr-find --epochs 0 --out-json "$OUT/reference-lrfind.json" > /dev/null 2>&1 || true
for seed in $SEEDS; do
  peak "$OUT/petsml-seed$seed.rss" $BENCH pets --data "$DATA" --bs "$BS" --epochs 2 --seed "$seed" --out-json "$OUT/petsml-seed$seed.json" 2> "$OUT/petsml-seed$seed.log" > /dev/null
  peak "$OUT/reference-seed$seed.rss" $PY --epochs 2 --seed "$seed" --out-json "$OUT/reference-seed$seed.json" > "$OUT/reference-seed$seed.log" 2>&1
done
/usr/bin/python3 bench/summarize.py --add bench/results/side-by-side.jsonl "$SESSION" "$OUT"
/usr/bin/python3 bench/summarize.py "$SESSION"
