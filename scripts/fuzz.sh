#!/usr/bin/env bash
# libFuzzer over the shim's dataset parsing, with ASan and UBSan (issue 16 point 6). Bounded in time; writes any
# crashing input to out/fuzz/ and exits 1 if there is one. Usage: scripts/fuzz.sh [seconds per target (600)]
# The seed corpus (Fuzz/corpus/dataset_parse: classic and enhanced MR datasets, explicit and implicit VR, first byte
# choosing the transfer syntax) is committed; what the fuzzer adds goes to out/fuzz/corpus, outside git.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${1:-600}"
out="$root/out/fuzz"
mkdir -p "$out/corpus/dataset_parse"
clang="${CLANGXX:-$(command -v clang++ || echo /opt/swift/usr/bin/clang++)}"
# DCMTK itself is Debian's build, not instrumented: coverage guides through the shim, and ASan sees every access the
# shim makes to what DCMTK returns. DCMTK allocates a value's declared length up front (up to 4 GiB, virtual) before
# it finds the input short, so the malloc limit is raised above that; the RSS limit stays at 2 GiB.
"$clang" -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -Wno-deprecated-declarations -I Sources/CDCMTK/include -I Sources/CDCMTK \
    Fuzz/dataset_parse.cpp Sources/CDCMTK/Dataset.cpp -ldcmnet -ldcmdata -loflog -lofstd \
    -o "$out/dataset_parse" 2> >(grep -v "Cannot export local symbol" >&2)
cd "$out"
status=0
./dataset_parse -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=4600 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$out/" corpus/dataset_parse "$root/Fuzz/corpus/dataset_parse" 2>&1 | tee "$out/dataset_parse.log" \
    | grep -E "^#[0-9]+.*(DONE|pulse)|stat::|SUMMARY|ERROR" || true
grep -q "SUMMARY" "$out/dataset_parse.log" && status=1
echo "fuzz: dataset_parse, $(grep -o 'stat::number_of_executed_units: [0-9]*' "$out/dataset_parse.log" | awk '{print $2}') inputs in $seconds s; $(grep -c SUMMARY "$out/dataset_parse.log" || true) findings"
exit "$status"
