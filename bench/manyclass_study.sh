#!/usr/bin/env bash
# Issue 28's benchmark: many classes, few photos. PetsML and the reference (fastai's recipe in plain PyTorch) seed by
# seed on one cut made by bench/manyclass_cut.py (CUT_DIR holds the photos, CUT_DIR.train.txt the training list; every
# other photo validates), the issue's recipe set by hand the same on both sides: fine_tune(4) with 1 frozen epoch,
# size 224, presize 460, batch 32, base lr 2e-3, fp32, 2 threads. Optionally a second PetsML build (PETSML2_DLL,
# named PETSML2_NAME) runs on the same seeds, e.g. a build with one resample of the training views.
#   CUT_DIR=/data/caltech37 REF=reference bench/manyclass_study.sh
#   PETSML2_DLL=/tmp/one/PetsML.Bench.dll PETSML2_NAME=oneresample SEEDS="0 1" CUT_DIR=... REF=... bench/manyclass_study.sh
#   /usr/bin/python3 bench/study_summary.py bench/results/manyclass.jsonl     # the tables, paired by seed
# Each run writes CUT-RUN-seedN.json and .log into $OUT; finished runs are added to $RECORD, and a run the record
# already holds is not run again. REF: the folder holding fastai_recipe.py and mapping.json (not in this repository).
set -euo pipefail
cd "$(dirname "$0")/.."
CUT_DIR=${CUT_DIR:-}
REF=${REF:-}
[ -n "$CUT_DIR" ] && [ -d "$CUT_DIR" ] && [ -f "$CUT_DIR.train.txt" ] || { echo "$0: set CUT_DIR to a folder made by bench/manyclass_cut.py (with CUT_DIR.train.txt beside it); got '$CUT_DIR'" >&2; exit 2; }
[ -n "$REF" ] && [ -f "$REF/fastai_recipe.py" ] && [ -f "$REF/mapping.json" ] || { echo "$0: set REF to the folder holding the reference (fastai_recipe.py and mapping.json, not part of this repository); got '$REF'" >&2; exit 2; }
SEEDS=${SEEDS:-0 1 2 3 4 5 6 7 8 9}
CUT=${CUT:-$(basename "$CUT_DIR")}
REFERENCE=${REFERENCE:-1}
PETSML=${PETSML:-1}
BENCH_DLL=${BENCH_DLL:-bench/PetsML.Bench/bin/Release/net10.0/PetsML.Bench.dll}
PETSML2_DLL=${PETSML2_DLL:-}
PETSML2_NAME=${PETSML2_NAME:-variant}
THREADS=${THREADS:-2}
OUT=${OUT:-${TMPDIR:-/tmp}/petsml-manyclass}
RECORD=${RECORD:-bench/results/manyclass.jsonl}
ONNX=${ONNX:-$HOME/.nuget/packages/microsoft.ml.dnnimagefeaturizer.resnet18/0.23.1/tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx}
mkdir -p "$OUT"
LIST="$CUT_DIR.train.txt"
RECIPE="--bs 32 --epochs 4 --freeze-epochs 1 --size 224 --presize 460 --seed"
has() { /usr/bin/python3 bench/study_summary.py --has "$RECORD" "$CUT" "$1" "$2"; }
petsml() {  # dll run-name seed
  local f="$OUT/$CUT-petsml-$2-seed$3"
  [ -s "$f.json" ] || has "petsml-$2" "$3" || dotnet "$1" pets --data "$CUT_DIR" --train-list "$LIST" --tta \
    --threads "$THREADS" --precision fp32 $RECIPE "$3" --out-json "$f.json" > /dev/null 2> "$f.log"
}
for seed in $SEEDS; do
  [ "$PETSML" = 1 ] && petsml "$BENCH_DLL" baseline "$seed"
  [ -n "$PETSML2_DLL" ] && petsml "$PETSML2_DLL" "$PETSML2_NAME" "$seed"
  f="$OUT/$CUT-reference-seed$seed"
  if [ "$REFERENCE" = 1 ] && [ ! -s "$f.json" ] && ! has reference "$seed"; then
    /usr/bin/python3 bench/reference_with_split.py --reference "$REF/fastai_recipe.py" --train-list "$LIST" -- \
      --data "$CUT_DIR" --onnx "$ONNX" --mapping "$REF/mapping.json" --threads "$THREADS" $RECIPE "$seed" \
      --out-json "$f.json" > "$f.log" 2>&1
  fi
  /usr/bin/python3 bench/study_summary.py --add "$RECORD" "$OUT"
done
/usr/bin/python3 bench/study_summary.py "$RECORD"
