#!/usr/bin/env bash
# Issue 28: which random part a PetsML-reference gap follows, seed by seed. For each seed, a real PetsML run and a
# real reference run write their random numbers (replay dumps: bench/PetsML.Bench/ReplayDump.cs,
# bench/reference_replay_dump.py), then bench/replay_check.py trains twice more, crossed: PetsML's batches with the
# reference's initial model and dropout masks (x-dp), and the reference's batches with PetsML's (x-dr). The dumps
# (about 1 GB each at 37 classes) are deleted once the seed is done. bench/replay_swap_summary.py reads OUT.
#   CUT_DIR=/data/caltech37 REF=reference SEEDS="0 1 2" OUT=/tmp/swap bench/replay_swap_study.sh
# The recipe is manyclass_study.sh's (batch 32, fine_tune(4), 224, presize 460, fp32), PetsML contiguous (the
# reference's layout, so a replay is exact); one thread a job, the two runs of a seed side by side, then the two replays.
set -euo pipefail
cd "$(dirname "$0")/.."
CUT_DIR=${CUT_DIR:-}
REF=${REF:-}
[ -n "$CUT_DIR" ] && [ -d "$CUT_DIR" ] && [ -f "$CUT_DIR.train.txt" ] || { echo "$0: set CUT_DIR to a folder made by bench/manyclass_cut.py; got '$CUT_DIR'" >&2; exit 2; }
[ -n "$REF" ] && [ -f "$REF/fastai_recipe.py" ] || { echo "$0: set REF to the folder holding fastai_recipe.py and mapping.json; got '$REF'" >&2; exit 2; }
SEEDS=${SEEDS:-0 1 2 3 4 5}
OUT=${OUT:-${TMPDIR:-/tmp}/petsml-replay-swap}
BENCH_DLL=${BENCH_DLL:-bench/PetsML.Bench/bin/Release/net10.0/PetsML.Bench.dll}
ONNX=${ONNX:-$HOME/.nuget/packages/microsoft.ml.dnnimagefeaturizer.resnet18/0.23.1/tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx}
RECIPE="--bs ${BS:-32} --epochs ${EPOCHS:-4} --freeze-epochs 1 --size 224 --presize 460 --threads 1 --seed"
REPLAY="/usr/bin/python3 bench/replay_check.py --reference $REF/fastai_recipe.py --onnx $ONNX --mapping $REF/mapping.json"
mkdir -p "$OUT"
for S in $SEEDS; do
  [ -s "$OUT/x-dr-s$S.json" ] && continue
  dotnet "$BENCH_DLL" pets --data "$CUT_DIR" --train-list "$CUT_DIR.train.txt" --precision fp32 --channels-last false \
    $RECIPE "$S" --replay-dump "$OUT/p-s$S" --out-json "$OUT/p-s$S.json" > /dev/null 2> "$OUT/p-s$S.log" &
  /usr/bin/python3 bench/reference_with_split.py --reference "$REF/fastai_recipe.py" --train-list "$CUT_DIR.train.txt" \
    --replay-dump "$OUT/r-s$S" -- --data "$CUT_DIR" --onnx "$ONNX" --mapping "$REF/mapping.json" $RECIPE "$S" \
    --out-json "$OUT/r-s$S.json" > "$OUT/r-s$S.log" 2>&1
  wait
  $REPLAY --dump "$OUT/p-s$S" --init-from "$OUT/r-s$S" --masks-from "$OUT/r-s$S" --out-json "$OUT/x-dp-s$S.json" > "$OUT/x-dp-s$S.log" 2>&1 &
  $REPLAY --dump "$OUT/r-s$S" --init-from "$OUT/p-s$S" --masks-from "$OUT/p-s$S" --out-json "$OUT/x-dr-s$S.json" > "$OUT/x-dr-s$S.log" 2>&1
  wait
  rm -rf "$OUT/p-s$S" "$OUT/r-s$S"
done
