// Shared internals of the spdcm shim. Never included by the C header.
#pragma once

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dctk.h"
#include "dcmtk/dcmnet/assoc.h"
#include "dcmtk/dcmnet/dimse.h"
#include "spdcm.h"

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

struct spdcm_dataset {
    DcmFileFormat file;
};

namespace spdcm {

inline void clear(spdcm_error *e) {
    if (e) { e->code = SPDCM_OK; e->message[0] = 0; }
}

inline void fail(spdcm_error *e, int code, const std::string &message) {
    if (!e) return;
    e->code = code;
    std::snprintf(e->message, sizeof e->message, "%s", message.c_str());
}

inline DcmItem *item(spdcm_item *i) { return reinterpret_cast<DcmItem *>(i); }
inline const DcmItem *item(const spdcm_item *i) { return reinterpret_cast<const DcmItem *>(i); }
inline spdcm_item *wrap(DcmItem *i) { return reinterpret_cast<spdcm_item *>(i); }

/// Loads the data dictionary once and quiets DCMTK's own logger: SpinePlan reports conditions itself.
void initialize();

/// Turns Nagle's algorithm off: DCMTK leaves it on, and each small DIMSE response then waits 40-55 ms for a
/// delayed ACK. Called on every socket we accept or open.
void disableNagle(int fd);

/// Maps a transfer syntax UID to DCMTK's enum; EXS_Unknown when not a little endian uncompressed one.
E_TransferSyntax transferSyntax(const char *uid);

}  // namespace spdcm

/// Runs a body, turning any C++ exception into an spdcm_error so none crosses the C boundary.
#define SPDCM_GUARD(err, failValue, ...)                                                 \
    try { __VA_ARGS__ }                                                                         \
    catch (const std::exception &ex) { spdcm::fail(err, SPDCM_E_INTERNAL, ex.what()); return failValue; } \
    catch (...) { spdcm::fail(err, SPDCM_E_INTERNAL, "unknown C++ exception"); return failValue; }
