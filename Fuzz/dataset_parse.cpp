// libFuzzer target over the shim's dataset parsing (issue 16 point 6): the bytes a peer sends as a C-STORE dataset,
// parsed by DCMTK through the shim as the SCP does, then read the way SliceDecoder reads them (strings, numbers,
// sequences, pixel data) and encoded back. Built with ASan and UBSan by scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "spdcm.h"

namespace {

const char *const kTransferSyntaxes[] = {
    "1.2.840.10008.1.2.1",  // Explicit VR Little Endian
    "1.2.840.10008.1.2",    // Implicit VR Little Endian
};

// Attributes SliceDecoder reads, top level and inside the enhanced MR functional groups.
const uint16_t kTags[][2] = {
    {0x0008, 0x0016}, {0x0008, 0x0018}, {0x0008, 0x0060}, {0x0008, 0x0008}, {0x0010, 0x0010}, {0x0010, 0x0020},
    {0x0018, 0x0050}, {0x0018, 0x0088}, {0x0020, 0x000D}, {0x0020, 0x000E}, {0x0020, 0x0013}, {0x0020, 0x0032},
    {0x0020, 0x0037}, {0x0020, 0x0052}, {0x0020, 0x1002}, {0x0028, 0x0010}, {0x0028, 0x0011}, {0x0028, 0x0030},
    {0x0028, 0x0100}, {0x0028, 0x0103}, {0x0028, 0x1052}, {0x0028, 0x1053}, {0x0028, 0x0008}, {0x7FE0, 0x0010},
};
const uint16_t kSequences[][2] = {
    {0x5200, 0x9229}, {0x5200, 0x9230}, {0x0020, 0x9113}, {0x0020, 0x9116}, {0x0028, 0x9110}, {0x0028, 0x9145},
    {0x0018, 0x9226}, {0x0020, 0x9111},
};

void read(spdcm_item *item, int depth) {
    for (const auto &t : kTags) {
        if (char *s = spdcm_item_get_string(item, t[0], t[1])) spdcm_free(s);
        spdcm_item_has(item, t[0], t[1]);
        const uint8_t *bytes = nullptr;
        size_t length = 0;
        if (spdcm_item_get_bytes(item, t[0], t[1], &bytes, &length) && length > 0) {
            volatile uint8_t sink = bytes[0] ^ bytes[length - 1];  // touch both ends: ASan sees a short buffer
            (void)sink;
        }
    }
    if (depth > 3) return;
    for (const auto &q : kSequences) {
        size_t n = spdcm_item_sequence_count(item, q[0], q[1]);
        for (size_t i = 0; i < n && i < 64; ++i) {
            if (spdcm_item *child = spdcm_item_sequence_item(item, q[0], q[1], i)) read(child, depth + 1);
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const char *syntax = kTransferSyntaxes[data[0] & 1];
    spdcm_error error{};
    spdcm_dataset *dataset = spdcm_dataset_parse(data + 1, size - 1, syntax, &error);
    if (!dataset) return 0;
    read(spdcm_dataset_root(dataset), 0);
    uint8_t *encoded = nullptr;
    size_t length = 0;
    if (spdcm_dataset_encode(dataset, "1.2.840.10008.1.2.1", &encoded, &length, &error)) spdcm_free(encoded);
    spdcm_dataset_free(dataset);
    return 0;
}
