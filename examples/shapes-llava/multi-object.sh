#!/usr/bin/env bash
# From one object to several: the binding base (checkpoints/binding, binding.sh) continued on
# scenes of 1-3 objects of 42 or 56 px, where the relation questions ("What shape is left of the
# red circle?") can be asked. docs/shapes.md, sections 3h and 3i. Rerun from the repo root:
#
#   bash examples/shapes-llava/multi-object.sh [WORK_DIR] [STEP...]      (default /tmp/shapes-multi, every step)
#
# STEPs run in the order given; two instances can run two chains at once once `data` is done, e.g.
# `... data`, then `... WORK m13 m13w` beside `... WORK m13t pos m13p`, then `... WORK scores`.
#
#   data   12,000 single-turn questions of every type (seed 78), 6,000 of count / exists / left only
#          (seed 80), 4,000 of "left" only (seed 89), validation sets (seed 40; "left" only: seed 41),
#          and two mixtures of them (Python, below)
#   m13    projector + decoder (the tower stays frozen, as in binding's stages), 600 steps of batch 8
#          on seed 78's questions, lr 5e-4
#   m13w   m13 for 400 steps at lr 3e-4 on weighted.json: seed 80's 6,000 and the first 6,000 of seed 78
#          (the three types m13 answers worst weighted up, as binding's last stages did)
#   m13t   m13 (from binding, seed 78's questions) with the vision tower trained too: the tower's
#          tokens barely say where they are (position-probe.ts), so the decoder has only RoPE over
#          the flattened grid, where "above" is a sign and "left" is not
#   pos    binding with its tower trained 300 more steps alone (pretrain-vision.ts) with heads that
#          name every patch's row and column besides the shape and colour heads it was made with,
#          lr 3e-4
#   m13p   m13 on pos's tower: does a tower that says where its tokens are teach "left"?
#   posb   pos with object and background patches weighted alike in the position loss, 400 steps at
#          lr 1e-3; posg the same after a 2-D sinusoidal code of row and column is added to the
#          tower's position embeddings (towers only; `probes` reads them)
#   probes position-probe.ts on binding's tower, m13t's and the three above
#   m13g   m13 on posg's tower (session 9 ran it with --threads 2: 61.2 %, left 55)
#   lg, lw "left" alone (4,000 questions, seed 89), 400 steps at lr 1e-3, from m13g (posg's tower,
#          whose tokens say where they are) and from m13w (binding's tower, whose tokens do not):
#          is "left" learnable once nothing else can lower the loss (as shape counting was, 3g)?
#   lgm    lg for 400 steps at lr 3e-4 on weighted.json: every type back, "left" still weighted up
#          (as mx3 followed sc in 3g)
#   lm     m13g for 400 steps at lr 5e-4 on left-mix.json: 2,000 "left" questions and 6,000 of every
#          type alike (3,000 of the 8,000 are "left"; no type starved, as weighted.json starves three)
#   eg4    "exists" alone (4,000 questions, seed 96), 400 steps at lr 1e-3, from m13g (3k)
#   post   posg's tower (m13g's model) 400 more steps alone with --token-shapes: a head names every
#          object patch's shape from that patch's own token, so a word can be matched per token;
#          post2 the same for 400 more at lr 7e-4 (towers only; `token-probes` reads them)
#   m13s   m13g's projector and decoder on post's tower, 600 steps on seed 78's questions
#   ep2    eg4 on post2's tower: is "exists" learnable once tokens name their object's shape?
#          (session 11 stopped it at step 204, at chance)
#   pbt    binding's tower (m13w's model) 400 steps alone with --token-shapes, no position
#   m13wc, m13b  m13w 400 more steps at lr 5e-4 on seed 78's questions, on binding's tower (the
#          control) and on pbt's (the same decoder and data, only the tokens differ); m13wh the
#          control at lr 1e-3 (the focused stages' rate)
#   t8, i8 m13w 400 steps at lr 5e-4 on 3,200 scenes with 8 questions each (seed 111): as chained turns
#          (t8) and with --independent-turns (i8: every question sees the image and itself only)
#   d8     i8 with a ninth, training-only turn per scene, "What objects are there?" (describe-turns.ts)
#   dsc    that question alone (one turn per scene), 300 steps at lr 1e-3
#   r4     m13wc with layer 4's q and k projections redrawn (reinit-attention.ts), then 200 steps as i8
#   dsc2, dsc3  dsc for 2,000 steps (seed 114; stopped at step 515, its step 500 committed as
#          checkpoints/dsc2-step500), then 1,500 more from there (seed 117; session 13 stopped it at 560)
#   fdsc   a fresh projector and decoder (init seed 120) under binding's tower, the describe question
#          alone on 12,000 new scenes (seed 119), 1,200 steps from scratch (session 13 stopped it at
#          step 900, committed as checkpoints/fdsc-step900); fmix the same from scratch on those
#          scenes' questions of every type and their describe questions together, 700 steps;
#          fsel fdsc's step 900 on its 2-3-object scenes, every type but "above", 300 steps
#   fw, fu fsel on every type again, 600 steps at lr 5e-4: fw with "above" and one-object scenes
#          weighted down (a half and a third kept), fu on fmix's set (everything, unweighted)
#   fa, f1 fsel 300 more steps on its set with "above" (fa) or the one-object scenes (f1) put back;
#          fc the control, on fsel's own set
#   fs, fl f1 1,000 more steps on its set with half the describe questions asked by shape ("What
#          shape objects are there?": a colour after each shape; fs) or as it is (fl, the control)
#   tps    fs's tower (binding's) 400 steps alone with --token-shapes (as pbt)
#   dsp, dsb  the by-shape description alone, 400 steps at lr 1e-3, on tps's tower (dsp) and on
#          fs's own (dsb): does a selection keyed by shape need tokens that carry their shape?
#   fsp, fsc  fs's set 250 more steps on tps's tower (fsp) and on fs's own (fsc)
#   fta    a fresh decoder (init120's) on tps's tower, every question of fdsc's scenes and one
#          description per scene (by colour or by shape), 1,200 steps at lr 1e-3
#   tcs    tps's tower 600 more steps alone with --token-shapes and --token-centres (one flagged
#          token per object)
#   ftc    fta's run on tcs's tower: what the centre flag adds
#   xtc, ctc  exists alone, count alone, 300 steps from fresh-tcs: can a fresh decoder learn them at
#          all on tokens that carry colour, shape and a centre flag?
#   lmt    a fresh decoder (init120's) pretrained on text alone: 40,000 scenes written out as words
#          ("blue square red circle", text-scenes.ts, seed 146) with a colour, shape, count or exists
#          question each, 1,500 steps of batch 32 at lr 1e-3: the lookup by words, learnt before any image
#   xlm    xtc from lmt's decoder (lm-tcs: lmt on tcs's tower, init120's projector)
#   orc3   a fresh decoder (init120's) on images given as words (patch words, text-scenes.ts --patches
#          --centre-word object: 24,000 records of seed 152, every type), 4,000 steps of 16 at lr 1e-3 in
#          the PyTorch sandbox (torch_replica.py, needs /usr/bin/python3 with torch; docs/shapes.md 3r),
#          exported as a model directory; scored on 400 patch-word records of seed 148 (pw148)
#   al     orc3 with tps's tower and a projector aligned to orc3's word embeddings (align-projector.ts,
#          300 steps of 16 fresh scenes); scored on the real images of the same 400 questions (img148)
#   ft     al with projector and decoder trained 150 steps on 3,000 real-image questions (seed 158)
#   orca   orc3's recipe run by adsc train instead of the sandbox: init120's decoder on the same 24,000
#          patch-word records, batch 16, lr 1e-3, 50 warm-up steps, cosine over 4,000 steps (session 19
#          stopped it at step 1,124; session 20 resumed it from step 1,000 with --resume and stopped it
#          at step 1,699, its last save 1,500, for orct8's line)
#   tw     al's tower and projector trained through its frozen decoder (orc3's) on 8,000 real-image
#          questions (seed 159), batch 16, 600 steps at lr 5e-5 (tower 2e-5); lr 5e-4 (tower 2e-4)
#          diverged (loss 0.27 -> 0.6-1.0, 48.3 % on img148 at step 100)
#   tj     tw with every part trained (decoder too), 300 steps at lr 2e-5 (tower 1e-5) on 8,000 new
#          real-image questions (seed 160)
#   orct8  orca's recipe with 8 questions per scene: init120's decoder on 12,000 patch-word scenes of
#          seed 161 (text-scenes.ts --turns 8), each question an independent turn (--independent-turns:
#          it sees the scene's tokens and itself only, as a one-question record would), batch 16 scenes
#          (128 answers a step), lr 1e-3, 50 warm-up steps, cosine over 3,000 steps
#   orcat8 orca's step-1,500 decoder (a copy of orca's directory at that save) on orct8's records, a
#          new run from those weights: lr 7e-4 (about orca's rate there), 50 warm-up steps, cosine
#          over 3,000 steps, seed 163 (not in the default list: run it by name once the copy exists)
#   al8    al's recipe on orct8's step-900 decoder (a copy of orct8's directory at that save, in
#          $WORK/orct8-900): tps's tower and a projector aligned to the decoder's words; scored on img148
#   tw8    tw's recipe with eight questions per image: al8's tower and projector trained through its
#          frozen decoder on 4,000 new real images (seed 164) with 8 questions each (--turns 8,
#          --independent-turns), batch 16 images, 250 steps at lr 5e-5 (tower 2e-5), 30 warm-up steps
#          (al8 and tw8 are not in the default list: run them by name once the copy exists; session
#          21 also ran both on orct8's step 1,200 as al1200 and tw8b, session 22 on its step 1,700 as
#          al1700 and tw8c, the same commands with that copy)
#   tw8d   tw8c's tower and projector put in front of orct8's step-2,000 decoder (pretrain-vision.ts
#          --tower --projector, copies in $WORK/tw8c and $WORK/orct8-2000), then tw8's recipe from
#          there: does a tower trained through an earlier decoder carry over? (not in the default list)
#          The route that came out of these runs is one recipe of its own: multi-base.sh.
#   scores every model on 600 validation questions (seed 40) of the same layout and on 600 one-object
#          questions of binding's layout (seed 40): what was learned and what was kept; then m13
#          on the first set under three training-free schedules (do drops cost more with several
#          objects?)
#
# Wall time on the 2-core VM, one thread per run, two runs at a time: data 3 min, m13 41-54 min,
# m13w 22, m13t 55, pos 13, m13p 45, posb and posg 20 each, probes 1; lg 32, lw 44, lgm 45, lm 35 (three runs
# at a time); eg4 28, post, post2 and pbt 19 each, m13s 45, m13wc, m13b and m13wh 29-30 each;
# t8 50, i8 66, d8 69 (two at a time, beside CI for part), dsc 26, r4 28; dsc3 58 for 560 steps, fdsc
# 90 for 900 steps and fmix 57 (two at a time, beside CI for part), fsel 19 alone; data-dsc 3 min; fw and fu
# 62 each, fa and f1 27 each (two at a time); fs and fl 67 each, tps 20, dsb 34 and dsp 32 (two at a
# time, beside scoring and CI for part), fsp and fsc 16 each; fta 121 for 1,200 steps and ftc (stopped
# at step 793) side by side, tcs 38, xtc 20 and ctc 21 side by side, lmt 36 and xlm 15 (beside the PyTorch
# replica); orc3 76 (sandbox, two threads, beside CI for part), tps 12, al 2, ft 4; orca 4.7 s per step beside
# tw (stopped at step 1,124; 1,000 steps in ~94 min), tw 64, tj 42 (beside CI); each evaluation of 600
# questions 1.5-3 min (of 400 text questions 8 s, of 400 patch-word questions 1 min). Session 20,
# after the trainer's speed-up (docs/shapes.md 3t): orca 3.9 s per step alone, 5.9 beside orct8;
# orct8 11 s per step beside orca, 17-19 beside CI; orcat8 as orct8.
# Session 21, after the in-memory SIMD backward and the branches' gather (docs/shapes.md 3u): orct8
# ~5-7 s per step beside tw8 and the evaluations; al8 2.4 min; tw8 34 min (8.2 s per step beside
# orct8); each evaluation of 400 real-image questions ~2.5 min.
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=${1:-/tmp/shapes-multi}
STEPS=("${@:2}")
[ ${#STEPS[@]} -gt 0 ] || STEPS=(data m13 m13w m13t pos m13p posb posg probes m13g lg lw lgm lm eg4 post post2 token-probes m13s ep2 pbt m13wc m13b m13wh t8 i8 d8 r4 dsc dsc2 dsc3 fdsc fmix fsel fw fu fa f1 fc fs fl tps dsp dsb fsp fsc fta tcs ftc xtc ctc lmt xlm orc3 al ft orca tw tj orct8 scores)
BINDING=examples/shapes-llava/checkpoints/binding
source examples/shapes-llava/lib.sh
mkdir -p "$WORK"

# data NAME SEED COUNT [FLAGS...]: single-turn questions on 1-3 objects of 42 or 56 px.
data() {
  local name=$1 seed=$2 count=$3; shift 3
  [ -d "$WORK/$name" ] || adsc data shapes --seed "$seed" --count "$count" --turns 1 --objects 1-3 --sizes 42,56 "$@" --out "$WORK/$name"
}

# train NAME FROM DATA PARTS LR WARMUP STEPS SEED [FLAGS...]: AdamW without weight decay, cosine decay,
# batch 8, one thread; FROM is a run in WORK_DIR or a model directory. A finished run is skipped.
train() {
  local name=$1 from=$2 data=$3 parts=$4 lr=$5 warmup=$6 steps=$7 seed=$8; shift 8
  [ -d "$from" ] || from=$WORK/$from
  if finished "$WORK/$name" "$steps"; then echo "$name: done"; return; fi
  adsc train --model "$from" --data "$WORK/$data" --out "$WORK/$name" \
    --train "$parts" --lr "$lr" --weight-decay 0 --lr-schedule cosine --warmup-steps "$warmup" \
    --steps "$steps" --batch-size 8 --save-every 100 --seed "$seed" --threads 1 "$@" > "$WORK/$name.log" 2>&1
}

# tower NAME FROM FLAGS...: FROM's tower (a model directory, or a run in WORK) trained alone
# (pretrain-vision.ts) for 16-scene batches with 20 warm-up steps; a finished one is skipped.
tower() {
  local name=$1 from=$2; shift 2
  [ -d "$from" ] || from=$WORK/$from
  [ -f "$WORK/$name/model.safetensors" ] || script pretrain-vision "$from" "$WORK/$name" "$@" --batch 16 --warmup 20 > "$WORK/$name.log" 2>&1
}

score() { echo "== $*"; adsc eval "$@" --threads 1 2> /dev/null | sed -n '/^type/,/^all/p'; }

# data_t8 [describe]: 3,200 scenes of 1-3 objects with 8 questions each (seed 111); with `describe`,
# also data-t8/describe.json, every record with the describe turn last (describe-turns.ts).
data_t8() {
  local flags=(--seed 111 --count 3200 --turns 8 --objects 1-3 --sizes 42,56)
  [ -d "$WORK/data-t8" ] || adsc data shapes "${flags[@]}" --out "$WORK/data-t8"
  [ "${1:-}" != describe ] || [ -f "$WORK/data-t8/describe.json" ] || script describe-turns "$WORK/data-t8" "${flags[@]}"
}

# describe_only FOLDER [LIMIT [BY]]: FOLDER/describe-only.json, the describe turn of describe.json alone
# (mix.py); with BY shape, FOLDER/describe-shape-only.json from describe-shape.json. LIMIT may be "".
describe_only() { PYTHONPATH=examples/shapes-llava python3 -c 'import sys; from mix import describe_only; describe_only(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] else None, *sys.argv[3:])' "$@"; }

# data_dsc [mix]: 12,000 single-turn questions on scenes of 1-3 objects (seed 119) and each scene's
# describe question alone (data-dsc/describe-only.json), for fdsc, fmix, fsel, fw and fu; with `mix`,
# also data-dsc/mix.json, the two together shuffled (seed 122); with `shape`, also each scene's
# describe question asked by shape (describe-shape.json, and describe-shape-only.json alone).
data_dsc() {
  local flags=(--seed 119 --count 12000 --turns 1 --objects 1-3 --sizes 42,56) d=$WORK/data-dsc
  [ -d "$d" ] || adsc data shapes "${flags[@]}" --out "$d"
  [ -f "$d/describe.json" ] || script describe-turns "$d" "${flags[@]}"
  [ -f "$d/describe-only.json" ] || describe_only "$d"
  [ "${1:-}" != mix ] || [ -f "$d/mix.json" ] || PYTHONPATH=examples/shapes-llava python3 -c 'import sys; from mix import shuffled; shuffled(sys.argv[1], sys.argv[2:], 122)' \
    "$d/mix.json" "$d/questions.json" "$d/describe-only.json"
  [ "${1:-}" != shape ] || [ -f "$d/describe-shape-only.json" ] || {
    script describe-turns "$d" "${flags[@]}" --by shape
    describe_only "$d" "" shape; }
}

# fresh_bt: an untrained model (seed 120) with binding's tower put in: fdsc's and fmix's start.
fresh_bt() {
  [ -f "$WORK/init120/model.safetensors" ] || script init-shapes-llava "$WORK/init120" --seed 120
  [ -f "$WORK/fresh-bt/model.safetensors" ] || script pretrain-vision "$WORK/init120" "$WORK/fresh-bt" --tower "$BINDING" --steps 0 --warmup 0
}

for step in "${STEPS[@]}"; do
  case $step in
    data)
      data data13 78 12000
      data data13-cel 80 6000 --types count,exists,left
      data val13 40 600
      data data-left 89 4000 --types left
      data val-left 41 400 --types left
      data data-exists 96 4000 --types exists
      [ -d "$WORK/val1" ] || adsc data shapes --seed 40 --count 600 --objects 1 --sizes 42,56,70,84 --out "$WORK/val1"
      # weighted.json and left-mix.json, in data13's folder (the other sets' images are linked into it).
      PYTHONPATH=examples/shapes-llava python3 - "$WORK" << 'PY'
import json, random, sys
from functools import partial
from mix import linked
d = sys.argv[1]
linked = partial(linked, d, 'data13')
base = json.load(open(f'{d}/data13/questions.json'))
# weighted.json: seed 80's 6,000 count / exists / left questions and the first 6,000 of seed 78's.
weighted = linked('data13-cel', json.load(open(f'{d}/data13-cel/questions.json')), 'cel') + base[:6000]
random.Random(80).shuffle(weighted)
json.dump(weighted, open(f'{d}/data13/weighted.json', 'w'))
# left-mix.json: the first 2,000 of seed 89's "left" questions and the last 6,000 of seed 78's.
mix = linked('data-left', json.load(open(f'{d}/data-left/questions.json'))[:2000], 'left') + base[6000:]
random.Random(89).shuffle(mix)
json.dump(mix, open(f'{d}/data13/left-mix.json', 'w'))
PY
      ;;
    m13) train m13 "$BINDING" data13/questions.json projector,llm 5e-4 30 600 79 ;;
    m13w) train m13w m13 data13/weighted.json projector,llm 3e-4 20 400 81 ;;
    m13t) train m13t "$BINDING" data13/questions.json vision,projector,llm 5e-4 30 600 79 ;;
    pos) tower pos "$BINDING" --position all --steps 300 --lr 3e-4 --seed 84 ;;
    m13p) train m13p pos data13/questions.json projector,llm 5e-4 30 600 79 ;;
    posb) tower posb "$BINDING" --position balanced --steps 400 --lr 1e-3 --seed 85 ;;
    posg) tower posg "$BINDING" --position balanced --grid-position 0.5 --steps 400 --lr 1e-3 --seed 86 ;;
    probes) for model in "$BINDING" "$WORK/m13t" "$WORK/pos" "$WORK/posb" "$WORK/posg"; do
              echo "== $model"; script position-probe "$model" "$WORK/val13" | tail -6
            done ;;
    m13g) train m13g posg data13/questions.json projector,llm 5e-4 30 600 79 ;;
    lg) train lg m13g data-left/questions.json projector,llm 1e-3 20 400 90 ;;
    lw) train lw m13w data-left/questions.json projector,llm 1e-3 20 400 91 ;;
    lgm) train lgm lg data13/weighted.json projector,llm 3e-4 20 400 92 ;;
    lm) train lm m13g data13/left-mix.json projector,llm 5e-4 20 400 94 ;;
    # 3k: exists alone on posg's tower; a tower whose every object token names its object's shape.
    eg4) train eg4 m13g data-exists/questions.json projector,llm 1e-3 20 400 100 ;;
    post) tower post m13g --position balanced --token-shapes --steps 400 --lr 5e-4 --seed 102 ;;
    post2) tower post2 post --position balanced --token-shapes --steps 400 --lr 7e-4 --seed 105 ;;
    token-probes) for model in "$BINDING" "$WORK/m13w" "$WORK/m13g" "$WORK/post" "$WORK/post2" "$WORK/pbt" "$WORK/m13s"; do
                    echo "== $model"; script token-probe "$model" 40 200 | tail -2
                  done ;;
    m13s) train m13s post data13/questions.json projector,llm 5e-4 20 600 103 ;;
    ep2) train ep2 post2 data-exists/questions.json projector,llm 1e-3 20 400 106 ;;
    pbt) tower pbt m13w --token-shapes --steps 400 --lr 5e-4 --seed 107 ;;
    m13wc) train m13wc m13w data13/questions.json projector,llm 5e-4 20 400 108 ;;
    m13b) train m13b pbt data13/questions.json projector,llm 5e-4 20 400 109 ;;
    m13wh) train m13wh m13w data13/questions.json projector,llm 1e-3 20 400 110 ;;
    # 3l: eight questions per image (3,200 scenes, seed 111), as chained turns (t8) and as independent
    # turns (i8: each sees the image and itself only), against m13wc (one question per image).
    t8) data_t8
        train t8 m13w data-t8/questions.json projector,llm 5e-4 20 400 112 ;;
    i8) data_t8
        train i8 m13w data-t8/questions.json projector,llm 5e-4 20 400 112 --independent-turns ;;
    # i8's records with a ninth, training-only turn: "What objects are there?" (describe-turns.ts).
    d8) data_t8 describe
        train d8 m13w data-t8/describe.json projector,llm 5e-4 20 400 112 --independent-turns ;;
    # m13wc with layer 4's query and key projections drawn afresh (the head that reads the first
    # object, object-attention.ts), then i8's stage for 200 steps.
    r4) [ -d "$WORK/m13wc-r4" ] || script reinit-attention "$WORK/m13wc" "$WORK/m13wc-r4" 4 115
        train r4 m13wc-r4 data-t8/questions.json projector,llm 5e-4 20 200 116 --independent-turns ;;
    # The describe question alone (one turn per scene), at the focused stages' lr 1e-3.
    dsc) data_t8 describe
         [ -f "$WORK/data-t8/describe-only.json" ] || describe_only "$WORK/data-t8"
         train dsc m13w data-t8/describe-only.json projector,llm 1e-3 20 300 113 ;;
    # The same for 2,000 steps (seed 114); session 12 stopped it at step 515 and committed its step-500
    # checkpoint as checkpoints/dsc2-step500 (export-model.ts, f16; its losses are in trainer_state.json).
    dsc2) data_t8 describe
          [ -f "$WORK/data-t8/describe-only.json" ] || describe_only "$WORK/data-t8"
          train dsc2 m13w data-t8/describe-only.json projector,llm 1e-3 20 2000 114 ;;
    # dsc2 continued from its committed step-500 weights (fresh AdamW moments, so 20 warm-up steps
    # again) for 1,500 steps from the rate dsc2 had reached there (8.6e-4), decaying to 0: together
    # the 2,000 steps dsc2 was meant to run, in the shape of its schedule.
    dsc3) data_t8 describe
          [ -f "$WORK/data-t8/describe-only.json" ] || describe_only "$WORK/data-t8"
          train dsc3 examples/shapes-llava/checkpoints/dsc2-step500 data-t8/describe-only.json projector,llm 8.6e-4 20 1500 117 ;;
    # A decoder that never read one object: projector and decoder drawn afresh (seed 120) under
    # binding's tower (frozen), trained from scratch on the describe question alone over 12,000
    # fresh scenes of 1-3 objects (seed 119), lr 1e-3 with the 50 warm-up steps recipe.sh's first
    # stage uses, 1,200 steps. Does a decoder with no first-object head learn to find an object by
    # its colour?
    fdsc) data_dsc; fresh_bt
          train fdsc fresh-bt data-dsc/describe-only.json projector,llm 1e-3 50 1200 121 ;;
    # fdsc's fresh start with every question type: the 12,000 single-turn questions of fdsc's scenes
    # (seed 119) and their 12,000 describe questions, shuffled together (seed 122), 700 steps from
    # fresh-bt at lr 1e-3 (50 warm-up). A first multi-object base whose decoder never read one object.
    fmix) data_dsc mix; fresh_bt
          train fmix fresh-bt data-dsc/mix.json projector,llm 1e-3 50 700 123 ;;
    # fdsc's decoder (colour-keyed head, 3m) on questions where reading the first object pays least:
    # fdsc's scenes of 2-3 objects only, every type but "above" (whose answer is always the first
    # object), with their describe questions; 300 steps at lr 5e-4 (seed 125).
    fsel) data_dsc
          [ -f "$WORK/data-dsc/select.json" ] || PYTHONPATH=examples/shapes-llava python3 - "$WORK/data-dsc" << 'PY'
