#!/usr/bin/env bash
# The accuracy study of issue 10: PetsML and the reference (fastai's recipe in plain PyTorch), alternately, seed by
# seed, on two cuts of the same photos with the same splits and weights:
#   full    - the lesson's seeded 20% split (split seed 42), fine_tune(2) at 224, batch 32;
#   fewshot - 8 training images a class (bench/fewshot_cut.py, seed 42), every other image validates,
#             fine_tune(4, freeze_epochs=1) at 224, batch 8 (24 training images: batch 32 would drop them all).
# PetsML also reports fastai's tta() on the final model. Accuracy does not depend on machine load; times do.
#   DATA=photos REF=reference bench/study.sh        # seeds 0-9, both cuts, both systems (DATA, REF: see below)
#   CUTS=full TTA=0 bench/study.sh                 # one cut, without the TTA pass
#   BENCH_DLL=/tmp/b/PetsML.Bench.dll NO_BUILD=1 bench/study.sh   # a copy of the binaries, so rebuilding cannot disturb a long study
#   SEEDS="0 1 2 3 4" NAME=mixup PETSML_EXTRA="--mixup 0.4" REFERENCE=0 bench/study.sh   # a trick, PetsML only
#   /usr/bin/python3 bench/study_summary.py        # the tables, from the record bench/results/study.jsonl
# Each run writes its JSON and log into $OUT (a scratch folder); finished runs are then added to the record
# ($RECORD), and a run the record already holds is not run again.
# DATA: the photos (the figures in bench/README.md used 569 photos of 3 breeds). REF: the folder of the reference,
# fastai_recipe.py and its mapping.json, which is not part of this repository.
# Needs: apt-get install -y python3-torch python3-torchvision python3-onnx python3-pil (Debian 12).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-}
REF=${REF:-}
[ -n "$DATA" ] && [ -d "$DATA" ] || { echo "$0: set DATA to a folder of pet photos named <breed>_<n>.jpg (the figures in bench/README.md used 569 photos of 3 breeds); got '$DATA'" >&2; exit 2; }
[ -n "$REF" ] && [ -f "$REF/fastai_recipe.py" ] && [ -f "$REF/mapping.json" ] || { echo "$0: set REF to the folder holding the reference (fastai_recipe.py and mapping.json: fastai's recipe in plain PyTorch, not part of this repository); got '$REF'" >&2; exit 2; }
SEEDS=${SEEDS:-0 1 2 3 4 5 6 7 8 9}
CUTS=${CUTS:-fewshot full}
NAME=${NAME:-baseline}
REFERENCE=${REFERENCE:-1}
PETSML_EXTRA=${PETSML_EXTRA:-}
OUT=${OUT:-${TMPDIR:-/tmp}/petsml-study}
RECORD=${RECORD:-bench/results/study.jsonl}
ONNX=${ONNX:-$HOME/.nuget/packages/microsoft.ml.dnnimagefeaturizer.resnet18/0.23.1/tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx}
mkdir -p "$OUT"
[ -n "${NO_BUILD:-}" ] || dotnet build -c Release bench/PetsML.Bench -v quiet -nologo > /dev/null
TTA=${TTA:-1}
BENCH="dotnet ${BENCH_DLL:-bench/PetsML.Bench/bin/Release/net10.0/PetsML.Bench.dll} pets --data $DATA"
if [ "$TTA" = 1 ]; then BENCH="$BENCH --tta"; fi
PY="/usr/bin/python3 bench/reference_with_split.py --reference $REF/fastai_recipe.py"
PYARGS="--data $DATA --onnx $ONNX --mapping $REF/mapping.json"
CUT="$OUT/fewshot-train.txt"
/usr/bin/python3 bench/fewshot_cut.py --data "$DATA" --per-class 8 --seed 42 --out "$CUT" > /dev/null

for seed in $SEEDS; do
  for cut in $CUTS; do
    if [ "$cut" = fewshot ]; then
      P="--train-list $CUT --bs 8 --epochs 4 --freeze-epochs 1"; R="--train-list $CUT"; RP="--bs 8 --epochs 4 --freeze-epochs 1"
    else
      P="--bs 32 --epochs 2 --freeze-epochs 1"; R=""; RP="--bs 32 --epochs 2 --freeze-epochs 1"
    fi
    f="$OUT/$cut-petsml-$NAME-seed$seed"
    has() { /usr/bin/python3 bench/study_summary.py --has "$RECORD" "$cut" "$1" "$seed"; }
    [ -s "$f.json" ] || has "petsml-$NAME" || $BENCH $P --seed "$seed" $PETSML_EXTRA --out-json "$f.json" > /dev/null 2> "$f.log"
    f="$OUT/$cut-reference-seed$seed"
    if [ "$REFERENCE" = 1 ] && [ ! -s "$f.json" ] && ! has reference; then
      $PY $R -- $PYARGS $RP --seed "$seed" --out-json "$f.json" > "$f.log" 2>&1
    fi
  done
done
/usr/bin/python3 bench/study_summary.py --add "$RECORD" "$OUT"
/usr/bin/python3 bench/study_summary.py "$RECORD"
