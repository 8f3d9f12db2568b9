// The Storage SCU: one association per call, a presentation context per SOP class, both little endian syntaxes.
#include "Internal.hpp"

#include "dcmtk/dcmnet/dcmtrans.h"
#include "dcmtk/dcmnet/dul.h"

#include <set>
#include <string>
#include <vector>

namespace {

/// DcmTransportConnection::getSocket() is protected; a member pointer taken through a subclass reads it without a
/// cast, so the SCU can turn Nagle off on the socket DCMTK connected.
struct SocketAccess : DcmTransportConnection {
    static constexpr DcmNativeSocketType (DcmTransportConnection::*get)() = &SocketAccess::getSocket;
};

/// Owns an SCU network and association, releasing or aborting on every exit path.
struct Session {
    T_ASC_Network *net = nullptr;
    T_ASC_Association *assoc = nullptr;
    bool established = false;
    ~Session() {
        if (assoc) {
            if (established) ASC_releaseAssociation(assoc);
            ASC_destroyAssociation(&assoc);
        }
        if (net) ASC_dropNetwork(&net);
    }
    void abort() {
        if (assoc && established) { ASC_abortAssociation(assoc); established = false; }
    }
};

std::string peerName(const spdcm_scu_config *c) {
    return std::string(c->called_ae_title) + "@" + c->host + ":" + std::to_string(c->port);
}

bool open(Session &s, const spdcm_scu_config *c, const std::vector<std::string> &sopClasses, spdcm_error *error) {
    int timeout = c->timeout_seconds > 0 ? c->timeout_seconds : 10;
    OFCondition cond = ASC_initializeNetwork(NET_REQUESTOR, 0, timeout, &s.net);
    if (cond.bad()) { spdcm::fail(error, SPDCM_E_NETWORK, std::string("cannot initialise network: ") + cond.text()); return false; }
    T_ASC_Parameters *params = nullptr;
    uint32_t pdu = c->max_pdu >= ASC_MINIMUMPDUSIZE ? c->max_pdu : ASC_DEFAULTMAXPDU;
    cond = ASC_createAssociationParameters(&params, pdu);
    if (cond.bad()) { spdcm::fail(error, SPDCM_E_INTERNAL, cond.text()); return false; }
    ASC_setAPTitles(params, c->calling_ae_title, c->called_ae_title, nullptr);
    std::string address = std::string(c->host) + ":" + std::to_string(c->port);
    ASC_setPresentationAddresses(params, "localhost", address.c_str());
    const char *syntaxes[] = {UID_LittleEndianExplicitTransferSyntax, UID_LittleEndianImplicitTransferSyntax};
    T_ASC_PresentationContextID pid = 1;
    for (auto &uid : sopClasses) {
        ASC_addPresentationContext(params, pid, uid.c_str(), syntaxes, 2);
        pid += 2;
    }
    dcmConnectionTimeout.set(timeout);
    cond = ASC_requestAssociation(s.net, params, &s.assoc);
    if (cond.bad()) {
        if (cond == DUL_ASSOCIATIONREJECTED) {
            T_ASC_RejectParameters rej;
            ASC_getRejectParameters(params, &rej);
            OFString why;
            ASC_printRejectParameters(why, &rej);
            spdcm::fail(error, SPDCM_E_REJECTED, peerName(c) + " rejected the association: " + why.c_str());
        } else {
            std::string text = cond.text();
            int code = text.find("imeout") != std::string::npos ? SPDCM_E_TIMEOUT : SPDCM_E_NETWORK;
            spdcm::fail(error, code, peerName(c) + " unreachable: " + text);
        }
        if (!s.assoc) ASC_destroyAssociationParameters(&params);
        return false;
    }
    s.established = true;
    if (DcmTransportConnection *t = DUL_getTransportConnection(s.assoc->DULassociation))
        spdcm::disableNagle(static_cast<int>((t->*SocketAccess::get)()));
    return true;
}

}  // namespace

