// DICOM TLS (PS3.15 B.1) for the Storage SCP, through DCMTK's dcmtls. The handshake runs on the association's own
// worker thread under its ACSE deadline, before DCMTK sees the socket: DCMTK would run it inside
// ASC_receiveAssociation, which we call under a process-wide lock, so one slow TLS peer would hold every other.
#include "TLSServer.hpp"

#include "dcmtk/dcmtls/tlstrans.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <poll.h>

namespace spdcm {

namespace {

/// The connection whose handshake this thread finished, waiting for DCMTK to ask for it.
thread_local DcmTransportConnection *handedOver = nullptr;

std::string openSSLError(const char *what) {
    unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) return what;
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    return std::string(what) + ": " + buf;
}

int millisecondsLeft(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<long long>(0, left.count()));
}

/// Waits for the socket to become readable or writable as OpenSSL asked; false at the deadline.
bool waitFor(int fd, int sslError, std::chrono::steady_clock::time_point deadline) {
    short events = sslError == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
    for (;;) {
        int left = millisecondsLeft(deadline);
        if (left == 0) return false;
        pollfd p{fd, events, 0};
        int n = ::poll(&p, 1, left);
        if (n > 0) return true;
        if (n == 0) return false;
        if (errno != EINTR) return false;
    }
}

}  // namespace

/// Gives DCMTK the connection this thread already secured, instead of making a new one on the socket.
class HandOverLayer : public DcmTransportLayer {
public:
    DcmTransportConnection *createConnection(DcmNativeSocketType openSocket, OFBool useSecureLayer) override {
        DcmTransportConnection *connection = handedOver;
        handedOver = nullptr;
        if (connection) return connection;
        // Nothing was handed over: refuse rather than talk in the clear on a TLS port.
        (void)openSocket;
        (void)useSecureLayer;
        return nullptr;
    }
};

TLSServer::~TLSServer() = default;

std::unique_ptr<TLSServer> TLSServer::create(const spdcm_scp_tls &config, std::string &why) {
    auto server = std::unique_ptr<TLSServer>(new TLSServer());
    server->layer = std::make_unique<DcmTLSTransportLayer>(NET_ACCEPTOR, nullptr, OFTrue);
    DcmTLSTransportLayer &tls = *server->layer;
    // BCP 195: TLS 1.2 or later with forward-secret AEAD suites, as PS3.15's current secure transport profile asks.
    if (tls.setTLSProfile(TSP_Profile_BCP195).bad() || tls.activateCipherSuites().bad()) {
        why = "TLS: cannot activate the BCP 195 cipher suites";
        return nullptr;
    }
    if (config.trusted_ca_file && *config.trusted_ca_file) {
        if (tls.addTrustedCertificateFile(config.trusted_ca_file, DCF_Filetype_PEM).bad()) {
            why = std::string("TLS: cannot read the client CA file ") + config.trusted_ca_file;
            return nullptr;
        }
        tls.setCertificateVerification(DCV_requireCertificate);
    } else {
        tls.setCertificateVerification(DCV_ignoreCertificate);
    }
    if (tls.setPrivateKeyFile(config.private_key_file, DCF_Filetype_PEM).bad()) {
        why = std::string("TLS: cannot read the private key ") + config.private_key_file + " (PEM, unencrypted)";
        return nullptr;
    }
    if (tls.setCertificateFile(config.certificate_file, DCF_Filetype_PEM).bad()) {
        why = std::string("TLS: cannot read the certificate ") + config.certificate_file + " (PEM)";
        return nullptr;
    }
    if (!tls.checkPrivateKeyMatchesCertificate()) {
        why = std::string("TLS: the private key ") + config.private_key_file + " does not match the certificate " +
              config.certificate_file;
        return nullptr;
    }
    for (size_t i = 0; i < config.allowed_client_sha256_count; i++)
        if (config.allowed_client_sha256[i]) server->allowedFingerprints.emplace_back(config.allowed_client_sha256[i]);
    server->handOver = std::make_unique<HandOverLayer>();
    return server;
}

DcmTransportLayer *TLSServer::transportLayer() { return handOver.get(); }

bool TLSServer::secure(int fd, std::chrono::steady_clock::time_point deadline, std::string &why) {
    SSL *ssl = SSL_new(layer->getNativeHandle());
    if (!ssl) { why = openSSLError("TLS: SSL_new"); return false; }
    int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    auto fail = [&](const std::string &message) {
        SSL_free(ssl);
        ::fcntl(fd, F_SETFL, flags);
        why = message;
        return false;
    };
    SSL_set_fd(ssl, fd);
    for (;;) {
        int r = SSL_accept(ssl);
        if (r == 1) break;
        int e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (!waitFor(fd, e, deadline)) return fail("TLS handshake not finished within the ACSE timeout");
            continue;
        }
        return fail(openSSLError("TLS handshake failed"));
    }
    if (!allowedFingerprints.empty()) {
        X509 *cert = SSL_get1_peer_certificate(ssl);
        if (!cert) return fail("TLS: the peer sent no client certificate, and only listed ones are allowed");
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int length = 0;
        X509_digest(cert, EVP_sha256(), md, &length);
        X509_free(cert);
        std::string hex;
        static const char digits[] = "0123456789abcdef";
        for (unsigned int i = 0; i < length; i++) {
            hex += digits[md[i] >> 4];
            hex += digits[md[i] & 15];
        }
        if (std::find(allowedFingerprints.begin(), allowedFingerprints.end(), hex) == allowedFingerprints.end())
            return fail("TLS: client certificate SHA-256 " + hex + " is not in the allow list");
    }
    // The whole A-ASSOCIATE-RQ must be in before DCMTK reads it under the shared lock, as on a plain socket.
    size_t want = 6;
    std::vector<unsigned char> buf(want);
    for (;;) {
        int n = SSL_peek(ssl, buf.data(), static_cast<int>(buf.size()));
        if (n > 0) {
            if (want == 6 && n >= 6) {
                uint32_t length = (uint32_t(buf[2]) << 24) | (uint32_t(buf[3]) << 16) |
                                  (uint32_t(buf[4]) << 8) | uint32_t(buf[5]);
                if (buf[0] != 0x01 || length > 65536) return fail("TLS: the first PDU is not an A-ASSOCIATE-RQ");
                want = 6 + length;
                buf.resize(want);
                continue;
            }
            if (static_cast<size_t>(n) >= want) break;
            // SSL_peek stops at a record boundary: if more is already on the socket, DCMTK will not wait for it.
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 0) > 0) break;
            if (!waitFor(fd, SSL_ERROR_WANT_READ, deadline)) return fail("no whole A-ASSOCIATE-RQ within the ACSE timeout");
            continue;
        }
        int e = SSL_get_error(ssl, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (!waitFor(fd, e, deadline)) return fail("no whole A-ASSOCIATE-RQ within the ACSE timeout");
            continue;
        }
        return fail(e == SSL_ERROR_ZERO_RETURN ? "connection closed before a whole A-ASSOCIATE-RQ"
                                               : openSSLError("TLS read failed"));
    }
    ::fcntl(fd, F_SETFL, flags);
    handedOver = new DcmTLSConnection(fd, ssl);
    return true;
}

void TLSServer::discardHandedOver() {
    delete handedOver;
    handedOver = nullptr;
}

}  // namespace spdcm
