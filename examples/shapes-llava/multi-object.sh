#!/usr/bin/env bash
# From one object to several: the binding base (checkpoints/binding, binding.sh) continued on
# scenes of 1-3 objects of 42 or 56 px, where the relation questions ("What shape is left of the
# red circle?") can be asked. docs/shapes.md, section 3h. Rerun from the repo root:
#
#   bash examples/shapes-llava/multi-object.sh [WORK_DIR]      (default /tmp/shapes-multi)
#
#   m13   projector + decoder (the tower stays frozen, as in binding's stages), 600 steps of batch 8
#         on 12,000 single-turn questions of every type (seed 78), lr 5e-4
#
# Then it scores binding and m13 on 600 validation questions (seed 40) of the same layout and on 600
# one-object questions of binding's layout (seed 40): what was learned and what was kept; and m13
# on the first set under three training-free schedules (does dropping tokens cost more with several
# objects?). Wall time on the 2-core VM, one thread, beside another run: data 2 min, m13 54 min,
# each evaluation about 2 min.
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=${1:-/tmp/shapes-multi}
BINDING=examples/shapes-llava/checkpoints/binding
source examples/shapes-llava/lib.sh
mkdir -p "$WORK"

[ -d "$WORK/data13" ] || adsc data shapes --seed 78 --count 12000 --turns 1 --objects 1-3 --sizes 42,56 --out "$WORK/data13"
[ -d "$WORK/val13" ] || adsc data shapes --seed 40 --count 600 --objects 1-3 --sizes 42,56 --out "$WORK/val13"
[ -d "$WORK/val1" ] || adsc data shapes --seed 40 --count 600 --objects 1 --sizes 42,56,70,84 --out "$WORK/val1"

if ! finished "$WORK/m13" 600; then
  adsc train --model "$BINDING" --data "$WORK/data13/questions.json" --image-folder "$WORK/data13" --out "$WORK/m13" \
    --train projector,llm --lr 5e-4 --weight-decay 0 --lr-schedule cosine --warmup-steps 30 \
    --steps 600 --batch-size 8 --save-every 100 --seed 79 --threads 1 > "$WORK/m13.log" 2>&1
fi
score() { echo "== $*"; adsc eval "$@" --threads 1 2> /dev/null | sed -n '/^type/,/^all/p'; }
for model in "$BINDING" "$WORK/m13"; do
  for val in val13 val1; do score --model "$model" --data "$WORK/$val/questions.json"; done
done
for schedule in 'adsc:2=1/2,4=1/2' 'adsc:1=1/36' 'fastv:K=1,R=0.97222'; do
  score --model "$WORK/m13" --data "$WORK/val13/questions.json" --schedule "$schedule"
done
