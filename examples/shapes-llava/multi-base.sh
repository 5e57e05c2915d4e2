#!/usr/bin/env bash
# The multi-object base (checkpoints/multi): shapes-llava on scenes of 1-3 objects of 42 or 56 px,
# asked colour, shape, count and exists. The route docs/shapes.md 3r-3v found after multi-object.sh's
# runs, one step after another: the decoder learns the lookup on images given as words, a tower
# learns to show those words, and the tower and projector are trained on answers through the fixed
# decoder. Rerun from the repo root:
#
#   bash examples/shapes-llava/multi-base.sh [WORK_DIR] [STEP...]    (default /tmp/shapes-multi-base, every step)
#
#   init     a fresh model (init-shapes-llava.ts, seed 120): its decoder and projector are where the
#            decoder starts
#   tps      binding's tower 400 steps alone (pretrain-vision.ts) with the shape and colour heads
#            and --token-shapes (every object patch's token names its object's shape), lr 5e-4,
#            seed 138, batch 16
#   decoder  init's decoder on 12,000 scenes written as patch words (text-scenes.ts --patches
#            --centre-word object, seed 161), 8 questions per scene, each an independent turn that
#            sees the scene and itself only (--independent-turns), batch 16 scenes, lr 1e-3, 50
#            warm-up steps, cosine over 3,000 steps, stopped at step DECODER_STEP (default 2,000;
#            --stop-after: the same schedule, a checkpoint there)
#   align    tps's tower in front of that decoder, and the projector alone trained 300 steps
#            (align-projector.ts) to map each object patch's token to its word's embedding
#   tower    tower and projector trained through the frozen decoder on the answers of 4,000 real
#            images (seed 164) with 8 questions each, 250 steps of batch 16 images, lr 5e-5 (tower
#            2e-5), 30 warm-up steps, cosine
#   export   the result in f16 to WORK_DIR/multi (export-model.ts), with the tower step's
#            trainer_state.json
#
# The committed checkpoint was made by these commands, but its decoder run was resumed across three
# sessions from its saves (--resume continues the same data order and schedule; the trainer got
# faster between them, its losses equal to 4 digits), so a rerun matches it closely, not bit for
# bit. Wall time on the 2-core VM, one thread per run: init and tps ~20 min, decoder 4-7 s per step
# (2,000 steps: ~2.5-4 h), align 3 min, tower ~25 min, export seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=${1:-/tmp/shapes-multi-base}
STEPS=("${@:2}")
[ ${#STEPS[@]} -gt 0 ] || STEPS=(init tps decoder align tower export)
DECODER_STEP=${DECODER_STEP:-2000}
BINDING=examples/shapes-llava/checkpoints/binding
source examples/shapes-llava/lib.sh
mkdir -p "$WORK"

# need DIR STEP: stops with a message when an earlier step's output is missing.
need() { [ -f "$WORK/$1/model.safetensors" ] || { echo "$2: run the step that makes $WORK/$1 first" >&2; exit 2; }; }

for step in "${STEPS[@]}"; do
  case $step in
    init) [ -f "$WORK/init/model.safetensors" ] || script init-shapes-llava "$WORK/init" --seed 120 ;;
    tps)  [ -f "$WORK/tps/model.safetensors" ] || script pretrain-vision "$BINDING" "$WORK/tps" --token-shapes \
            --steps 400 --batch 16 --lr 5e-4 --warmup 20 --seed 138 > "$WORK/tps.log" 2>&1 ;;
    decoder)
      need init decoder
      [ -f "$WORK/words.json" ] || script text-scenes "$WORK/words.json" --seed 161 --count 12000 --objects 1-3 \
        --sizes 42,56 --patches --centre-word object --turns 8
      finished "$WORK/decoder" "$DECODER_STEP" || adsc train --model "$WORK/init" --data "$WORK/words.json" \
        --out "$WORK/decoder" --train llm --lr 1e-3 --weight-decay 0 --lr-schedule cosine --warmup-steps 50 \
        --steps 3000 --stop-after "$DECODER_STEP" --batch-size 16 --save-every 100 --seed 161 --threads 1 \
        --independent-turns $( [ -f "$WORK/decoder/trainer_state.json" ] && echo --resume "$WORK/decoder" ) \
        > "$WORK/decoder.log" 2>&1 ;;
    align)
      need decoder align; need tps align
      [ -f "$WORK/decoder-tps/model.safetensors" ] || script pretrain-vision "$WORK/decoder" "$WORK/decoder-tps" \
        --tower "$WORK/tps" --steps 0 --warmup 0
      [ -f "$WORK/align/model.safetensors" ] || script align-projector "$WORK/decoder-tps" "$WORK/align" --steps 300 \
        --batch 16 --lr 1e-3 --warmup 20 --seed 157 --centre-word object > "$WORK/align.log" 2>&1 ;;
    tower)
      need align tower
      [ -d "$WORK/img164" ] || adsc data shapes --seed 164 --count 4000 --turns 8 --objects 1-3 --sizes 42,56 \
        --types color,shape,count,exists --out "$WORK/img164"
      finished "$WORK/tower" 250 || adsc train --model "$WORK/align" --data "$WORK/img164/questions.json" \
        --out "$WORK/tower" --train vision,projector --lr 5e-5 --vision-lr 2e-5 --weight-decay 0 \
        --lr-schedule cosine --warmup-steps 30 --steps 250 --batch-size 16 --save-every 50 --seed 164 \
        --threads 1 --independent-turns > "$WORK/tower.log" 2>&1 ;;
    export)
      finished "$WORK/tower" 250 || { echo "export: run the tower step first" >&2; exit 2; }
      script export-model "$WORK/tower" "$WORK/multi" --note "shapes-llava on 1-3 objects (examples/shapes-llava/multi-base.sh, decoder step $DECODER_STEP)"
      cp "$WORK/tower/trainer_state.json" "$WORK/multi/" ;;
    *) echo "multi-base.sh: unknown step '$step' (init tps decoder align tower export)" >&2; exit 2 ;;
  esac
done
