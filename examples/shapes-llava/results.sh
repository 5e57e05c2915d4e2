#!/usr/bin/env bash
# The accuracy-versus-cost results of docs/results.md: every method on the same model, on a held-out
# test set (seed 2, never trained or tuned on). Needs the adapters of adsc-adapters.sh. Rerun from
# the repo root:
#
#   bash examples/shapes-llava/results.sh [BASE_DIR] [WORK_DIR]
#        (default examples/shapes-llava/checkpoints/shape-focus and /tmp/shapes-results/<its name>;
#        ADSC_WORK=DIR: adsc-adapters.sh's WORK_DIR, default /tmp/shapes-adsc/<its name>, for its whole-model runs)
#
# Writes WORK_DIR/<run>.json (adsc eval --json), copies them to docs/results/<base name>/, and draws
# docs/results-<base name>.svg (overall accuracy), docs/results-<base name>-shape.svg (shape questions) and the table
# (stdout) with packages/eval/scripts/results.ts.
#   AD=DIR      the adapters (default BASE_DIR/adapters)
#   OUT=DIR     where the reports go; PLOT=PREFIX the plots
#   ONLY="base blind adsc-a50 ..."   run and plot only the runs named
#   LAYOUT="--objects 1-3 --sizes 42,56"   the test scenes (adsc data shapes flags; default one object
#               of 42-84 px, the layout the committed bases read); WORK_DIR remembers the layout its
#               test set was made with and refuses another
#
# Matched costs: at each target the three methods keep the same number of vision tokens in every
# layer (adsc-adapters.sh lists them), so their counted decoder FLOPs differ only by PyramidDrop's
# ranking projections. FastV's K=1 and PyramidDrop's layer-1 drop are the earliest they allow (both
# rank with a layer's attention), which is why no target drops before layer 0.
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE=${1:-examples/shapes-llava/checkpoints/shape-focus}
NAME=$(basename "$BASE")
WORK=${2:-/tmp/shapes-results/$NAME}
OUT=${OUT:-docs/results/$NAME}
PLOT=${PLOT:-docs/results-$NAME}
source examples/shapes-llava/lib.sh
mkdir -p "$WORK" "$OUT"
LAYOUT=${LAYOUT:---objects 1 --sizes 42,56,70,84}
if [ -f "$WORK/test.layout" ] && [ "$(cat "$WORK/test.layout")" != "$LAYOUT" ]; then
  echo "results.sh: $WORK/test was made with LAYOUT=\"$(cat "$WORK/test.layout")\", not \"$LAYOUT\"; give another WORK_DIR" >&2
  exit 2
fi
# shellcheck disable=SC2086
[ -d "$WORK/test" ] || { adsc data shapes --seed 2 --count 2000 $LAYOUT --out "$WORK/test"; echo "$LAYOUT" > "$WORK/test.layout"; }
AD=${AD:-$BASE/adapters}
# Where adsc-adapters.sh left the whole-model fine-tunes (its WORK_DIR).
ADSC_WORK=${ADSC_WORK:-/tmp/shapes-adsc/$NAME}

