#!/usr/bin/env bash
# The accuracy-versus-cost results of docs/results.md: every method on the same model, on a held-out
# test set (seed 2, never trained or tuned on). Needs the adapters of adsc-adapters.sh. Rerun from
# the repo root:
#
#   bash examples/shapes-llava/results.sh [BASE_DIR] [WORK_DIR]
#        (default examples/shapes-llava/checkpoints/one-object and /tmp/shapes-results;
#        ADSC_WORK=DIR: adsc-adapters.sh's WORK_DIR, default /tmp/shapes-adsc, for its whole-model runs)
#
# Writes WORK_DIR/<run>.json (adsc eval --json), copies them to docs/results/, and draws
# docs/results.svg (overall accuracy), docs/results-shape.svg (shape questions) and the table
# (stdout) with packages/eval/scripts/results.ts.
#
# Matched costs: at each target the three methods keep the same number of vision tokens in every
# layer (adsc-adapters.sh lists them), so their counted decoder FLOPs differ only by PyramidDrop's
# ranking projections. FastV's K=1 and PyramidDrop's layer-1 drop are the earliest they allow (both
# rank with a layer's attention), which is why no target drops before layer 0.
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE=${1:-examples/shapes-llava/checkpoints/one-object}
WORK=${2:-/tmp/shapes-results}
mkdir -p "$WORK" docs/results
[ -d "$WORK/test" ] || npx tsx packages/cli/src/cli.ts data shapes --seed 2 --count 2000 --objects 1 --sizes 42,56,70,84 --out "$WORK/test"
AD=examples/shapes-llava/adapters
# Where adsc-adapters.sh left the whole-model fine-tunes (its WORK_DIR).
ADSC_WORK=${ADSC_WORK:-/tmp/shapes-adsc}

# name | eval flags (the label is given to results.ts below)
RUNS=(
  "base|--schedule none"
  "blind|--schedule none --blind"
  "adsc-free-a50|--schedule adsc:2=1/2,4=1/2"
  "adsc-free-a78|--schedule adsc:1=1/9"
  "adsc-free-a85|--schedule adsc:1=1/36"
  "adsc-a50|--adapter $AD/a50-reverse"
  "adsc-a78|--adapter $AD/a78-reverse"
  "adsc-a85|--adapter $AD/a85-reverse"
  "forward-a85|--adapter $AD/a85-forward"
  "fastv-a50|--schedule fastv:K=2,R=0.6667"
  "fastv-a78|--schedule fastv:K=1,R=0.8889"
  "fastv-a85|--schedule fastv:K=1,R=0.97222"
  "pdrop-a50|--schedule pdrop:layers=2,4,ratio=0.5"
  "pdrop-a78|--schedule pdrop:layers=1,ratio=0.11112"
  "pdrop-a85|--schedule pdrop:layers=1,ratio=0.02778"
  "none-a85|--adapter $AD/a85-none"
  "plain|--adapter $AD/plain"
  "plain-a50|--adapter $AD/plain --schedule adsc:2=1/2,4=1/2"
  "plain-a78|--adapter $AD/plain --schedule adsc:1=1/9"
  "plain-a85|--adapter $AD/plain --schedule adsc:1=1/36"
  "gradual-free-g83|--schedule adsc:1=1/6,2=1/6"
  "gradual-g83|--adapter $AD/g83-none"
  "full-a50|--model $ADSC_WORK/full-a50 --schedule adsc:2=1/2,4=1/2"
  "full-a85|--model $ADSC_WORK/full-a85 --schedule adsc:1=1/36"
  "full-plain|--model $ADSC_WORK/full-plain --schedule none"
  "full-plain-a50|--model $ADSC_WORK/full-plain --schedule adsc:2=1/2,4=1/2"
)
run() {
  local name=${1%%|*} flags=${1#*|} model=(--model "$BASE")
  [ -s "$WORK/$name.json" ] && return
  # A run that names its own --model (the whole-model fine-tunes) is not run on BASE.
  [[ $flags == --model* ]] && model=()
  # shellcheck disable=SC2086
  npx tsx packages/cli/src/cli.ts eval "${model[@]}" --data "$WORK/test/questions.json" $flags --threads 1 --json > "$WORK/$name.json.part"
  mv "$WORK/$name.json.part" "$WORK/$name.json"
  echo "$name done" >&2
}
export -f run
export BASE WORK
printf '%s\n' "${RUNS[@]}" | xargs -P 2 -I{} bash -c 'run "$1"' _ {}
cp "$WORK"/*.json docs/results/

R=docs/results
REPORTS=(
  "$R/base.json=base" "$R/blind.json=blind (no image)"
  "$R/adsc-a50.json=ADSC tuned (reverse) 50 %" "$R/adsc-a78.json=ADSC tuned (reverse) 78 %" "$R/adsc-a85.json=ADSC tuned (reverse) 85 %"
  "$R/adsc-free-a50.json=ADSC-free 50 %" "$R/adsc-free-a78.json=ADSC-free 78 %" "$R/adsc-free-a85.json=ADSC-free 85 %"
  "$R/fastv-a50.json=FastV K=2 50 %" "$R/fastv-a78.json=FastV K=1 78 %" "$R/fastv-a85.json=FastV K=1 85 %"
  "$R/pdrop-a50.json=PyramidDrop 50 %" "$R/pdrop-a78.json=PyramidDrop 78 %" "$R/pdrop-a85.json=PyramidDrop 85 %"
  "$R/forward-a85.json=forward curriculum 85 %" "$R/none-a85.json=no-curriculum 85 %"
  "$R/plain.json=plain LoRA (no schedule)" "$R/plain-a50.json=plain LoRA at 50 %"
  "$R/plain-a78.json=plain LoRA at 78 %" "$R/plain-a85.json=plain LoRA at 85 %"
  "$R/gradual-free-g83.json=gradual-free 83 % (144, 24, then 4)" "$R/gradual-g83.json=gradual tuned (no curriculum) 83 %"
  "$R/full-a50.json=whole-model-ADSC 50 %" "$R/full-a85.json=whole-model-ADSC 85 %"
  "$R/full-plain.json=whole-model-plain (no schedule)" "$R/full-plain-a50.json=whole-model-plain at 50 %"
)
npx tsx packages/eval/scripts/results.ts docs/results.svg "${REPORTS[@]}"
npx tsx packages/eval/scripts/results.ts docs/results-shape.svg "${REPORTS[@]}" --type shape > /dev/null
