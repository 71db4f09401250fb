#!/usr/bin/env bash
# PetsML and fastai's recipe in plain PyTorch (../shared/tools/reference/fastai_recipe.py), run alternately
# on the same photos, split (seed 42), weights, sizes and batch size, so machine drift hits both alike.
#   bench/side-by-side.sh                      # 3 seeds of fine_tune(2) at 224, batch 32, plus lr_find and raw steps
#   SEEDS="0" bench/side-by-side.sh            # one seed
# Needs: apt-get install -y python3-torch python3-torchvision python3-onnx python3-pil (Debian 12).
# Writes one JSON per run into $OUT and prints a summary (bench/summarize.py).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/pets-sample/images}
REF=${REF:-../shared/tools/reference}
SEEDS=${SEEDS:-0 1 2}
BS=${BS:-32}
OUT=${OUT:-bench/results/$(date -u +%Y%m%d-%H%M%S)}
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
/usr/bin/python3 bench/summarize.py "$OUT"
