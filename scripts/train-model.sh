#!/usr/bin/env bash
# Trains one sample-preset Calo-VQ model end to end and measures it against the project's quality bar:
#   bash scripts/train-model.sh DATASET NORM        DATASET: ds1-photon ds1-pion ds2 ds3; NORM: global layerwise
# In the background (safe to stop at any time; running it again continues where it stopped):
#   nohup bash scripts/train-model.sh ds1-photon layerwise > runs/ds1-photon-layerwise.log 2>&1 &
# Steps, each skipped when its output exists: simulate the training, validation, reference and floor
# sets (fixed seeds, in cache/), stage 1 (resumes from its checkpoint), stage 2 (likewise), generate
# 10,000 showers, evaluate them (separation powers, FPD/KPD, high-level classifier AUC) and the
# simulator floor against the reference. Results land in
# runs/DATASET-NORM/ (model/ holds stage1 + stage2; eval.txt, eval.json, floor.txt). Copying a model
# into sample-data/models/ is a separate, deliberate step taken only when eval.txt meets the bar.
# Epochs: S1_EPOCHS and S2_EPOCHS override the defaults below. S2_SHOWERS=N trains stage 2 on its own
# N-shower file (seed 5000+i, cache/DATASET-train-s2-N.h5) instead of the stage-1 training set: the
# simulator makes data for free, and more of it keeps the GPT from memorising 60k sequences. S1_ARGS adds stage-1 flags for a new
# run (e.g. S1_ARGS="--ec-weight 0.1 --width-weight 0.1"), S2_ARGS stage-2 flags (e.g.
# S2_ARGS="--r-quantiser log"; give the same S2_ARGS when resuming); RUN_DIR picks another folder
# than runs/DATASET-NORM so variants do not overwrite each other. Finished stages are marked by
# s1/trained and model/trained; to train a finished stage 1 further, delete s1/trained and rerun with a
# larger S1_EPOCHS (it resumes from its checkpoint; stage 2 then starts afresh on the new codes).
# After stage 2 the model's spot-rounding table is fitted on training showers (calovq
# calibrate-sparsity, with CAL_ARGS as extra flags, e.g. CAL_ARGS="--epsilon-energy-exponent 0.6");
# SPOT_ROUNDING=0 measures the dense decoder output instead. SAMPLING='{"rLevelInterpolation": true}'
# writes the model folder's sampling.json (how `calovq generate` and the explorer sample it; a change
# regenerates the evaluation showers). CLASSIFIER=0 leaves
# out the high-level classifier test (minutes of CPU) from the evaluation.
set -euo pipefail
cd "$(dirname "$0")/.."

