// The Storage SCP: our own listening socket, DCMTK's ASC/DIMSE layers per association, one joined worker
// thread per association. DcmSCPPool is avoided on purpose: in 3.6.7 it leaks about 8.5 MB per association.
#include "Internal.hpp"
#include "TLSServer.hpp"

#include "dcmtk/dcmdata/dcostrma.h"

#include <arpa/inet.h>
#include <atomic>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <list>
#include <system_error>
#include <map>
#include <memory>
#include <mutex>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

/// dcmExternalSocketHandle is process-global: only one thread at a time may hand DCMTK an accepted socket.
std::mutex externalSocketMutex;

/// Collects a received dataset's bytes in memory, and stops keeping them past the size limit.
class MemoryConsumer : public DcmConsumer {
public:
    explicit MemoryConsumer(uint64_t limit) : limit_(limit) {}
    OFBool good() const override { return OFTrue; }
    OFCondition status() const override { return EC_Normal; }
    OFBool isFlushed() const override { return OFTrue; }
    offile_off_t avail() const override { return 0x7fffffff; }
    offile_off_t write(const void *buf, offile_off_t len) override {
        received_ += static_cast<uint64_t>(len);
        if (received_ > limit_) {
            tooLarge_ = true;
            std::vector<uint8_t>().swap(bytes_);
        } else {
            auto *p = static_cast<const uint8_t *>(buf);
            bytes_.insert(bytes_.end(), p, p + len);
        }
        return len;
    }
    void flush() override {}
    std::vector<uint8_t> bytes_;
    bool tooLarge_ = false;

private:
    uint64_t limit_;
    uint64_t received_ = 0;
};

/// Base-from-member: the consumer must exist before DcmOutputStream's constructor sees it.
struct ConsumerHolder {
    explicit ConsumerHolder(uint64_t limit) : consumer(limit) {}
    MemoryConsumer consumer;
};

class MemoryOutputStream : private ConsumerHolder, public DcmOutputStream {
public:
    explicit MemoryOutputStream(uint64_t limit) : ConsumerHolder(limit), DcmOutputStream(&consumer) {}
    MemoryConsumer &sink() { return consumer; }
};

struct Worker {
    std::thread thread;
    std::atomic<bool> done{false};
};

}  // namespace

struct spdcm_scp {
    std::string aeTitle;
    std::string bindAddress;
    int32_t port = 0;
    int listenFd = -1;
    bool ownsListenFd = true;
    int wakePipe[2] = {-1, -1};
    int32_t acseTimeout = 5;
    int32_t dimseTimeout = 60;
    uint32_t maxPDU = 16384;
    int32_t maxAssociations = 8;
    uint64_t maxDatasetBytes = 256ull << 20;
    std::vector<std::string> allowedAETitles;
    std::vector<std::string> allowedPeers;
    spdcm_scp_callbacks callbacks{};
    T_ASC_Network *network = nullptr;
    bool acceptResults = false;
    std::atomic<bool> stopping{false};
    std::atomic<bool> busy{false};
    /// Connections with a whole A-ASSOCIATE-RQ in: each holds an association slot until it ends.
    std::atomic<int32_t> active{0};
    /// Connections that have not yet sent a whole request: bounded apart, so that idle or half-sent sockets never
    /// take the slots of consoles that speak (12 idle sockets once made 33 of 39 real C-ECHOs fail).
    std::atomic<int32_t> pending{0};
    std::mutex pendingMutex;
    std::map<std::string, int32_t> pendingByPeer;
    static constexpr int32_t maxPendingPerPeer = 8;
    int32_t maxPending() const { return std::max<int32_t>(32, 4 * maxAssociations); }
    std::atomic<uint64_t> nextAssociationID{1};
    std::list<std::unique_ptr<Worker>> workers;
    std::unique_ptr<spdcm::TLSServer> tls;