# name | label in the table and plots (its first word names the line a point joins) | eval flags
RUNS=(
  "base|base|--schedule none"
  "blind|blind (no image)|--schedule none --blind"
  "adsc-a50|ADSC tuned (reverse) 50 %|--adapter $AD/a50-reverse"
  "adsc-a78|ADSC tuned (reverse) 78 %|--adapter $AD/a78-reverse"
  "adsc-a85|ADSC tuned (reverse) 85 %|--adapter $AD/a85-reverse"
  "adsc-free-a50|ADSC-free 50 %|--schedule adsc:2=1/2,4=1/2"
  "adsc-free-a78|ADSC-free 78 %|--schedule adsc:1=1/9"
  "adsc-free-a85|ADSC-free 85 %|--schedule adsc:1=1/36"
  "fastv-a50|FastV K=2 50 %|--schedule fastv:K=2,R=0.6667"
  "fastv-a78|FastV K=1 78 %|--schedule fastv:K=1,R=0.8889"
  "fastv-a85|FastV K=1 85 %|--schedule fastv:K=1,R=0.97222"
  "pdrop-a50|PyramidDrop 50 %|--schedule pdrop:layers=2,4,ratio=0.5"
  "pdrop-a78|PyramidDrop 78 %|--schedule pdrop:layers=1,ratio=0.11112"
  "pdrop-a85|PyramidDrop 85 %|--schedule pdrop:layers=1,ratio=0.02778"
  "forward-a85|forward curriculum 85 %|--adapter $AD/a85-forward"
  "none-a85|no-curriculum 85 %|--adapter $AD/a85-none"
  "forward-a78|forward curriculum 78 %|--adapter $AD/a78-forward"
  "none-a78|no-curriculum 78 %|--adapter $AD/a78-none"
  "none-a50|no-curriculum 50 %|--adapter $AD/a50-none"
  "long-a50|long no-curriculum (1,200 steps) 50 %|--adapter $AD/a50-none-1200"
  "long-a78|long no-curriculum (1,200 steps) 78 %|--adapter $AD/a78-none-1200"
  "long-a85|long no-curriculum (1,200 steps) 85 %|--adapter $AD/a85-none-1200"
  "long-reverse-a50|long-reverse curriculum (1,200 steps) 50 %|--adapter $AD/a50-reverse-1200"
  "long-reverse-a85|long-reverse curriculum (1,200 steps) 85 %|--adapter $AD/a85-reverse-1200"
  "longer-a85|longer no-curriculum (2,400 steps) 85 %|--adapter $AD/a85-none-2400"
  "longer-reverse-a85|longer-reverse curriculum (2,400 steps) 85 %|--adapter $AD/a85-reverse-2400"
  "plain|plain LoRA (no schedule)|--adapter $AD/plain"
  "plain-a50|plain LoRA at 50 %|--adapter $AD/plain --schedule adsc:2=1/2,4=1/2"
  "plain-a78|plain LoRA at 78 %|--adapter $AD/plain --schedule adsc:1=1/9"
  "plain-a85|plain LoRA at 85 %|--adapter $AD/plain --schedule adsc:1=1/36"
  "gradual-free-g83|gradual-free 83 % (144, 24, then 4)|--schedule adsc:1=1/6,2=1/6"
  "gradual-g83|gradual tuned (no curriculum) 83 %|--adapter $AD/g83-none"
  "full-a50|whole-model-ADSC 50 %|--model $ADSC_WORK/full-a50 --schedule adsc:2=1/2,4=1/2"
  "full-a85|whole-model-ADSC 85 %|--model $ADSC_WORK/full-a85 --schedule adsc:1=1/36"
  "full-plain|whole-model-plain (no schedule)|--model $ADSC_WORK/full-plain --schedule none"
  "full-plain-a50|whole-model-plain at 50 %|--model $ADSC_WORK/full-plain --schedule adsc:2=1/2,4=1/2"
)
run() {
  local name=${1%%|*} flags=${1##*|} model=(--model "$BASE")
  [ -s "$WORK/$name.json" ] && return
  # A run that names its own --model (the whole-model fine-tunes) is not run on BASE.
  [[ $flags == --model* ]] && model=()
  # shellcheck disable=SC2086
  # A failed evaluation leaves no report (and makes xargs, then this script, fail).
  if adsc eval "${model[@]}" --data "$WORK/test/questions.json" $flags --threads 1 --json > "$WORK/$name.json.part"; then
    mv "$WORK/$name.json.part" "$WORK/$name.json"
    echo "$name done" >&2
  else
    rm -f "$WORK/$name.json.part"
    echo "$name failed" >&2
    return 1
  fi
}
if [ -n "${ONLY:-}" ]; then
  ONLY=$(echo $ONLY)   # one space between names, whatever the list was written with
  KEPT=()
  for entry in "${RUNS[@]}"; do if [[ " $ONLY " == *" ${entry%%|*} "* ]]; then KEPT+=("$entry"); fi; done
  RUNS=("${KEPT[@]}")
fi
export -f run adsc
export BASE WORK
printf '%s\n' "${RUNS[@]}" | xargs -P 2 -I{} bash -c 'run "$1"' _ {}

# The reports in the order of RUNS, each as FILE=label for results.ts.
REPORTS=()
for entry in "${RUNS[@]}"; do
  rest=${entry#*|}
  cp "$WORK/${entry%%|*}.json" "$OUT/"
  REPORTS+=("$OUT/${entry%%|*}.json=${rest%%|*}")
done
npx tsx packages/eval/scripts/results.ts "$PLOT.svg" "${REPORTS[@]}"
npx tsx packages/eval/scripts/results.ts "$PLOT-shape.svg" "${REPORTS[@]}" --type shape > /dev/null