extern "C" {

bool spdcm_scu_store(const spdcm_scu_config *config, spdcm_dataset *const *datasets, size_t count, uint16_t *statuses,
                     spdcm_error *error) {
    spdcm::clear(error);
    for (size_t i = 0; i < count; i++) statuses[i] = 0xFFFF;
    SPDCM_GUARD(error, false, {
        spdcm::initialize();
        std::vector<std::string> sopClasses;
        std::vector<std::pair<std::string, std::string>> ids(count);
        for (size_t i = 0; i < count; i++) {
            DcmDataset *d = datasets[i]->file.getDataset();
            OFString cls, inst;
            if (d->findAndGetOFString(DCM_SOPClassUID, cls).bad() || d->findAndGetOFString(DCM_SOPInstanceUID, inst).bad()) {
                spdcm::fail(error, SPDCM_E_INVALID_ARGUMENT, "dataset " + std::to_string(i) + " has no SOP Class/Instance UID");
                return false;
            }
            ids[i] = {cls.c_str(), inst.c_str()};
            bool seen = false;
            for (auto &s : sopClasses) seen = seen || s == ids[i].first;
            if (!seen) sopClasses.push_back(ids[i].first);
        }
        Session s;
        if (!open(s, config, sopClasses, error)) return false;
        int timeout = config->timeout_seconds > 0 ? config->timeout_seconds : 10;
        for (size_t i = 0; i < count; i++) {
            T_ASC_PresentationContextID pid = ASC_findAcceptedPresentationContextID(s.assoc, ids[i].first.c_str());
            if (pid == 0) {
                spdcm::fail(error, SPDCM_E_NO_CONTEXT, peerName(config) + " accepted no presentation context for SOP class " + ids[i].first);
                return false;
            }
            T_DIMSE_C_StoreRQ req;
            std::memset(&req, 0, sizeof req);
            req.MessageID = s.assoc->nextMsgID++;
            OFStandard::strlcpy(req.AffectedSOPClassUID, ids[i].first.c_str(), sizeof req.AffectedSOPClassUID);
            OFStandard::strlcpy(req.AffectedSOPInstanceUID, ids[i].second.c_str(), sizeof req.AffectedSOPInstanceUID);
            req.DataSetType = DIMSE_DATASET_PRESENT;
            req.Priority = DIMSE_PRIORITY_MEDIUM;
            T_DIMSE_C_StoreRSP rsp;
            DcmDataset *detail = nullptr;
            OFCondition cond = DIMSE_storeUser(s.assoc, pid, &req, nullptr, datasets[i]->file.getDataset(), nullptr,
                                               nullptr, DIMSE_NONBLOCKING, timeout, &rsp, &detail);
            delete detail;
            if (cond.bad()) {
                std::string text = cond.text();
                int code = (cond == DIMSE_NODATAAVAILABLE || text.find("imeout") != std::string::npos) ? SPDCM_E_TIMEOUT : SPDCM_E_NETWORK;
                spdcm::fail(error, code, "C-STORE to " + peerName(config) + " failed: " + text);
                s.abort();
                return false;
            }
            statuses[i] = rsp.DimseStatus;
        }
        return true;
    })
}

bool spdcm_scu_echo(const spdcm_scu_config *config, uint16_t *status, spdcm_error *error) {
    spdcm::clear(error);
    *status = 0xFFFF;
    SPDCM_GUARD(error, false, {
        spdcm::initialize();
        Session s;
        if (!open(s, config, {UID_VerificationSOPClass}, error)) return false;
        DIC_US msgId = s.assoc->nextMsgID++;
        DIC_US st = 0;
        DcmDataset *detail = nullptr;
        int timeout = config->timeout_seconds > 0 ? config->timeout_seconds : 10;
        OFCondition cond = DIMSE_echoUser(s.assoc, msgId, DIMSE_NONBLOCKING, timeout, &st, &detail);
        delete detail;
        if (cond.bad()) {
            spdcm::fail(error, SPDCM_E_NETWORK, "C-ECHO to " + peerName(config) + " failed: " + cond.text());
            s.abort();
            return false;
        }
        *status = st;
        return true;
    })
}

}  // extern "C"
