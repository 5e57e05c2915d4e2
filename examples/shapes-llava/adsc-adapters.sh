#!/usr/bin/env bash
# ADSC fine-tuning of shapes-llava (docs/adsc.md, "Fine-tuning with a reverse curriculum"): one
# LoRA adapter per target schedule, each trained with the schedule in place, plus the curriculum
# ablations and a control adapter trained without any schedule. Rerun from the repo root:
#
#   bash examples/shapes-llava/adsc-adapters.sh [BASE_DIR] [WORK_DIR]
#        (default examples/shapes-llava/checkpoints/shape-focus and /tmp/shapes-adsc/<its name>)
#
# The finished adapters are copied to BASE_DIR/adapters/<name>/ (adapter_config.json
# carries the target as "adsc_schedule"), their logs to WORK_DIR/<name>.log.
#   ADAPTERS=DIR   copy them to DIR/<name>/ instead
#   ONLY="a50-reverse a78-reverse ..."   run only the adapters and whole-model runs named
#   DATA=FILE [IMAGES=DIR] BATCH=N   fine-tune on FILE (images under DIR) with batch N instead of the
#                          fine-tuning set below and batch 4 (the binding base's runs: its last stage's
#                          question mixture, batch 8; docs/results.md)
#   TRAIN_FLAGS="..."      more flags for every adsc train (the multi base's runs: --independent-turns,
#                          as that base was trained)
#
# The schedules. Every target drops at layer 1 or later, so that FastV (K=1) and PyramidDrop can be
# given exactly the same number of vision tokens per layer (results.sh):
#   a50  adsc:2=1/2,4=1/2   144 144 72 72 36 36 36 36 vision tokens in layers 0-7: 50.0 % of the
#                           decoder's vision-token work removed
#   a78  adsc:1=1/9         144 then 16: 77.8 %
#   a85  adsc:1=1/36        144 then 4:  85.1 %
# The curricula (400 steps: 130 + 130 + the remaining 140 at the target):
#   reverse  from harsher than the target down to it (a50: 16 tokens, then the a75 step, then a50;
#            a78: 4, 8, then 16 tokens; a85: 1, 2, then 4 tokens)
#   forward  mild to aggressive (a85: a50, a78, then a85; a78: a50, 36 tokens, then 16)
#   none     the target from the first step (a85, a78, a50)
# And one more target at about the a85 cost, reached in two steps instead of one, to see whether a
# gradual drop lets the decoder compress what one abrupt drop loses (no curriculum, like a85-none):
#   g83  adsc:1=1/6,2=1/6   144, 24, then 4: 83.3 %
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE=${1:-examples/shapes-llava/checkpoints/shape-focus}
WORK=${2:-/tmp/shapes-adsc/$(basename "$BASE")}
ADAPTERS=${ADAPTERS:-$BASE/adapters}
source examples/shapes-llava/lib.sh
ONLY=$(echo ${ONLY:-})   # one space between names, whatever the list was written with
wanted() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }
mkdir -p "$WORK"
# The fine-tuning set, unless DATA names another: fresh one-object scenes (seed 20), 6 questions
# each, every type.
if [ -z "${DATA:-}" ]; then
  DATA=$WORK/data/questions.json
  [ -d "$WORK/data" ] || adsc data shapes --seed 20 --count 2400 --turns 6 --objects 1 --sizes 42,56,70,84 --out "$WORK/data"
fi
IMAGES=${IMAGES:-$(dirname "$DATA")}
BATCH=${BATCH:-4}

A50='adsc:2=1/2,4=1/2'
A78='adsc:1=1/9'
A85='adsc:1=1/36'

# finetune NAME SEED LR TARGET [FLAGS...]: 400 steps (STEPS=N: N) from BASE on the fine-tuning set
# under the schedule TARGET; AdamW without weight decay, 30 warm-up steps then cosine decay, batch
# BATCH (4). FLAGS say what is trained (and the curriculum). A run whose directory holds its last step is skipped.
finetune() {
  local name=$1 seed=$2 lr=$3 target=$4 steps=${STEPS:-400}; shift 4
  if ! finished "$WORK/$name" "$steps"; then
    adsc train --model "$BASE" --data "$DATA" --image-folder "$IMAGES" --out "$WORK/$name" "$@" \
      --schedule "$target" --lr "$lr" --weight-decay 0 --lr-schedule cosine --warmup-steps 30 --steps "$steps" \
      --batch-size "$BATCH" --save-every 100 --seed "$seed" --threads 1 ${TRAIN_FLAGS:-} > "$WORK/$name.log" 2>&1
  fi
  echo "$name: $(tail -1 "$WORK/$name.log")"
}

