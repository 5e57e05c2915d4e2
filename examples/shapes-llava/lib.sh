# Shared by the shapes-llava training scripts, which source it after they cd to the repo root.

# adsc ARGS...: the CLI from the working tree.
adsc() { npx tsx packages/cli/src/cli.ts "$@"; }
# script NAME ARGS...: one of packages/shapes/scripts/NAME.ts.
script() { npx tsx "packages/shapes/scripts/$1.ts" "${@:2}"; }
# finished DIR STEPS: whether the `adsc train` run in DIR has saved its last step (STEPS), so that a
# rerun of a script skips it and goes on with the next.
finished() { grep -q "\"step\": $2," "$1/trainer_state.json" 2>/dev/null; }
