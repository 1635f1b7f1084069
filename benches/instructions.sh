#!/usr/bin/env bash
# Instructions per run of a study workload, counted by callgrind: repeatable on a noisy machine,
# where times are not. For each workload and runtime, the count of a process that runs the
# workload 3 times minus one that runs it once, halved: one run's instructions, with building
# the runtime, the warm-up and the teardown cancelled out. Quick sizes, 1 worker.
#
#   bash benches/instructions.sh [workload ...]    # default: spawn_many_local yield_many timers_cancel timers_fire
#
# Needs valgrind. Takes a few minutes (callgrind runs the program about 50 times slower).
set -euo pipefail
cd "$(dirname "$0")/.."
workloads=("$@")
[ ${#workloads[@]} -gt 0 ] || workloads=(spawn_many_local yield_many timers_cancel timers_fire)
cargo bench --bench study --features hyper --no-run --message-format=json 2>/dev/null \
    | grep -o '"executable":"[^"]*study-[^"]*"' | tail -1 | cut -d'"' -f4 > target/.study-bin
study=$(cat target/.study-bin)
count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$study" --repeat "$1" "$2" 1 "$3" 2>&1 \
        | grep -oP 'Collected : \K[0-9]+'
}
printf '| workload | filch | tokio | smol | filch/tokio | filch/smol |\n|---|---:|---:|---:|---:|---:|\n'
for w in "${workloads[@]}"; do
    declare -A per=()
    for rt in filch tokio smol; do
        one=$(count "$w" "$rt" 1)
        three=$(count "$w" "$rt" 3)
        per[$rt]=$(( (three - one) / 2 ))
    done
    awk -v w="$w" -v f="${per[filch]}" -v t="${per[tokio]}" -v s="${per[smol]}" 'BEGIN {
        printf "| %s | %.2f M | %.2f M | %.2f M | %.3f | %.3f |\n", w, f/1e6, t/1e6, s/1e6, f/t, f/s }'
done