# The whole script is one function, parsed before it runs: editing this file while a long training
# runs in the background cannot change what that run executes next.
main() {
  [ $# -eq 2 ] || { echo "usage: bash scripts/train-model.sh DATASET NORM   (e.g. ds2 layerwise)" >&2; exit 2; }
  ds=$1 norm=$2
  case "$ds" in
    ds1-photon) i=1 ntrain=60000 nval=10000 s1=30 s2=30 energies=(--energies ds1) ;;
    ds1-pion)   i=2 ntrain=60000 nval=10000 s1=30 s2=30 energies=(--energies ds1) ;;
    ds2)        i=3 ntrain=30000 nval=5000  s1=8  s2=20 energies=() ;;
    ds3)        i=4 ntrain=10000 nval=2000  s1=4  s2=20 energies=() ;;
    *) echo "unknown dataset '$ds': use ds1-photon, ds1-pion, ds2 or ds3" >&2; exit 2 ;;
  esac
  case "$norm" in global|layerwise) ;; *) echo "unknown normalisation '$norm': use global or layerwise" >&2; exit 2 ;; esac
  s1=${S1_EPOCHS:-$s1} s2=${S2_EPOCHS:-$s2}
  set --
  source scripts/deps.sh
  swift build -c release --product calovq 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]' >&2
  B="$(swift build -c release --show-bin-path)/calovq"
  run=${RUN_DIR:-runs/$ds-$norm}
  spots=spot-rounding.json
  read -r -a s1args <<< "${S1_ARGS:-}"
  read -r -a s2args <<< "${S2_ARGS:-}"
  read -r -a calargs <<< "${CAL_ARGS:-}"
  mkdir -p cache "$run"

  # Data: seeds 100i (train), 300i (validation), 200i (reference), 400i (floor: the simulator vs itself).
  sim() {  # sim NAME SEED COUNT
    [ -f "cache/$ds-$1.h5" ] || "$B" simulate --dataset "$ds" --count "$3" --seed "$2" --out "cache/$ds-$1.h5" --quiet
  }
  sim train $((1000 + i)) "$ntrain"
  sim val $((3000 + i)) "$nval"
  sim reference $((2000 + i)) 10000
  sim reference2 $((4000 + i)) 10000
  s2data=cache/$ds-train.h5
  if [ -n "${S2_SHOWERS:-}" ]; then s2data=cache/$ds-train-s2-$S2_SHOWERS.h5; sim "train-s2-$S2_SHOWERS" $((5000 + i)) "$S2_SHOWERS"; fi

  # Stage 1 (resumable). A stopped run writes a partial stage1.safetensors and exits 130, so
  # completion is marked by s1/trained, written only after a run that finished.
  if [ ! -f "$run/s1/trained" ]; then
    # S1_ARGS shape a new run only; a resumed run keeps its checkpoint's settings.
    flags=(${s1args[@]+"${s1args[@]}"}); [ -f "$run/s1/checkpoint.safetensors" ] && flags=(--resume)
    "$B" train stage1 --dataset "$ds" --norm "$norm" --preset sample --data "cache/$ds-train.h5" \
      --val "cache/$ds-val.h5" --out "$run/s1" --epochs "$s1" --log-every 50 ${flags[@]+"${flags[@]}"}
    echo "stage 1 finished: $s1 epochs" > "$run/s1/trained"
    rm -rf "$run/codebook.txt" "$run/model" "$run/gen.h5"   # a new stage 1 means new codes: stage 2 starts afresh
  fi
  # Codebook usage on the held-out reference set (the bar asks for ≥ 30 % of the codes).
  if [ ! -f "$run/codebook.txt" ]; then
    "$B" encode "$run/s1/stage1.safetensors" "cache/$ds-reference.h5" --out "$run/reference-codes.npy" > "$run/codebook.txt.tmp"
    mv "$run/codebook.txt.tmp" "$run/codebook.txt"
  fi
  cat "$run/codebook.txt"
  # Stage 2 on the frozen stage-1 codes (resumable); writes the model folder (stage1 + stage2). A
  # stopped stage 2 still writes a (partial) stage2.safetensors and exits 130, so completion is marked
  # by model/trained, written only after a run that finished.
  if [ ! -f "$run/model/trained" ]; then
    resume=(); [ -f "$run/model/checkpoint.safetensors" ] && resume=(--resume)
    "$B" train stage2 --stage1 "$run/s1/stage1.safetensors" --data "$s2data" --out "$run/model" \
      --preset "${S2_PRESET:-paper}" --epochs "$s2" --log-every 50 ${resume[@]+"${resume[@]}"} ${s2args[@]+"${s2args[@]}"}
    echo "stage 2 finished: $s2 epochs" > "$run/model/trained"
    rm -f "$run/gen.h5" "$run/model/$spots"   # a new model: refit the sparsity, generate again
  fi
  # Sparsity: fit the spot-rounding table on 10,000 training showers (never on the reference), so the
  # dense softmax output gets the training data's number of non-empty voxels per layer and energy.
  if [ "${SPOT_ROUNDING:-1}" = 1 ] && [ ! -f "$run/model/$spots" ]; then
    "$B" calibrate-sparsity --model "$run/model" --data "cache/$ds-train.h5" --count 10000 ${calargs[@]+"${calargs[@]}"} > "$run/spot-rounding.txt.tmp"
    mv "$run/spot-rounding.txt.tmp" "$run/spot-rounding.txt"
    rm -f "$run/gen.h5"
  elif [ "${SPOT_ROUNDING:-1}" != 1 ] && [ -f "$run/model/$spots" ]; then
    rm -f "$run/model/$spots" "$run/gen.h5"
  fi
  if [ -n "${SAMPLING:-}" ] && [ "$(cat "$run/model/sampling.json" 2>/dev/null)" != "$SAMPLING" ]; then
    printf '%s\n' "$SAMPLING" > "$run/model/sampling.json.tmp"
    mv "$run/model/sampling.json.tmp" "$run/model/sampling.json"
    rm -f "$run/gen.h5"
  fi
  # Quality: 10,000 generated vs 10,000 held-out simulated showers, and the simulator floor.
  [ -f "$run/gen.h5" ] || "$B" generate --model "$run/model" --count 10000 ${energies[@]+"${energies[@]}"} --seed 1 --out "$run/gen.h5"
  # Reports go to a temporary name first: a stopped run never leaves a half-written report that the
  # next run would mistake for a finished one.
  classifier=(--classifier high); [ "${CLASSIFIER:-1}" = 1 ] || classifier=()
  "$B" evaluate "$run/gen.h5" "cache/$ds-reference.h5" ${classifier[@]+"${classifier[@]}"} --json "$run/eval.json" > "$run/eval.txt.tmp"
  mv "$run/eval.txt.tmp" "$run/eval.txt" && cat "$run/eval.txt"
  if [ ! -f "$run/floor.txt" ]; then
    "$B" evaluate "cache/$ds-reference2.h5" "cache/$ds-reference.h5" > "$run/floor.txt.tmp"
    mv "$run/floor.txt.tmp" "$run/floor.txt"
  fi
  echo "model folder: $run/model; evaluation: $run/eval.txt (floor: $run/floor.txt, codebook: $run/codebook.txt)"
}
main "$@"; exit  # one line: bash has read all it will run before anything runs