    void event(int kind, uint64_t id, const char *calling, const char *called, const char *peer,
               const std::string &detail) {
        spdcm_association_event e{kind, id, calling ? calling : "", called ? called : "", peer ? peer : "",
                                  detail.c_str()};
        try { callbacks.on_event(callbacks.context, &e); } catch (...) {}
    }

    void reap(bool all) {
        for (auto it = workers.begin(); it != workers.end();) {
            if (all || (*it)->done.load()) {
                if ((*it)->thread.joinable()) (*it)->thread.join();
                it = workers.erase(it);
            } else {
                ++it;
            }
        }
    }

    /// Takes a pre-association place for `peer`, or says why not (the caller closes the connection).
    bool admitPending(const std::string &peer, std::string &why) {
        std::lock_guard<std::mutex> lock(pendingMutex);
        if (pending.load() >= maxPending()) { why = "connection refused: too many connections waiting to negotiate"; return false; }
        int32_t &mine = pendingByPeer[peer];
        if (mine >= maxPendingPerPeer) {
            why = "connection refused: too many connections from this address waiting to negotiate";
            return false;
        }
        ++mine;
        pending.fetch_add(1);
        return true;
    }

    void releasePending(const std::string &peer) {
        std::lock_guard<std::mutex> lock(pendingMutex);
        pending.fetch_sub(1);
        auto it = pendingByPeer.find(peer);
        if (it != pendingByPeer.end() && --it->second <= 0) pendingByPeer.erase(it);
    }

    void serveConnection(int fd, std::string peer, uint64_t id);
    void runAssociation(T_ASC_Association *assoc, uint64_t id, const std::string &peer);
    bool handleStore(T_ASC_Association *assoc, T_ASC_PresentationContextID presID, T_DIMSE_C_StoreRQ &req,
                     uint64_t id, const std::string &peer);
};

static void closeFd(int &fd) {
    if (fd >= 0) { ::close(fd); fd = -1; }
}

