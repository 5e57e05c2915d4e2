#!/usr/bin/env bash
# Trains shapes-llava from scratch with `adsc train`, as a curriculum over scene difficulty
# (docs/shapes.md, section 3c): each stage starts from the previous stage's checkpoint, on scenes
# with more and smaller objects, ending on the task's own scenes. Rerun from the repo root:
#
#   bash examples/shapes-llava/recipe.sh [WORK_DIR] [LAST_STAGE]     (default /tmp/shapes-recipe, 5)
#   START=s3 bash examples/shapes-llava/recipe.sh ...                 (skip s1-s3: start from the
#                                                                      committed checkpoints/s3)
#
# Everything goes into WORK_DIR: the training sets, the untrained model, one checkpoint directory
# per stage (saved every 100 steps; a stage whose directory holds a finished run is skipped), and
# each stage's log. Training seeds are 10, 11, 12 and 1; seeds 30, 31, 32 and 3 are the validation sets, used
# to choose the stages; seed 2 is the test set and is never trained or tuned on.
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=${1:-/tmp/shapes-recipe}
LAST=${2:-5}
source examples/shapes-llava/lib.sh
mkdir -p "$WORK"

# The untrained model: Hugging Face's init, seed 0 (f32).
[ -f "$WORK/init/model.safetensors" ] || script init-shapes-llava "$WORK/init" --seed 0

# The scenes of each stage: training seed, scenes, questions per scene, layout; and the seed of
# its validation set (300 questions, one each, same layout).
layout() {
  case $1 in
    one)  echo "--objects 1 --sizes 56" ;;
    two)  echo "--objects 1-2 --sizes 42,56" ;;
    four) echo "--objects 2-4 --sizes 28,42" ;;
    task) echo "" ;;
  esac
}
declare -A TRAIN=([one]="10 2500 6" [two]="11 3000 8" [four]="12 4000 12" [task]="1 8000 16")
declare -A VALIDATION=([one]=30 [two]=31 [four]=32 [task]=3)

data() {
  local scenes=$1 seed count turns
  read -r seed count turns <<< "${TRAIN[$scenes]}"
  # shellcheck disable=SC2046
  [ -d "$WORK/$scenes" ] || adsc data shapes --seed "$seed" --count "$count" --turns "$turns" $(layout "$scenes") --out "$WORK/$scenes"
  # shellcheck disable=SC2046
  [ -d "$WORK/val-$scenes" ] || adsc data shapes --seed "${VALIDATION[$scenes]}" --count 300 $(layout "$scenes") --out "$WORK/val-$scenes"
}

# stage NAME FROM SCENES PARTS STEPS SEED: one stage, from the checkpoint FROM, then its score on
# the validation set (NAME.eval.json). AdamW without weight decay, lr 1e-3, 50 warm-up steps then
# cosine decay, batch 4, one thread (faster than two at these sizes).
stage() {
  local name=$1 from=$2 scenes=$3 parts=$4 steps=$5 seed=$6
  if [ -n "${START:-}" ] && [ "${name#s}" -le "${START#s}" ]; then
    # A committed stage checkpoint (f16; the next stage trains f32 master copies of it).
    [ "$name" = "$START" ] && { rm -rf "$WORK/$name"; cp -r "examples/shapes-llava/checkpoints/$name" "$WORK/$name"; }
    return
  fi
  if finished "$WORK/$name" "$steps"; then echo "stage $name: done"; return; fi
  data "$scenes"
  adsc train --model "$WORK/$from" --data "$WORK/$scenes/questions.json" --out "$WORK/$name" \
    --train "$parts" --lr 1e-3 --weight-decay 0 --lr-schedule cosine --warmup-steps 50 \
    --steps "$steps" --batch-size 4 --save-every 100 --seed "$seed" --threads 1 2>&1 | tee "$WORK/$name.log"
  adsc eval --model "$WORK/$name" --data "$WORK/val-$scenes/questions.json" --threads 1 --json > "$WORK/$name.eval.json"
}

# 1. One 56 px object, vision tower frozen at its random init: the decoder learns that the answer
#    is in the image, where the object fills a tenth of the 144 tokens (colour comes first).
stage s1 init one projector,llm 400 1
[ "$LAST" -ge 2 ] || exit 0
# 2. The same scenes, now training the vision tower too.
stage s2 s1 one vision,projector,llm 400 2
[ "$LAST" -ge 3 ] || exit 0
# 3. One or two objects of 42 or 56 px: which object a question means starts to matter.
stage s3 s2 two vision,projector,llm 600 3
[ "$LAST" -ge 4 ] || exit 0
# 4. Two to four objects of 28 or 42 px.
stage s4 s3 four vision,projector,llm 800 4
[ "$LAST" -ge 5 ] || exit 0
# 5. The task: three to six objects of 20 or 28 px.
stage s5 s4 task vision,projector,llm 1200 5
