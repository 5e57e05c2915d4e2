#!/usr/bin/env bash
# The runs that made examples/shapes-llava/checkpoints/binding, the base of docs/results.md, in
# order (docs/shapes.md, sections 3f and 3g). It starts from the committed checkpoints/shape-focus
# (shape-stages.sh makes it) and a vision tower pretrained on shapes from scratch. Rerun from the
# repo root:
#
#   bash examples/shapes-llava/binding.sh [WORK_DIR] [OUT_DIR]
#        (default /tmp/shapes-binding and WORK_DIR/binding; OUT_DIR gets the f16 export of mx3)
#   DATA_ONLY=1 bash examples/shapes-llava/binding.sh [WORK_DIR]   only the question sets and mixtures
#
#   pv-fresh, pv-fresh2  the tower alone, from its untrained init, on fresh scenes (pretrain-vision.ts):
#                        objects' shapes from their mean token, patches' colours; 600 + 600 steps
#   sf-pt2               shape-focus's projector and decoder on pv-fresh2's tower (frozen from here on)
#   pt2-align, pt2-llm   the projector aligned alone (150 steps), then projector + LLM (800 steps),
#                        on one-object questions of every type
#   cx                   count and exists questions only (400 steps)
#   sc                   "How many <shape>s are there?" only (400 steps): the shape comparison is learned
#   mx2                  every type again, shape counts and exists weighted up (mixed.json, 500 steps)
#   mx3                  the same with colour counts weighted up too (mixed2.json, 400 steps) = binding
#
# WORK_DIR/data-mx/mixed2.json is also the fine-tuning set of the binding base's ADSC adapters
# (DATA_ONLY=1 makes it; then adsc-adapters.sh with DATA=, IMAGES=, BATCH=8; docs/results.md's Rerun).
#
# Wall time on the 2-core VM, one thread per run, two runs at a time: the towers 24 + 20 min, pt2
# 7 + 30 min, cx 21, sc 19, mx2 23, mx3 18 min: about 2 h 40 min. The question mixtures are cut
# and shuffled by the Python below (3.11's `random` fixes the order that trained the committed model).
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=${1:-/tmp/shapes-binding}
OUT=${2:-$WORK/binding}
SHAPE_FOCUS=examples/shapes-llava/checkpoints/shape-focus
source examples/shapes-llava/lib.sh
command -v python3 > /dev/null || { echo "binding.sh: python3 is needed to mix the question files" >&2; exit 2; }
mkdir -p "$WORK"

# data NAME SEED COUNT [FLAGS...]: single-turn questions on one object of 42-84 px.
data() {
  local name=$1 seed=$2 count=$3; shift 3
  [ -d "$WORK/$name" ] || adsc data shapes --seed "$seed" --count "$count" --turns 1 --objects 1 --sizes 42,56,70,84 "$@" --out "$WORK/$name"
}

# train NAME FROM DATA IMAGES PARTS LR WARMUP STEPS SEED: AdamW without weight decay, cosine decay,
# batch 8, one thread. A run whose directory holds its last step is skipped.
train() {
  local name=$1 from=$2 data=$3 images=$4 parts=$5 lr=$6 warmup=$7 steps=$8 seed=$9
  if finished "$WORK/$name" "$steps"; then echo "$name: done"; return; fi
  adsc train --model "$WORK/$from" --data "$WORK/$data" --image-folder "$WORK/$images" --out "$WORK/$name" \
    --train "$parts" --lr "$lr" --weight-decay 0 --lr-schedule cosine --warmup-steps "$warmup" \
    --steps "$steps" --batch-size 8 --save-every 100 --seed "$seed" --threads 1 2>&1 | tee "$WORK/$name.log"
}

# The question sets (a few minutes), then the mixtures cut from them.
data data-pt 38 4800
data data-cx 66 3200 --types count,exists
data data-sc-all 68 6000 --types count
data data-mx 70 4000
data data-mx-ex 71 1500 --types exists
# shape-count.json: the "How many <shape>s" half of seed 68; mixed.json: seed 70's 4,000 questions,
# the first 1,500 shape counts and seed 71's 1,500 exists questions; mixed2.json: mixed.json and the
# first 1,500 "How many <colour> objects" of seed 68. Other sets' images are linked into data-mx/images.
PYTHONPATH=examples/shapes-llava python3 - "$WORK" << 'EOF'
import json, random, re, sys
from functools import partial
from mix import linked
d = sys.argv[1]
linked = partial(linked, d, 'data-mx')
counts = json.load(open(f'{d}/data-sc-all/questions.json'))
shape = [r for r in counts if re.search(r'How many (circle|square|triangle)s', r['conversations'][0]['value'])]
colour = [r for r in counts if re.search(r'How many \w+ objects', r['conversations'][0]['value'])]
json.dump(shape, open(f'{d}/data-sc-all/shape-count.json', 'w'))
mixed = json.load(open(f'{d}/data-mx/questions.json')) + linked('data-sc-all', shape[:1500], 'sc') \
    + linked('data-mx-ex', json.load(open(f'{d}/data-mx-ex/questions.json')), 'ex')
random.Random(70).shuffle(mixed)
json.dump(mixed, open(f'{d}/data-mx/mixed.json', 'w'))
mixed2 = mixed + linked('data-sc-all', colour[:1500], 'cc')
random.Random(74).shuffle(mixed2)
json.dump(mixed2, open(f'{d}/data-mx/mixed2.json', 'w'))
EOF
[ -z "${DATA_ONLY:-}" ] || exit 0

# The tower (the model directory supplies only the config; the heads are dropped at the end).
[ -f "$WORK/init/model.safetensors" ] || script init-shapes-llava "$WORK/init" --seed 0
[ -f "$WORK/pv-fresh/model.safetensors" ] || script pretrain-vision "$WORK/init" "$WORK/pv-fresh" --steps 600 --batch 16 --lr 1e-3 --seed 51
[ -f "$WORK/pv-fresh2/model.safetensors" ] || script pretrain-vision "$WORK/pv-fresh" "$WORK/pv-fresh2" --steps 600 --batch 16 --lr 5e-4 --seed 53
[ -f "$WORK/sf-pt2/model.safetensors" ] || script pretrain-vision "$SHAPE_FOCUS" "$WORK/sf-pt2" --tower "$WORK/pv-fresh2" --steps 0 --warmup 0

# pt2: the decoder meets the new tower.
train pt2-align sf-pt2 data-pt/questions.json data-pt projector 1e-3 20 150 62
train pt2-llm pt2-align data-pt/questions.json data-pt projector,llm 5e-4 30 800 63

# cx, then sc: the binding questions alone, then one comparison alone.
train cx pt2-llm data-cx/questions.json data-cx projector,llm 3e-4 20 400 67
train sc cx data-sc-all/shape-count.json data-sc-all projector,llm 1e-3 20 400 69

# mx2, mx3: every type again, the comparisons weighted up.
train mx2 sc data-mx/mixed.json data-mx projector,llm 3e-4 20 500 73
train mx3 mx2 data-mx/mixed2.json data-mx projector,llm 3e-4 20 400 77
[ -f "$OUT/model.safetensors" ] || script export-model "$WORK/mx3" "$OUT" \
  --note "shapes-llava base (docs/shapes.md 3g): pv-fresh2 tower, pt2 -> cx -> sc -> mx2 -> mx3 (examples/shapes-llava/binding.sh)"