/// Waits until the whole A-ASSOCIATE-RQ PDU sits in the socket's receive buffer, or the deadline passes.
/// DCMTK reads the request under a process-wide lock (dcmExternalSocketHandle); a peer that sent part of it and went
/// quiet once held that lock for 61 s and stalled every other console. With the whole PDU buffered, that read never
/// waits on the network. Anything that is not a plausible A-ASSOCIATE-RQ header is handed over at once: DCMTK refuses
/// garbage and absurd lengths immediately. Returns false when the peer closed, failed or ran out of time.
static bool awaitWholeRequest(int fd, std::chrono::steady_clock::time_point deadline, std::string &why) {
    constexpr uint32_t largestRequest = 1u << 20;  // a real A-ASSOCIATE-RQ is a few KB
    std::vector<unsigned char> buf(6);
    size_t want = 6;
    bool headerRead = false;
    for (;;) {
        ssize_t got = ::recv(fd, buf.data(), want, MSG_PEEK | MSG_DONTWAIT);
        if (got == 0) { why = "connection closed before a whole A-ASSOCIATE-RQ"; return false; }
        if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            why = std::string("connection failed before a whole A-ASSOCIATE-RQ: ") + strerror(errno);
            return false;
        }
        if (got >= 6 && !headerRead) {
            // Parsed once: a zero length made `want` 6 again and this loop spin forever (RawPDUTests found it).
            headerRead = true;
            uint32_t length = (uint32_t(buf[2]) << 24) | (uint32_t(buf[3]) << 16) | (uint32_t(buf[4]) << 8) | buf[5];
            if (buf[0] != 0x01 || length > largestRequest) return true;
            want = 6 + length;
            buf.resize(want);
            continue;
        }
        if (got >= static_cast<ssize_t>(want)) return true;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) { why = "no whole A-ASSOCIATE-RQ within the ACSE timeout"; return false; }
        // Wake only when the rest has arrived (Linux honours SO_RCVLOWAT in poll); the short sleep guards against a
        // kernel that does not, which would otherwise make poll return at once on the bytes already there.
        int lowat = static_cast<int>(want);
        ::setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof lowat);
        pollfd p{fd, POLLIN | POLLRDHUP, 0};
        int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
        int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof one);
        if (n < 0 && errno != EINTR) { why = std::string("poll: ") + strerror(errno); return false; }
        // A peer that sent part of a request and closed will send no more: without this it held its place (and
        // one of its address's eight) for the whole ACSE timeout (RawPDUTests found it).
        if (n > 0 && (p.revents & (POLLERR | POLLHUP | POLLRDHUP))) {
            ssize_t now = ::recv(fd, buf.data(), want, MSG_PEEK | MSG_DONTWAIT);
            if (now < static_cast<ssize_t>(want)) {
                why = "connection closed before a whole A-ASSOCIATE-RQ";
                return false;
            }
        }
        if (n > 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

void spdcm_scp::serveConnection(int fd, std::string peer, uint64_t id) {
    // The pre-association place taken at accept is given back once the request is in (or the connection is gone).
    struct PendingPlace {
        spdcm_scp *scp;
        const std::string &peer;
        bool held = true;
        void release() { if (held) { scp->releasePending(peer); held = false; } }
        ~PendingPlace() { release(); }
    } place{this, peer};
    // Wait for the A-ASSOCIATE-RQ on this thread, so a peer that connects and says nothing stalls only itself; the
    // ACSE timeout bounds the whole request, not just its first byte.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(acseTimeout);
    pollfd p{fd, POLLIN, 0};
    int n;
    do { n = ::poll(&p, 1, acseTimeout * 1000); } while (n < 0 && errno == EINTR);
    if (n <= 0) {
        ::close(fd);
        event(SPDCM_EVENT_IDLE_DROPPED, id, "", aeTitle.c_str(), peer.c_str(),
              "no A-ASSOCIATE-RQ within the ACSE timeout");
        return;
    }
    std::string incomplete;
    if (tls ? !tls->secure(fd, deadline, incomplete) : !awaitWholeRequest(fd, deadline, incomplete)) {
        ::close(fd);
        event(SPDCM_EVENT_IDLE_DROPPED, id, "", aeTitle.c_str(), peer.c_str(), incomplete);
        return;
    }
    // Only now does the connection count against the association limit.
    place.release();
    struct Slot {
        std::atomic<int32_t> &active;
        ~Slot() { active.fetch_sub(1); }
    } slot{active};
    bool overCapacity = active.fetch_add(1) >= maxAssociations;
    bool overloaded = busy.load();
    T_ASC_Association *assoc = nullptr;
    OFCondition cond;
    {
        std::lock_guard<std::mutex> lock(externalSocketMutex);
        dcmExternalSocketHandle.set(fd);
        cond = ASC_receiveAssociation(network, &assoc, maxPDU, nullptr, nullptr, tls ? OFTrue : OFFalse,
                                      DUL_NOBLOCK, acseTimeout);
        dcmExternalSocketHandle.set(DCMNET_INVALID_SOCKET);
    }
    if (cond.bad() || !assoc) {
        if (assoc) {
            ASC_dropAssociation(assoc);
            ASC_destroyAssociation(&assoc);
        } else if (tls) {
            spdcm::TLSServer::discardHandedOver();   // closes the socket with the TLS session
        } else {
            ::close(fd);
        }
        event(SPDCM_EVENT_FAILED, id, "", aeTitle.c_str(), peer.c_str(),
              std::string("association request unreadable: ") + cond.text());
        return;
    }
    const char *calling = assoc->params->DULparams.callingAPTitle;
    const char *called = assoc->params->DULparams.calledAPTitle;

    auto reject = [&](T_ASC_RejectParametersResult result, T_ASC_RejectParametersSource source,
                      T_ASC_RejectParametersReason reason, const std::string &why) {
        T_ASC_RejectParameters rej{result, source, reason};
        ASC_rejectAssociation(assoc, &rej);
        event(SPDCM_EVENT_REJECTED, id, calling, called, peer.c_str(), why);
        // PS3.8 9.1.4 (AR-3): after A-ASSOCIATE-RJ the requestor closes the connection. If we close (or even
        // half-close) first, a loaded peer can see the end of the stream before it has handled the rejection and
        // report an abort instead; so send nothing more and wait for its close, up to an ARTIM-like 5 s.
        char drain[512];
        for (int waited = 0; waited < 5000; waited += 100) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 100) > 0 && ::recv(fd, drain, sizeof drain, 0) <= 0) break;
        }
        ASC_dropAssociation(assoc);
        ASC_destroyAssociation(&assoc);
    };

    if (overCapacity) {
        reject(ASC_RESULT_REJECTEDTRANSIENT, ASC_SOURCE_SERVICEPROVIDER_PRESENTATION_RELATED,
               ASC_REASON_SP_PRES_LOCALLIMITEXCEEDED, "too many associations");
        return;
    }
    if (overloaded) {
        reject(ASC_RESULT_REJECTEDTRANSIENT, ASC_SOURCE_SERVICEPROVIDER_PRESENTATION_RELATED,
               ASC_REASON_SP_PRES_LOCALLIMITEXCEEDED, "overloaded: the pipeline's queues are full");
        return;
    }
    char appContext[DUL_LEN_NAME + 1] = {0};
    ASC_getApplicationContextName(assoc->params, appContext, sizeof appContext);
    if (std::strcmp(appContext, UID_StandardApplicationContext) != 0) {
        reject(ASC_RESULT_REJECTEDPERMANENT, ASC_SOURCE_SERVICEUSER, ASC_REASON_SU_APPCONTEXTNAMENOTSUPPORTED,
               std::string("unsupported application context ") + appContext);
        return;
    }
    if (aeTitle != called) {
        reject(ASC_RESULT_REJECTEDPERMANENT, ASC_SOURCE_SERVICEUSER, ASC_REASON_SU_CALLEDAETITLENOTRECOGNIZED,
               std::string("called AE title '") + called + "' is not ours");
        return;
    }
    if (!allowedAETitles.empty()) {
        bool ok = false;
        for (auto &a : allowedAETitles) ok = ok || a == calling;
        if (!ok) {
            reject(ASC_RESULT_REJECTEDPERMANENT, ASC_SOURCE_SERVICEUSER, ASC_REASON_SU_CALLINGAETITLENOTRECOGNIZED,
                   std::string("calling AE title '") + calling + "' is not on the allowlist");
            return;
        }
    }
    if (!allowedPeers.empty()) {
        bool ok = false;
        for (auto &a : allowedPeers) ok = ok || a == peer;
        if (!ok) {
            reject(ASC_RESULT_REJECTEDPERMANENT, ASC_SOURCE_SERVICEUSER, ASC_REASON_SU_NOREASON,
                   "peer address " + peer + " is not on the allowlist");
            return;
        }
    }
    const char *abstracts[] = {UID_VerificationSOPClass, UID_MRImageStorage, UID_EnhancedMRImageStorage,
                               UID_Comprehensive3DSRStorage, UID_SecondaryCaptureImageStorage};
    const char *syntaxes[] = {UID_LittleEndianExplicitTransferSyntax, UID_LittleEndianImplicitTransferSyntax};
    cond = ASC_acceptContextsWithPreferredTransferSyntaxes(assoc->params, abstracts, acceptResults ? 5 : 3, syntaxes, 2);
    if (cond.bad() || ASC_countAcceptedPresentationContexts(assoc->params) == 0) {
        reject(ASC_RESULT_REJECTEDPERMANENT, ASC_SOURCE_SERVICEUSER, ASC_REASON_SU_NOREASON,
               acceptResults
                   ? "no proposed presentation context is served (MR, Enhanced MR, 3D SR, Secondary Capture or Verification in little endian)"
                   : "no proposed presentation context is served (MR, Enhanced MR or Verification in little endian)");
        return;
    }
    cond = ASC_acknowledgeAssociation(assoc);
    if (cond.bad()) {
        event(SPDCM_EVENT_FAILED, id, calling, called, peer.c_str(),
              std::string("cannot acknowledge association: ") + cond.text());
        ASC_dropAssociation(assoc);
        ASC_destroyAssociation(&assoc);
        return;
    }
    event(SPDCM_EVENT_ACCEPTED, id, calling, called, peer.c_str(), "");
    runAssociation(assoc, id, peer);
}