import json, random, sys
from mix import several
d = sys.argv[1]
many = several(d)
records = [r for r in json.load(open(f'{d}/questions.json')) if r['id'] in many and r['type'] != 'above']
records += [r for r in json.load(open(f'{d}/describe-only.json')) if r['id'] in many]
random.Random(124).shuffle(records)
json.dump(records, open(f'{d}/select.json', 'w'))
PY
          train fsel examples/shapes-llava/checkpoints/fdsc-step900 data-dsc/select.json projector,llm 5e-4 20 300 125 ;;
    # fsel's decoder back on every type, where the first-object rule pays least: its 2-3-object
    # questions of every type but "above" and their describe questions (fsel's set), with half of the
    # "above" questions (seed 126) and a third of the one-object ones put back; 600 steps at lr 5e-4
    # (seed 127). fu: the same from fsel on fmix's set (everything, unweighted; seed 128).
    fw) data_dsc
        [ -f "$WORK/data-dsc/weighted.json" ] || PYTHONPATH=examples/shapes-llava python3 - "$WORK/data-dsc" << 'PY'
import json, random, sys
from mix import several
d = sys.argv[1]
rng = random.Random(126)
many = several(d)
records = []
for r in json.load(open(f'{d}/questions.json')):
    if r['id'] not in many: keep = rng.random() < 1 / 3
    elif r['type'] == 'above': keep = rng.random() < 1 / 2
    else: keep = True
    if keep: records.append(r)
