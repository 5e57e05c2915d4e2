#!/usr/bin/env bash
# The shape stages (docs/shapes.md, section 3c): from recipe.sh's stage s2 (one 56 px object; reads
# colour, not shape) to a model above chance on every type of one-object scene. They are the runs
# that made examples/shapes-llava/checkpoints/one-object, in order; the next recipe builds them in.
#
#   bash examples/shapes-llava/shape-stages.sh [WORK_DIR]      (default /tmp/shapes-recipe; needs WORK_DIR/s2)
#
#   more   s2 + 400 steps on fresh one-object scenes (all types), batch 4
#   big    + 200 steps of shape questions only, one 84 px object, batch 8
#   sizes  + 200 steps of shape questions only, 56, 70 or 84 px, batch 8
#   mixed  + 200 steps of every type, 56, 70 or 84 px, batch 4
#   mixed2 + 300 more, on fresh scenes
#   one-object + 600 steps at half the learning rate on fresh scenes of 42, 56, 70 or 84 px
#          (committed as checkpoints/one-object: the base model of docs/results.md; that run
#          started from mixed2 exported in f16, a rerun from here continues the f32 checkpoint)
#
# The second round (docs/shapes.md, section 3d): the base still confuses circles and squares at
# every size, so shape gets a longer stage of its own, then every type is mixed back in.
#   plain  + 400 steps of every type (seed-20 data of adsc-adapters.sh; its whole-model "full-plain")
#   shape2 + 800 steps of shape questions only, 42-84 px, batch 8
#   mixed3 + 400 steps of every type, lr 3e-4
#   mixed4 + 600 steps of every type, lr 2e-4
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=${1:-/tmp/shapes-recipe}
source examples/shapes-llava/lib.sh
[ -f "$WORK/s2/model.safetensors" ] || { echo "$WORK/s2 is missing: run recipe.sh $WORK 2 first" >&2; exit 2; }

# step NAME FROM STEPS BATCH WARMUP SEED DATA_SEED COUNT TURNS [DATA_FLAGS...]   (LR: default 1e-3)
step() {
  local name=$1 from=$2 steps=$3 batch=$4 warmup=$5 seed=$6 dseed=$7 count=$8 turns=$9; shift 9
  [ -d "$WORK/data-$name" ] || adsc data shapes --seed "$dseed" --count "$count" --turns "$turns" "$@" --out "$WORK/data-$name"
  if finished "$WORK/$name" "$steps"; then echo "$name: done"; return; fi
  adsc train --model "$WORK/$from" --data "$WORK/data-$name/questions.json" --out "$WORK/$name" \
    --train vision,projector,llm --lr "${LR:-1e-3}" --weight-decay 0 --lr-schedule cosine --warmup-steps "$warmup" \
    --steps "$steps" --batch-size "$batch" --save-every 100 --seed "$seed" --threads 1 2>&1 | tee "$WORK/$name.log"
}

step more   s2    400 4 50 4 14 2000 6 --objects 1 --sizes 56
step big    more  200 8 30 5 15 1600 1 --objects 1 --sizes 84 --types shape
step sizes  big   200 8 30 6 16 1600 1 --objects 1 --sizes 56,70,84 --types shape
step mixed  sizes 200 4 30 7 17 1000 6 --objects 1 --sizes 56,70,84
step mixed2 mixed 300 4 30 8 18 1500 6 --objects 1 --sizes 56,70,84
LR=5e-4 step one-object mixed2 600 4 30 9 19 3000 6 --objects 1 --sizes 42,56,70,84

LR=5e-4 step plain  one-object 400 4 30 27 20 2400 6 --objects 1 --sizes 42,56,70,84
LR=5e-4 step shape2 plain      800 8 30 21 21 6400 1 --objects 1 --sizes 42,56,70,84 --types shape
LR=3e-4 step mixed3 shape2     400 4 30 22 22 2400 6 --objects 1 --sizes 42,56,70,84
LR=2e-4 step mixed4 mixed3     600 4 30 23 23 2400 6 --objects 1 --sizes 42,56,70,84