void spdcm_scp::runAssociation(T_ASC_Association *assoc, uint64_t id, const std::string &peer) {
    const std::string calling = assoc->params->DULparams.callingAPTitle;
    const std::string called = assoc->params->DULparams.calledAPTitle;
    int idleSeconds = 0;
    while (true) {
        if (stopping.load()) {
            ASC_abortAssociation(assoc);
            event(SPDCM_EVENT_ABORTED, id, calling.c_str(), called.c_str(), peer.c_str(), "server shutting down");
            break;
        }
        T_DIMSE_Message msg;
        T_ASC_PresentationContextID presID = 0;
        // One-second polls keep shutdown prompt; the idle limit is counted across them.
        OFCondition cond = DIMSE_receiveCommand(assoc, DIMSE_NONBLOCKING, 1, &presID, &msg, nullptr);
        if (cond == DIMSE_NODATAAVAILABLE) {
            if (++idleSeconds >= dimseTimeout) {
                ASC_abortAssociation(assoc);
                event(SPDCM_EVENT_ABORTED, id, calling.c_str(), called.c_str(), peer.c_str(),
                      "peer silent past the DIMSE timeout");
                    break;
            }
            continue;
        }
        idleSeconds = 0;
        if (cond == DUL_PEERREQUESTEDRELEASE) {
            ASC_acknowledgeRelease(assoc);
            event(SPDCM_EVENT_RELEASED, id, calling.c_str(), called.c_str(), peer.c_str(), "");
            break;
        }
        if (cond == DUL_PEERABORTEDASSOCIATION) {
            event(SPDCM_EVENT_ABORTED, id, calling.c_str(), called.c_str(), peer.c_str(), "peer aborted");
            break;
        }
        if (cond.bad()) {
            ASC_abortAssociation(assoc);
            event(SPDCM_EVENT_ABORTED, id, calling.c_str(), called.c_str(), peer.c_str(),
                  std::string("DIMSE failure: ") + cond.text());
            break;
        }
        if (msg.CommandField == DIMSE_C_ECHO_RQ) {
            DIMSE_sendEchoResponse(assoc, presID, &msg.msg.CEchoRQ, STATUS_Success, nullptr);
            event(SPDCM_EVENT_ECHO, id, calling.c_str(), called.c_str(), peer.c_str(), "");
        } else if (msg.CommandField == DIMSE_C_STORE_RQ) {
            if (!handleStore(assoc, presID, msg.msg.CStoreRQ, id, peer)) break;
        } else {
            ASC_abortAssociation(assoc);
            event(SPDCM_EVENT_ABORTED, id, calling.c_str(), called.c_str(), peer.c_str(),
                  "unsupported DIMSE command");
            break;
        }
    }
    ASC_dropSCPAssociation(assoc);
    ASC_destroyAssociation(&assoc);
}