records += [r for r in json.load(open(f'{d}/describe-only.json')) if r['id'] in many]
rng.shuffle(records)
json.dump(records, open(f'{d}/weighted.json', 'w'))
PY
        train fw fsel data-dsc/weighted.json projector,llm 5e-4 20 600 127 ;;
    fu) data_dsc mix
        train fu fsel data-dsc/mix.json projector,llm 5e-4 20 600 128 ;;
    # Which of the two takes fsel's selection away? fsel for 300 more steps at lr 5e-4 on its set with
    # one of them put back whole: every "above" question of its 2-3-object scenes (fa, seed 130), or
    # every question of the one-object scenes (f1, seed 131); shuffled with seed 129. fc, the control:
    # the same 300 steps on fsel's own set (seed 132).
    fc) data_dsc
        train fc fsel data-dsc/select.json projector,llm 5e-4 20 300 132 ;;
    fa|f1) data_dsc
        [ -f "$WORK/data-dsc/select-$step.json" ] || PYTHONPATH=examples/shapes-llava python3 - "$WORK/data-dsc" "$step" << 'PY'
import json, random, sys
from mix import several
d, step = sys.argv[1:]
many = several(d)
back = (lambda r: r['id'] in many and r['type'] == 'above') if step == 'fa' else (lambda r: r['id'] not in many)
records = json.load(open(f'{d}/select.json')) + [r for r in json.load(open(f'{d}/questions.json')) if back(r)]
random.Random(129).shuffle(records)
json.dump(records, open(f'{d}/select-{step}.json', 'w'))
PY
        train "$step" fsel "data-dsc/select-$step.json" projector,llm 5e-4 20 300 $([ "$step" = fa ] && echo 130 || echo 131) ;;
    # Colour questions stay a coin flip between two objects in every fresh decoder (3n), and the
    # describe question only ever selects by colour. fs: f1 for 1,000 more steps on f1's set with half
    # of its describe questions (seed 133) asked by shape instead ("What shape objects are there?",
    # "circle red square blue": a colour after each shape, a selection keyed by shape), lr 5e-4
    # (seed 134); fl, the control: the same 1,000 steps on f1's own set (seed 135).
    fs) data_dsc shape
        [ -f "$WORK/data-dsc/select-fs.json" ] || PYTHONPATH=examples/shapes-llava python3 - "$WORK/data-dsc" << 'PY'