# adapter NAME SEED TARGET [CURRICULUM]: LoRA r 16 (alpha 32) on all seven projections of every
# decoder layer, lr 1e-3; the adapter is copied into the repo.
adapter() {
  local name=$1 seed=$2 target=$3 curriculum=${4:-}
  wanted "$name" || return 0
  finetune "$name" "$seed" 1e-3 "$target" \
    --lora r=16,alpha=32,targets=q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj ${curriculum:+--curriculum "$curriculum"}
  mkdir -p "$ADAPTERS/$name"
  cp "$WORK/$name/adapter_config.json" "$WORK/$name/adapter_model.safetensors" "$ADAPTERS/$name/"
}

# Two at a time (this machine has two cores; one thread each is the fastest way to use them).
adapter a50-reverse 21 "$A50" "$A78@130;adsc:1=1/4,2=1/2@130" &
adapter a78-reverse 22 "$A78" "$A85@130;adsc:1=1/18@130"
wait
adapter a85-reverse 23 "$A85" "adsc:1=1/144@130;adsc:1=1/72@130" &
adapter a85-forward 23 "$A85" "$A50@130;$A78@130"
wait
adapter a85-none 23 "$A85" &
adapter plain 24 none
wait
adapter g83-none 23 'adsc:1=1/6,2=1/6'
# The curriculum ablation where a tuned adapter recovers most over training-free (78 %, on the
# shape-focus base), and no curriculum at 50 %: forward runs 130 steps at a50 and 130 at 36 tokens
# from layer 1 before the target's 16.
adapter a78-forward 22 "$A78" "$A50@130;adsc:1=1/4@130" &
adapter a78-none 22 "$A78"
wait
adapter a50-none 21 "$A50"
# Does longer tuning close the gap? The no-curriculum adapters again for 1,200 steps (2 epochs of the
# fine-tuning set instead of 2/3 of one), same seeds.
STEPS=1200 adapter a50-none-1200 21 "$A50" &
STEPS=1200 adapter a85-none-1200 23 "$A85"
wait
# And at that budget the reverse curriculum (its stages three times as long: 390 + 390 steps, then
# 420 at the target) against none, at 50 %; and none at 78 %.
STEPS=1200 adapter a50-reverse-1200 21 "$A50" "$A78@390;adsc:1=1/4,2=1/2@390" &
STEPS=1200 adapter a78-none-1200 22 "$A78"
wait
# And the reverse curriculum at that budget at the most aggressive target: 390 steps at 1 token,
# 390 at 2, then 420 at the target's 4 (on the binding base, beside a85-none-1200).
STEPS=1200 adapter a85-reverse-1200 23 "$A85" "adsc:1=1/144@390;adsc:1=1/72@390"
# The budget curve at 85 % was still rising at 1,200 steps (binding: 78.7 % at 400, 82.3 % at 1,200):
# twice as long again, no curriculum, same seed.
STEPS=2400 adapter a85-none-2400 23 "$A85"
# And the reverse curriculum at that budget (stages twice 1,200's: 780 steps at 1 token, 780 at 2,
# then 840 at the target's 4), the comparison the 400- and 1,200-step runs left open.
STEPS=2400 adapter a85-reverse-2400 23 "$A85" "adsc:1=1/144@780;adsc:1=1/72@780"

# Not adapters: the whole model (vision tower, projector, decoder) fine-tuned under a schedule, to
# see how much of the loss LoRA on the decoder alone leaves (docs/results.md). Same data and steps,
# lr 5e-4 (the base's last stage), no curriculum. 5 MB each in f16: kept in WORK_DIR, not committed.
full() { wanted "$1" || return 0; finetune "$1" "$2" 5e-4 "$3" --train vision,projector,llm; }
full full-a85 25 "$A85" &
full full-a50 26 "$A50"
wait
# Its control: the same whole-model fine-tuning without a schedule.
full full-plain 27 none