bool spdcm_scp::handleStore(T_ASC_Association *assoc, T_ASC_PresentationContextID presID, T_DIMSE_C_StoreRQ &req,
                            uint64_t id, const std::string &peer) {
    const char *calling = assoc->params->DULparams.callingAPTitle;
    MemoryOutputStream stream(maxDatasetBytes);
    T_ASC_PresentationContextID dataPresID = 0;
    OFCondition cond =
        DIMSE_receiveDataSetInFile(assoc, DIMSE_NONBLOCKING, dimseTimeout, &dataPresID, &stream, nullptr, nullptr);
    if (cond.bad()) {
        ASC_abortAssociation(assoc);
        event(SPDCM_EVENT_ABORTED, id, calling, aeTitle.c_str(), peer.c_str(),
              std::string("data set not received: ") + cond.text());
        return false;
    }
    T_ASC_PresentationContext pc;
    ASC_findAcceptedPresentationContext(assoc->params, presID, &pc);
    const MemoryConsumer &sink = stream.sink();

    spdcm_store_request request{};
    request.association_id = id;
    request.calling_ae_title = calling;
    request.peer_address = peer.c_str();
    request.sop_class_uid = req.AffectedSOPClassUID;
    request.sop_instance_uid = req.AffectedSOPInstanceUID;
    request.transfer_syntax_uid = pc.acceptedTransferSyntax;
    request.bytes = sink.bytes_.data();
    request.length = sink.bytes_.size();
    request.too_large = sink.tooLarge_;
    std::string parseError;
    spdcm_error err;
    if (sink.tooLarge_) {
        parseError = "data set exceeds the configured maximum size";
    } else if (std::strcmp(req.AffectedSOPClassUID, pc.abstractSyntax) != 0) {
        parseError = "affected SOP class does not match the presentation context";
    } else {
        request.dataset = spdcm_dataset_parse(sink.bytes_.data(), sink.bytes_.size(), pc.acceptedTransferSyntax, &err);
        if (!request.dataset) parseError = err.message;
    }
    request.parse_error = parseError.c_str();

    spdcm_store_response response{};
    response.status = STATUS_STORE_Error_CannotUnderstand;
    try {
        callbacks.on_store(callbacks.context, &request, &response);
    } catch (...) {
        response.status = STATUS_STORE_Refused_OutOfResources;
    }

    T_DIMSE_C_StoreRSP rsp;
    std::memset(&rsp, 0, sizeof rsp);
    rsp.MessageIDBeingRespondedTo = req.MessageID;
    rsp.DimseStatus = response.status;
    rsp.DataSetType = DIMSE_DATASET_NULL;
    OFStandard::strlcpy(rsp.AffectedSOPClassUID, req.AffectedSOPClassUID, sizeof rsp.AffectedSOPClassUID);
    OFStandard::strlcpy(rsp.AffectedSOPInstanceUID, req.AffectedSOPInstanceUID, sizeof rsp.AffectedSOPInstanceUID);
    rsp.opts = O_STORE_AFFECTEDSOPCLASSUID | O_STORE_AFFECTEDSOPINSTANCEUID;
    DcmDataset *detail = nullptr;
    if (response.status != STATUS_Success && response.error_comment[0]) {
        detail = new DcmDataset();
        response.error_comment[sizeof response.error_comment - 1] = 0;
        detail->putAndInsertString(DCM_ErrorComment, response.error_comment);
    }
    cond = DIMSE_sendStoreResponse(assoc, presID, &req, &rsp, detail);
    delete detail;
    if (cond.bad()) {
        ASC_abortAssociation(assoc);
        event(SPDCM_EVENT_ABORTED, id, calling, aeTitle.c_str(), peer.c_str(),
              std::string("cannot send C-STORE response: ") + cond.text());
        return false;
    }
    return true;
}