import json, random, sys
from mix import half_by_shape
d = sys.argv[1]
records = half_by_shape(d, json.load(open(f'{d}/select-f1.json')), random.Random(133))
json.dump(records, open(f'{d}/select-fs.json', 'w'))
PY
        train fs f1 data-dsc/select-fs.json projector,llm 5e-4 20 1000 134 ;;
    fl) data_dsc
        train fl f1 data-dsc/select-f1.json projector,llm 5e-4 20 1000 135 ;;
    # fs does not learn the by-shape description (its colour after a shape stays a coin flip), where
    # fdsc learned the by-colour one within 300 steps: binding's tokens carry their object's colour
    # (99 %) but its shape only two times in three (token-probe.ts, 3k), and a selection keyed by shape
    # needs shape in every key. tps: fs's model with its tower (binding's) trained 400 steps alone
    # with --token-shapes (lr 5e-4, seed 138; as pbt, 3k). dsp: the by-shape description alone on
    # tps, 400 steps at lr 1e-3 (seed 137); dsb, the control, the same on fs's own tower (seed 136).
    tps) tower tps fs --token-shapes --steps 400 --lr 5e-4 --seed 138 ;;
    dsp) data_dsc shape; train dsp tps data-dsc/describe-shape-only.json projector,llm 1e-3 20 400 137 ;;
    dsb) data_dsc shape; train dsb fs data-dsc/describe-shape-only.json projector,llm 1e-3 20 400 136 ;;
    # Does the token-shapes tower carry over to the colour questions? fsp: tps (fs's projector and
    # decoder on that tower) for 250 steps on fs's set at lr 5e-4 (seed 139); fsc, the control, fs on
    # its own tower, the same 250 steps (seed 140).
    fsp) train fsp tps data-dsc/select-fs.json projector,llm 5e-4 20 250 139 ;;
    fsc) train fsc fs data-dsc/select-fs.json projector,llm 5e-4 20 250 140 ;;
    # A fresh decoder that learns both descriptions and every question together on a tower whose
    # tokens carry their object's shape: fta, init120's projector and decoder under tps's tower
    # (frozen), 1,200 steps at lr 1e-3 (50 warm-up, seed 142) on every single-turn question of fdsc's
    # scenes (seed 119) and one describe question per scene, by colour or by shape at random (seed
    # 141), shuffled: 24,000 records.
    fta) data_dsc shape
         [ -f "$WORK/data-dsc/both.json" ] || PYTHONPATH=examples/shapes-llava python3 - "$WORK/data-dsc" << 'PY'
