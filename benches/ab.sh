#!/bin/bash
# Interleaved A/B runs of study workloads on filch alone, for measuring what a change costs on
# this noisy machine (the study proper compares runtimes; this compares builds of filch).
#
#   benches/ab.sh "A B C" ROUNDS N WORKERS WORKLOAD...
#
# A, B, C name study binaries /tmp/study-A, /tmp/study-B, ... (copy
# target/release/deps/study-<hash> there after `cargo bench --bench study --no-run`, one copy
# per build; copy the first build twice, as A and A2, for a control). Each round runs every
# binary once per workload (`study --repeat WORKLOAD filch WORKERS N`, which prints each of its N
# runs), in turn; the median of each process's N runs is one sample. Prints, per workload, the
# geometric mean over rounds of each binary's samples divided by A's, then the geometric mean of
# those over the workloads.
set -euo pipefail
bins="$1" rounds="$2" n="$3" workers="$4"
shift 4
for w in "$@"; do
    for _ in $(seq 1 "$rounds"); do
        for v in $bins; do
            STUDY_REPEAT_PRINT=1 "/tmp/study-$v" --repeat "$w" filch "$workers" "$n" | sort -g |
                awk -v v="$v" '{a[NR]=$1} END{print v, a[int((NR+1)/2)]}'
        done
    done | awk -v w="$w" -v bins="$bins" '
        {l[$1]+=log($2); c[$1]++}
        END{k=split(bins,b," "); printf "%s", w
            for(i=2;i<=k;i++) printf " %s=%.3f", b[i], exp(l[b[i]]/c[b[i]]-l[b[1]]/c[b[1]])
            printf "\n"}'
done | tee /dev/stderr | awk -v first="${bins%% *}" '
    {for(i=2;i<=NF;i++){split($i,a,"="); l[a[1]]+=log(a[2]); c[a[1]]++}}
    END{for(k in l) printf "geomean %s/%s: %.4f over %d workloads\n", k, first, exp(l[k]/c[k]), c[k]}'