extern "C" {

spdcm_scp *spdcm_scp_create(const spdcm_scp_config *config, spdcm_scp_callbacks callbacks, spdcm_error *error) {
    spdcm::clear(error);
    SPDCM_GUARD(error, nullptr, {
        spdcm::initialize();
        if (!callbacks.on_store || !callbacks.on_event) {
            spdcm::fail(error, SPDCM_E_INVALID_ARGUMENT, "both callbacks are required");
            return nullptr;
        }
        std::unique_ptr<spdcm_scp> scp(new spdcm_scp());
        scp->aeTitle = config->ae_title;
        scp->bindAddress = config->bind_address;
        scp->acseTimeout = config->acse_timeout_seconds > 0 ? config->acse_timeout_seconds : 5;
        scp->dimseTimeout = config->dimse_timeout_seconds > 0 ? config->dimse_timeout_seconds : 60;
        scp->maxPDU = config->max_pdu >= ASC_MINIMUMPDUSIZE ? config->max_pdu : ASC_DEFAULTMAXPDU;
        scp->maxAssociations = config->max_associations > 0 ? config->max_associations : 8;
        scp->maxDatasetBytes = config->max_dataset_bytes > 0 ? config->max_dataset_bytes : (256ull << 20);
        for (size_t i = 0; i < config->allowed_calling_ae_title_count; i++)
            if (config->allowed_calling_ae_titles[i]) scp->allowedAETitles.emplace_back(config->allowed_calling_ae_titles[i]);
        for (size_t i = 0; i < config->allowed_peer_address_count; i++)
            if (config->allowed_peer_addresses[i]) scp->allowedPeers.emplace_back(config->allowed_peer_addresses[i]);
        scp->callbacks = callbacks;
        scp->acceptResults = config->accept_results;
        if (config->tls) {
            std::string why;
            scp->tls = spdcm::TLSServer::create(*config->tls, why);
            if (!scp->tls) { spdcm::fail(error, SPDCM_E_INVALID_ARGUMENT, why); return nullptr; }
        }

        if (config->listen_fd >= 0) {
            scp->listenFd = config->listen_fd;
            scp->ownsListenFd = false;
        } else {
            int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd < 0) { spdcm::fail(error, SPDCM_E_NETWORK, std::string("socket: ") + strerror(errno)); return nullptr; }
            int one = 1;
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            sockaddr_in addr{};
            addr.sin_family = AF_INET;
            addr.sin_port = htons(static_cast<uint16_t>(config->port));
            if (inet_pton(AF_INET, config->bind_address, &addr.sin_addr) != 1) {
                ::close(fd);
                spdcm::fail(error, SPDCM_E_INVALID_ARGUMENT, std::string("bad bind address '") + config->bind_address + "'");
                return nullptr;
            }
            if (::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0 || ::listen(fd, 64) != 0) {
                std::string why = strerror(errno);
                ::close(fd);
                spdcm::fail(error, SPDCM_E_NETWORK,
                            "cannot listen on " + std::string(config->bind_address) + ":" + std::to_string(config->port) + ": " + why);
                return nullptr;
            }
            scp->listenFd = fd;
        }
        sockaddr_in bound{};
        socklen_t len = sizeof bound;
        if (getsockname(scp->listenFd, reinterpret_cast<sockaddr *>(&bound), &len) == 0)
            scp->port = ntohs(bound.sin_port);
        if (::pipe2(scp->wakePipe, O_CLOEXEC | O_NONBLOCK) != 0) {
            spdcm::fail(error, SPDCM_E_INTERNAL, std::string("pipe: ") + strerror(errno));
            if (scp->ownsListenFd) closeFd(scp->listenFd);
            return nullptr;
        }
        // An acceptor network that never listens itself: connections arrive through dcmExternalSocketHandle.
        OFCondition cond;
        {
            // With an external socket set, DCMTK skips creating its own listener (which would bind 0.0.0.0).
            std::lock_guard<std::mutex> lock(externalSocketMutex);
            dcmExternalSocketHandle.set(scp->listenFd);
            cond = ASC_initializeNetwork(NET_ACCEPTOR, 0, scp->acseTimeout, &scp->network);
            dcmExternalSocketHandle.set(DCMNET_INVALID_SOCKET);
        }
        if (cond.good() && scp->tls) cond = ASC_setTransportLayer(scp->network, scp->tls->transportLayer(), 0);
        if (cond.bad()) {
            spdcm::fail(error, SPDCM_E_NETWORK, std::string("cannot initialise DICOM network: ") + cond.text());
            if (scp->ownsListenFd) closeFd(scp->listenFd);
            closeFd(scp->wakePipe[0]);
            closeFd(scp->wakePipe[1]);
            return nullptr;
        }
        return scp.release();
    })
}

