#!/usr/bin/env bash
# libFuzzer over the shim's dataset parsing, with ASan and UBSan, and over the slice-to-session path in Swift, with
# ASan (issue 16 point 6). Bounded in time; writes any crashing input to out/fuzz/ and exits 1 if there is one.
# Usage: scripts/fuzz.sh [seconds per target (600)] [targets: dataset_parse slice_to_session (both)]
# The seed corpus (Fuzz/corpus/dataset_parse: classic and enhanced MR datasets, explicit and implicit VR, first byte
# choosing the transfer syntax) is committed; what the fuzzer adds goes to out/fuzz/corpus, outside git.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${1:-600}"
shift || true
if (($#)); then targets=("$@"); else targets=(dataset_parse slice_to_session); fi
out="$root/out/fuzz"
mkdir -p "$out/corpus/dataset_parse" "$out/corpus/slice_to_session"
status=0
run() {  # run NAME BINARY: the fuzzer for $seconds on its corpus and the committed seeds
    local name="$1" binary="$2"
    (cd "$out" && "$binary" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=4600 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$out/$name-" "corpus/$name" "$root/Fuzz/corpus/dataset_parse" 2>&1) \
        | tee "$out/$name.log" | grep -E "^#[0-9]+.*(DONE|pulse)|stat::|SUMMARY|ERROR" || true
    grep -q "SUMMARY" "$out/$name.log" && status=1
    echo "fuzz: $name, $(grep -o 'stat::number_of_executed_units: [0-9]*' "$out/$name.log" | awk '{print $2}') inputs in $seconds s; $(grep -c SUMMARY "$out/$name.log" || true) findings"
}
if [[ " ${targets[*]} " == *" dataset_parse "* ]]; then
    clang="${CLANGXX:-$(command -v clang++ || echo /opt/swift/usr/bin/clang++)}"
    # DCMTK itself is Debian's build, not instrumented: coverage guides through the shim, and ASan sees every access
    # the shim makes to what DCMTK returns. DCMTK allocates a value's declared length up front (up to 4 GiB, virtual)
    # before it finds the input short, so the malloc limit is raised above that; the RSS limit stays at 2 GiB.
    "$clang" -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
        -Wno-deprecated-declarations -I Sources/CDCMTK/include -I Sources/CDCMTK \
        Fuzz/dataset_parse.cpp Sources/CDCMTK/Dataset.cpp -ldcmnet -ldcmdata -loflog -lofstd \
        -o "$out/dataset_parse" 2> >(grep -v "Cannot export local symbol" >&2)
    run dataset_parse "$out/dataset_parse"
fi
if [[ " ${targets[*]} " == *" slice_to_session "* ]]; then
    # Swift: DICOMObject (through the shim), SliceDecoder with the daemon's limits, SessionAssembler, snapshots. The
    # input is up to eight datasets split by "SPLT" (Fuzz/SliceToSession); libFuzzer's driver is its entry point.
    swift build -c release --package-path Fuzz/SliceToSession --scratch-path "$out/build" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
    run slice_to_session "$out/build/release/SliceToSessionFuzz"
fi
exit "$status"