import json, random, sys
from mix import half_by_shape
d = sys.argv[1]
rng = random.Random(141)
records = json.load(open(f'{d}/questions.json')) + half_by_shape(d, json.load(open(f'{d}/describe-only.json')), rng)
rng.shuffle(records)
json.dump(records, open(f'{d}/both.json', 'w'))
PY
         [ -f "$WORK/fresh-tps/model.safetensors" ] || { fresh_bt; script pretrain-vision "$WORK/init120" "$WORK/fresh-tps" --tower "$WORK/tps" --steps 0 --warmup 0; }
         train fta fresh-tps data-dsc/both.json projector,llm 1e-3 50 1200 142 ;;
    # Count and exists are at chance in every fresh decoder: an object owns 4 to 25 tokens with its
    # size and place, so counting tokens does not count objects. tcs: tps's tower 600 more steps
    # alone with --token-shapes and --token-centres (a head that flags the one patch under each
    # object's centre; lr 5e-4, seed 143). ftc: fta's run on tcs's tower (the same init, data, order
    # and seed): what the centre flag adds.
    tcs) tower tcs tps --token-shapes --token-centres --steps 600 --lr 5e-4 --seed 143 ;;
    ftc) [ -f "$WORK/data-dsc/both.json" ] || { echo "ftc: run fta first (data-dsc/both.json)"; exit 2; }
         [ -f "$WORK/fresh-tcs/model.safetensors" ] || { fresh_bt; script pretrain-vision "$WORK/init120" "$WORK/fresh-tcs" --tower "$WORK/tcs" --steps 0 --warmup 0; }
         train ftc fresh-tcs data-dsc/both.json projector,llm 1e-3 50 1200 142 ;;
    # Can a fresh decoder learn exists (xtc) or count (ctc) alone on tcs's tower, whose tokens carry
    # colour, shape and a centre flag? The 2,000 questions of that type in fdsc's scenes, 300 steps
    # at lr 1e-3 (30 warm-up; seeds 144, 145) from fresh-tcs.
    xtc|ctc) data_dsc
         type=$([ "$step" = xtc ] && echo exists || echo count)
         [ -f "$WORK/data-dsc/$type.json" ] || python3 -c 'import json, sys; d, t = sys.argv[1:]; json.dump([r for r in json.load(open(f"{d}/questions.json")) if r["type"] == t], open(f"{d}/{t}.json", "w"))' "$WORK/data-dsc" "$type"
         train "$step" fresh-tcs "data-dsc/$type.json" projector,llm 1e-3 30 300 $([ "$step" = xtc ] && echo 144 || echo 145) ;;
    # xtc stays at the loss of a coin flip and answers "yes" to everything; ctc's counts barely follow
    # the image. A pretrained LLM brings LLaVA the lookup these need (gather the question's words at
    # the last position, then find them in the context); a decoder trained from scratch must find it
    # while it learns to read the projector's tokens. lmt learns it on text alone, where the scene is
    # its words (text-scenes.ts: 40,000 records, seed 146; batch 32, seed 146); xlm then repeats
    # xtc from its decoder, the projector init120's as before.
    lmt) [ -f "$WORK/text146.json" ] || script text-scenes "$WORK/text146.json" --seed 146 --count 40000 --objects 1-3 --sizes 42,56
         fresh_bt
         train lmt init120 text146.json llm 1e-3 50 1500 146 --batch-size 32 --save-every 250 ;;
    xlm) finished "$WORK/lmt" 1500 || { echo "xlm: run lmt and xtc first"; exit 2; }
         [ -f "$WORK/lm-tcs/model.safetensors" ] || script pretrain-vision "$WORK/lmt" "$WORK/lm-tcs" --tower "$WORK/tcs" --steps 0 --warmup 0
         train xlm lm-tcs data-dsc/exists.json projector,llm 1e-3 30 300 144 ;;
    orc3) [ -f "$WORK/pwc152.json" ] || script text-scenes "$WORK/pwc152.json" --seed 152 --count 24000 --objects 1-3 --sizes 42,56 --patches --centre-word object
         [ -f "$WORK/pwc148.json" ] || script text-scenes "$WORK/pwc148.json" --seed 148 --count 400 --objects 1-3 --sizes 42,56 --patches --centre-word object
         fresh_bt
         [ -f "$WORK/orc3/model.safetensors" ] || OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 packages/train/scripts/torch_replica.py "$WORK/init120" "$WORK/pwc152.json" 4000 1e-3 16 152 \
           --warmup 50 --every 50 --eval-every 5 --eval "$WORK/pwc148.json" --threads 2 --export "$WORK/orc3" > "$WORK/orc3.log" 2>&1 ;;
    al)  [ -f "$WORK/orc3/model.safetensors" ] || { echo "al: run orc3 first"; exit 2; }
         [ -f "$WORK/tps/model.safetensors" ] || tower tps "$BINDING" --token-shapes --steps 400 --lr 5e-4 --seed 138
         [ -f "$WORK/orc3-tps/model.safetensors" ] || script pretrain-vision "$WORK/orc3" "$WORK/orc3-tps" --tower "$WORK/tps" --steps 0 --warmup 0
         [ -f "$WORK/al/model.safetensors" ] || script align-projector "$WORK/orc3-tps" "$WORK/al" --steps 300 --batch 16 --lr 1e-3 --warmup 20 --seed 157 --centre-word object > "$WORK/al.log" 2>&1
         data img148 148 400 --types color,shape,count,exists ;;
    ft)  data img158 158 3000 --types color,shape,count,exists
         train ft al img158/questions.json projector,llm 2e-4 10 150 158 --save-every 50 ;;
    orca) [ -f "$WORK/pwc152.json" ] || script text-scenes "$WORK/pwc152.json" --seed 152 --count 24000 --objects 1-3 --sizes 42,56 --patches --centre-word object
         fresh_bt
         train orca init120 pwc152.json llm 1e-3 50 4000 152 --batch-size 16 --save-every 250 ;;
    tw)  [ -f "$WORK/al/model.safetensors" ] || { echo "tw: run al first"; exit 2; }
         data img159 159 8000 --types color,shape,count,exists
         train tw al img159/questions.json vision,projector 5e-5 30 600 159 --vision-lr 2e-5 --batch-size 16 ;;
    orct8) [ -f "$WORK/pwt161.json" ] || script text-scenes "$WORK/pwt161.json" --seed 161 --count 12000 --objects 1-3 --sizes 42,56 --patches --centre-word object --turns 8
         fresh_bt
         train orct8 init120 pwt161.json llm 1e-3 50 3000 161 --batch-size 16 --independent-turns ;;
    # orca's step 1,500 is a copy of its directory taken when its trainer_state.json says step 1500
    # (adsc train has no way to stop early on the 4,000-step schedule; session 20 stopped the run).
    orcat8) [ -f "$WORK/orca-1500/model.safetensors" ] || { echo "orcat8: needs orca's step-1,500 checkpoint copied to $WORK/orca-1500"; exit 2; }
         train orcat8 orca-1500 pwt161.json llm 7e-4 50 3000 163 --batch-size 16 --independent-turns ;;
    al8) [ -f "$WORK/orct8-900/model.safetensors" ] || { echo "al8: needs orct8's step-900 checkpoint copied to $WORK/orct8-900"; exit 2; }
         [ -f "$WORK/tps/model.safetensors" ] || tower tps "$BINDING" --token-shapes --steps 400 --lr 5e-4 --seed 138
         [ -f "$WORK/o900-tps/model.safetensors" ] || script pretrain-vision "$WORK/orct8-900" "$WORK/o900-tps" --tower "$WORK/tps" --steps 0 --warmup 0
         [ -f "$WORK/al8/model.safetensors" ] || script align-projector "$WORK/o900-tps" "$WORK/al8" --steps 300 --batch 16 --lr 1e-3 --warmup 20 --seed 157 --centre-word object > "$WORK/al8.log" 2>&1
         data img148 148 400 --types color,shape,count,exists ;;
    tw8) [ -f "$WORK/al8/model.safetensors" ] || { echo "tw8: run al8 first"; exit 2; }
         [ -d "$WORK/img164" ] || adsc data shapes --seed 164 --count 4000 --turns 8 --objects 1-3 --sizes 42,56 --types color,shape,count,exists --out "$WORK/img164"
         train tw8 al8 img164/questions.json vision,projector 5e-5 30 250 164 --vision-lr 2e-5 --batch-size 16 --independent-turns ;;
    tw8d) [ -f "$WORK/tw8c/model.safetensors" ] && [ -f "$WORK/orct8-2000/model.safetensors" ] || { echo "tw8d: needs copies of tw8c and of orct8's step 2,000 in $WORK"; exit 2; }
         [ -f "$WORK/x2000/model.safetensors" ] || script pretrain-vision "$WORK/orct8-2000" "$WORK/x2000" --tower "$WORK/tw8c" --projector "$WORK/tw8c" --steps 0 --warmup 0
         train tw8d x2000 img164/questions.json vision,projector 5e-5 30 250 164 --vision-lr 2e-5 --batch-size 16 --independent-turns ;;
    tj)  finished "$WORK/tw" 600 || { echo "tj: run tw first"; exit 2; }
         data img160 160 8000 --types color,shape,count,exists
         train tj tw img160/questions.json vision,projector,llm 2e-5 20 300 160 --vision-lr 1e-5 --batch-size 16 ;;
    scores)
      for model in "$BINDING" "$WORK/m13" "$WORK/m13w" "$WORK/m13t" "$WORK/m13p" "$WORK/m13g" "$WORK/lg" "$WORK/lw" "$WORK/lgm" "$WORK/lm" "$WORK/m13s" "$WORK/m13wc" "$WORK/m13b" "$WORK/m13wh" "$WORK/t8" "$WORK/i8" "$WORK/d8" "$WORK/dsc" "$WORK/r4" "$WORK/fmix" "$WORK/fsel" "$WORK/fw" "$WORK/fu" "$WORK/fa" "$WORK/f1" "$WORK/fc"; do
        for val in val13 val1; do [ ! -d "$model" ] || score --model "$model" --data "$WORK/$val/questions.json"; done
      done
      # "left" alone on 400 more validation questions (seed 41), split by what each wrong answer names.
      for model in m13w m13g lg lw; do
        score --model "$WORK/$model" --data "$WORK/val-left/questions.json" --predictions "$WORK/$model-left.jsonl"
        script relation-errors "$WORK/$model-left.jsonl" 41 400 1-3 42,56 left
      done
      # 3l: what colour and shape answers on 2-3 objects name (the named object, or the first one).
      for model in m13wc t8 i8 d8 dsc r4 fmix fsel fw fu fa f1 fc fs fl; do
        [ -f "$WORK/$model-v13.jsonl" ] || score --model "$WORK/$model" --data "$WORK/val13/questions.json" --predictions "$WORK/$model-v13.jsonl" > /dev/null
        echo "== $model"; script selection-errors "$WORK/$model-v13.jsonl" 40 600
        script answer-kinds "$WORK/$model-v13.jsonl"
      done
      # Where the answer position looks, layer by layer, on 60 two-object shape questions (3n: and
      # how much of it is on the question's colour word).
      for model in "$BINDING" "$WORK/m13wc" "$WORK/dsc" "$WORK/r4" "$WORK/fmix" "$WORK/fsel" "$WORK/fw" "$WORK/fu" "$WORK/fa" "$WORK/f1" "$WORK/fc" "$WORK/fs"; do echo "== $model"; script object-attention "$model" 40 60; done
      # 3o: the same on 60 two-object colour questions, which select by shape.
      for model in "$WORK/f1" "$WORK/fs"; do echo "== $model, by shape"; script object-attention "$model" 40 60 42,56 --by shape; done
      # The describe question on the first 200 of val13's scenes (adsc eval keeps three words).
      [ -f "$WORK/val13/describe.json" ] || script describe-turns "$WORK/val13" --seed 40 --count 600 --objects 1-3 --sizes 42,56
      describe_only "$WORK/val13" 200
      for model in d8 dsc dsc2 dsc3 fdsc fmix fsel fw fu fs; do
        [ -d "$WORK/$model" ] || continue
        score --model "$WORK/$model" --data "$WORK/val13/describe-only.json" --predictions "$WORK/$model-desc.jsonl"
        script selection-errors "$WORK/$model-desc.jsonl" 40 600
        # 3m: where the position that reads the first colour of a description looks.
        echo "== $model, describe"; script object-attention "$WORK/$model" 40 60 42,56 --describe
      done
      # 3o: the by-shape description on the same 200 scenes, and where its first shape's position looks.
      [ -f "$WORK/val13/describe-shape.json" ] || script describe-turns "$WORK/val13" --seed 40 --count 600 --objects 1-3 --sizes 42,56 --by shape
      describe_only "$WORK/val13" 200 shape
      for model in fs dsb dsp; do
        score --model "$WORK/$model" --data "$WORK/val13/describe-shape-only.json" --predictions "$WORK/$model-descs.jsonl"
        script selection-errors "$WORK/$model-descs.jsonl" 40 600
        echo "== $model, describe by shape"; script object-attention "$WORK/$model" 40 60 42,56 --describe --by shape
      done
      # 3n: 400 colour and shape questions on two objects (seed 42), what each answer names.
      [ -d "$WORK/sel42" ] || adsc data shapes --seed 42 --count 400 --turns 1 --objects 2 --sizes 42,56 --types color,shape --out "$WORK/sel42"
      for model in "$BINDING" "$WORK/fmix" "$WORK/fsel" "$WORK/fc" "$WORK/fa" "$WORK/f1" "$WORK/fw" "$WORK/fu" "$WORK/fs" "$WORK/fl" "$WORK/fsp" "$WORK/fsc"; do
        score --model "$model" --data "$WORK/sel42/questions.json" --predictions "$WORK/$(basename "$model")-sel42.jsonl" > /dev/null
        echo "== $model"; script selection-errors "$WORK/$(basename "$model")-sel42.jsonl" 42 400 2 42,56 color,shape
      done
      # 3p: 400 count and exists questions (seed 43), the counts as a table of right against answered.
      [ -d "$WORK/ce43" ] || adsc data shapes --seed 43 --count 400 --turns 1 --objects 1-3 --sizes 42,56 --types count,exists --out "$WORK/ce43"
      for model in fl fta ftc xtc ctc xlm; do
        [ -d "$WORK/$model" ] || continue
        score --model "$WORK/$model" --data "$WORK/ce43/questions.json" --predictions "$WORK/$model-ce43.jsonl"
        script binding-errors "$WORK/$model-ce43.jsonl"
      done
      for model in fta ftc; do score --model "$WORK/$model" --data "$WORK/val13/questions.json"; done
      # 3q: text-only questions on 400 held-out scenes written as words (seed 147).
      [ -f "$WORK/text147.json" ] || script text-scenes "$WORK/text147.json" --seed 147 --count 400 --objects 1-3 --sizes 42,56
      score --model "$WORK/lmt" --data "$WORK/text147.json"
      # 3r: the words-first decoder on perfect tokens and blind, then on the real images of the same
      # questions with binding as the reference, each split by the scene's object count (by-objects.ts).
      if [ -d "$WORK/orc3" ]; then
        score --model "$WORK/orc3" --data "$WORK/pwc148.json" --blind
        adsc eval --model "$WORK/orc3" --data "$WORK/pwc148.json" --threads 1 --predictions "$WORK/orc3-pw148.jsonl" > /dev/null 2>&1
        script by-objects "$WORK/orc3-pw148.jsonl" 148 400 1-3 42,56 color,shape,count,exists
        for model in "$BINDING" "$WORK/al" "$WORK/ft"; do
          [ -d "$model" ] || continue
          score --model "$model" --data "$WORK/img148/questions.json"
          adsc eval --model "$model" --data "$WORK/img148/questions.json" --threads 1 --predictions "$WORK/$(basename "$model")-148.jsonl" > /dev/null 2>&1
          script by-objects "$WORK/$(basename "$model")-148.jsonl" 148 400 1-3 42,56 color,shape,count,exists
        done
      fi
      for schedule in 'adsc:2=1/2,4=1/2' 'adsc:1=1/36' 'fastv:K=1,R=0.97222'; do
        score --model "$WORK/m13" --data "$WORK/val13/questions.json" --schedule "$schedule"
      done
      ;;
    *) echo "multi-object.sh: unknown step $step (data, m13, m13w, m13t, pos, m13p, posb, posg, probes, m13g, lg, lw, lgm, lm, eg4, post, post2, token-probes, m13s, ep2, pbt, m13wc, m13b, m13wh, t8, i8, d8, r4, dsc, dsc2, dsc3, fdsc, fmix, fsel, fw, fu, fa, f1, fc, fs, fl, tps, dsp, dsb, fsp, fsc, fta, tcs, ftc, xtc, ctc, lmt, xlm, orc3, al, ft, scores)" >&2; exit 2 ;;
  esac
done