int32_t spdcm_scp_port(const spdcm_scp *scp) { return scp->port; }

int32_t spdcm_scp_active_associations(const spdcm_scp *scp) { return scp->active.load(); }

void spdcm_scp_set_busy(spdcm_scp *scp, bool busy) { scp->busy.store(busy); }

bool spdcm_scp_run(spdcm_scp *scp, spdcm_error *error) {
    spdcm::clear(error);
    SPDCM_GUARD(error, false, {
        while (!scp->stopping.load()) {
            pollfd fds[2] = {{scp->listenFd, POLLIN, 0}, {scp->wakePipe[0], POLLIN, 0}};
            int n = ::poll(fds, 2, 1000);
            scp->reap(false);
            if (n < 0) {
                if (errno == EINTR) continue;
                spdcm::fail(error, SPDCM_E_NETWORK, std::string("poll: ") + strerror(errno));
                break;
            }
            if (n == 0 || !(fds[0].revents & POLLIN)) continue;
            sockaddr_storage from{};
            socklen_t len = sizeof from;
            int fd = ::accept4(scp->listenFd, reinterpret_cast<sockaddr *>(&from), &len, SOCK_CLOEXEC);
            if (fd < 0) continue;
            spdcm::disableNagle(fd);
            char host[INET6_ADDRSTRLEN] = "";
            if (from.ss_family == AF_INET)
                inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in *>(&from)->sin_addr, host, sizeof host);
            else if (from.ss_family == AF_INET6) {
                const in6_addr &a6 = reinterpret_cast<sockaddr_in6 *>(&from)->sin6_addr;
                // A dual-stack socket (systemd's ListenStream=104) reports IPv4 peers as ::ffff:a.b.c.d; name them
                // as IPv4 so allowlists and logs read the same under socket activation.
                if (IN6_IS_ADDR_V4MAPPED(&a6))
                    inet_ntop(AF_INET, &a6.s6_addr[12], host, sizeof host);
                else
                    inet_ntop(AF_INET6, &a6, host, sizeof host);
            }
            uint64_t id = scp->nextAssociationID.fetch_add(1);
            // Past the limit a short-lived worker still answers with a transient A-ASSOCIATE-RJ; far past it, close.
            if (scp->active.load() >= scp->maxAssociations + 4) {
                ::close(fd);
                scp->event(SPDCM_EVENT_REJECTED, id, "", scp->aeTitle.c_str(), host, "connection refused: overloaded");
                continue;
            }
            std::string peer = host;
            std::string why;
            if (!scp->admitPending(peer, why)) {
                ::close(fd);
                scp->event(SPDCM_EVENT_REJECTED, id, "", scp->aeTitle.c_str(), host, why);
                continue;
            }
            auto worker = std::make_unique<Worker>();
            Worker *w = worker.get();
            try {
                w->thread = std::thread([scp, fd, peer, id, w] {
                    try { scp->serveConnection(fd, peer, id); } catch (...) {}
                    w->done.store(true);
                });
            } catch (const std::system_error &e) {
                scp->releasePending(peer);
                ::close(fd);
                scp->event(SPDCM_EVENT_REJECTED, id, "", scp->aeTitle.c_str(), host,
                           std::string("connection refused: no thread for it: ") + e.what());
                continue;
            }
            scp->workers.push_back(std::move(worker));
        }
        scp->stopping.store(true);
        scp->reap(true);
        return error->code == SPDCM_OK;
    })
}

void spdcm_scp_stop(spdcm_scp *scp) {
    scp->stopping.store(true);
    char b = 1;
    ssize_t ignored = ::write(scp->wakePipe[1], &b, 1);
    (void)ignored;
}

void spdcm_scp_free(spdcm_scp *scp) {
    if (!scp) return;
    try {
        scp->stopping.store(true);
        scp->reap(true);
        if (scp->network) ASC_dropNetwork(&scp->network);
        if (scp->ownsListenFd) closeFd(scp->listenFd);
        closeFd(scp->wakePipe[0]);
        closeFd(scp->wakePipe[1]);
        delete scp;
    } catch (...) {}
}

}  // extern "C"
