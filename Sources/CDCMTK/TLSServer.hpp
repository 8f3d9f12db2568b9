// The Storage SCP's TLS side (TLSServer.cpp). Never included by the C header.
#pragma once

#include "Internal.hpp"

#include "dcmtk/dcmtls/tlslayer.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace spdcm {

class HandOverLayer;

/// A server certificate and key, optional client verification and an allow list of client certificates.
class TLSServer {
public:
    /// Nil with `why` set when a file cannot be read or the key does not match the certificate.
    static std::unique_ptr<TLSServer> create(const spdcm_scp_tls &config, std::string &why);
    ~TLSServer();

    /// The layer to give ASC_setTransportLayer: it hands DCMTK the connection `secure` finished on this thread.
    DcmTransportLayer *transportLayer();

    /// Runs the handshake on `fd`, checks the client certificate and waits for the whole A-ASSOCIATE-RQ, all by
    /// `deadline`. On success the connection waits, on this thread, for the next ASC_receiveAssociation.
    bool secure(int fd, std::chrono::steady_clock::time_point deadline, std::string &why);

    /// Frees a connection `secure` handed over that DCMTK never took.
    static void discardHandedOver();

private:
    TLSServer() = default;
    std::unique_ptr<DcmTLSTransportLayer> layer;
    std::unique_ptr<HandOverLayer> handOver;
    std::vector<std::string> allowedFingerprints;
};

}  // namespace spdcm
