#include "Internal.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "dcmtk/oflog/oflog.h"
#include "dcmtk/dcmdata/dcistrmb.h"
#include "dcmtk/dcmdata/dcostrmb.h"

#include <cstdlib>
#include <mutex>
#include <vector>

namespace spdcm {

void initialize() {
    static std::once_flag once;
    std::call_once(once, [] {
        OFLog::configure(OFLogger::FATAL_LOG_LEVEL);
        dcmDisableGethostbyaddr.set(OFTrue);
    });
}

void disableNagle(int fd) {
    int one = 1;
    if (fd >= 0) ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

E_TransferSyntax transferSyntax(const char *uid) {
    if (!uid) return EXS_Unknown;
    if (std::strcmp(uid, UID_LittleEndianExplicitTransferSyntax) == 0) return EXS_LittleEndianExplicit;
    if (std::strcmp(uid, UID_LittleEndianImplicitTransferSyntax) == 0) return EXS_LittleEndianImplicit;
    return EXS_Unknown;
}

}  // namespace spdcm

namespace {

/// Hands what an encoder wrote to the caller in malloc'd memory (freed with spdcm_free), or reports why it failed.
bool encodedCopy(OFCondition written, const char *what, DcmOutputBufferStream &out, uint8_t **bytes, size_t *length,
                 spdcm_error *error) {
    if (written.bad()) {
        spdcm::fail(error, SPDCM_E_INTERNAL, std::string("cannot encode ") + what + ": " + written.text());
        return false;
    }
    void *data = nullptr;
    offile_off_t n = 0;
    out.flushBuffer(data, n);
    auto *copy = static_cast<uint8_t *>(std::malloc(n > 0 ? n : 1));
    if (!copy) { spdcm::fail(error, SPDCM_E_INTERNAL, "out of memory"); return false; }
    std::memcpy(copy, data, n);
    *bytes = copy;
    *length = static_cast<size_t>(n);
    return true;
}

}  // namespace

extern "C" {

spdcm_dataset *spdcm_dataset_create(spdcm_error *error) {
    spdcm::clear(error);
    SPDCM_GUARD(error, nullptr, {
        spdcm::initialize();
        return new spdcm_dataset();
    })
}

spdcm_dataset *spdcm_dataset_read_file(const char *path, spdcm_error *error) {
    spdcm::clear(error);
    SPDCM_GUARD(error, nullptr, {
        spdcm::initialize();
        auto *ds = new spdcm_dataset();
        OFCondition c = ds->file.loadFile(path);
        if (c.bad()) {
            delete ds;
            spdcm::fail(error, SPDCM_E_PARSE, std::string("cannot read DICOM file '") + path + "': " + c.text());
            return nullptr;
        }
        return ds;
    })
}

spdcm_dataset *spdcm_dataset_parse(const uint8_t *bytes, size_t length, const char *tsUID, spdcm_error *error) {
    spdcm::clear(error);
    SPDCM_GUARD(error, nullptr, {
        spdcm::initialize();
        E_TransferSyntax xfer = spdcm::transferSyntax(tsUID);
        if (xfer == EXS_Unknown) {
            spdcm::fail(error, SPDCM_E_INVALID_ARGUMENT, std::string("unsupported transfer syntax ") + tsUID);
            return nullptr;
        }
        if (length == 0) {
            spdcm::fail(error, SPDCM_E_PARSE, "empty dataset");
            return nullptr;
        }
        auto *ds = new spdcm_dataset();
        DcmDataset *d = ds->file.getDataset();
        DcmInputBufferStream in;
        in.setBuffer(bytes, OFstatic_cast(offile_off_t, length));
        in.setEos();
        d->transferInit();
        OFCondition c = d->read(in, xfer, EGL_noChange, DCM_MaxReadLength);
        d->transferEnd();
        if (c.good() && !in.eos()) c = EC_StreamNotifyClient;
        if (c.bad() || c == EC_StreamNotifyClient) {
            std::string why = c == EC_StreamNotifyClient ? "dataset is truncated" : c.text();
            delete ds;
            spdcm::fail(error, SPDCM_E_PARSE, "cannot parse dataset: " + why);
            return nullptr;
        }
        return ds;
    })
}

void spdcm_dataset_free(spdcm_dataset *dataset) {
    try { delete dataset; } catch (...) {}
}

spdcm_item *spdcm_dataset_root(spdcm_dataset *dataset) {
    return spdcm::wrap(dataset->file.getDataset());
}

bool spdcm_dataset_save_file(spdcm_dataset *dataset, const char *path, spdcm_error *error) {
    spdcm::clear(error);
    SPDCM_GUARD(error, false, {
        OFCondition c = dataset->file.saveFile(path, EXS_LittleEndianExplicit, EET_ExplicitLength, EGL_recalcGL,
                                               EPD_noChange, 0, 0, EWM_createNewMeta);
        if (c.bad()) {
            spdcm::fail(error, SPDCM_E_IO, std::string("cannot write '") + path + "': " + c.text());
            return false;
        }
        return true;
    })
}

bool spdcm_dataset_encode(spdcm_dataset *dataset, const char *tsUID, uint8_t **bytes, size_t *length,
                          spdcm_error *error) {
    spdcm::clear(error);
    *bytes = nullptr;
    *length = 0;
    SPDCM_GUARD(error, false, {
        E_TransferSyntax xfer = spdcm::transferSyntax(tsUID);
        if (xfer == EXS_Unknown) {
            spdcm::fail(error, SPDCM_E_INVALID_ARGUMENT, std::string("unsupported transfer syntax ") + tsUID);
            return false;
        }
        DcmDataset *d = dataset->file.getDataset();
        Uint32 size = d->calcElementLength(xfer, EET_ExplicitLength);
        std::vector<uint8_t> buffer(size + 64);
        DcmOutputBufferStream out(buffer.data(), buffer.size());
        d->transferInit();
        OFCondition c = d->write(out, xfer, EET_ExplicitLength, nullptr);
        d->transferEnd();
        return encodedCopy(c, "dataset", out, bytes, length, error);
    })
}

char *spdcm_item_get_string(const spdcm_item *i, uint16_t group, uint16_t element) {
    try {
        OFString value;
        DcmItem *it = const_cast<DcmItem *>(spdcm::item(i));
        if (it->findAndGetOFStringArray(DcmTagKey(group, element), value).bad()) return nullptr;
        char *out = static_cast<char *>(std::malloc(value.length() + 1));
        if (!out) return nullptr;
        std::memcpy(out, value.c_str(), value.length() + 1);
        return out;
    } catch (...) {
        return nullptr;
    }
}

bool spdcm_item_has(const spdcm_item *i, uint16_t group, uint16_t element) {
    try {
        return const_cast<DcmItem *>(spdcm::item(i))->tagExists(DcmTagKey(group, element));
    } catch (...) {
        return false;
    }
}

bool spdcm_item_get_bytes(const spdcm_item *i, uint16_t group, uint16_t element, const uint8_t **bytes,
                          size_t *length) {
    *bytes = nullptr;
    *length = 0;
    try {
        DcmElement *e = nullptr;
        DcmItem *it = const_cast<DcmItem *>(spdcm::item(i));
        if (it->findAndGetElement(DcmTagKey(group, element), e).bad() || !e) return false;
        Uint16 *words = nullptr;
        if (e->getVR() != EVR_OB && e->getUint16Array(words).good() && words) {
            *bytes = reinterpret_cast<const uint8_t *>(words);
            *length = e->getLength();
            return true;
        }
        Uint8 *raw = nullptr;
        if (e->getUint8Array(raw).good() && raw) {
            *bytes = raw;
            *length = e->getLength();
            return true;
        }
        return false;
    } catch (...) {
        return false;
    }
}

size_t spdcm_item_sequence_count(const spdcm_item *i, uint16_t group, uint16_t element) {
    try {
        DcmSequenceOfItems *seq = nullptr;
        DcmItem *it = const_cast<DcmItem *>(spdcm::item(i));
        if (it->findAndGetSequence(DcmTagKey(group, element), seq).bad() || !seq) return 0;
        return seq->card();
    } catch (...) {
        return 0;
    }
}

spdcm_item *spdcm_item_sequence_item(const spdcm_item *i, uint16_t group, uint16_t element, size_t index) {
    try {
        DcmSequenceOfItems *seq = nullptr;
        DcmItem *it = const_cast<DcmItem *>(spdcm::item(i));
        if (it->findAndGetSequence(DcmTagKey(group, element), seq).bad() || !seq) return nullptr;
        if (index >= seq->card()) return nullptr;
        return spdcm::wrap(seq->getItem(static_cast<unsigned long>(index)));
    } catch (...) {
        return nullptr;
    }
}

static bool putResult(OFCondition c, uint16_t group, uint16_t element, spdcm_error *error) {
    if (c.good()) return true;
    char tag[32];
    std::snprintf(tag, sizeof tag, "(%04X,%04X)", group, element);
    spdcm::fail(error, SPDCM_E_INVALID_ARGUMENT, std::string("cannot put ") + tag + ": " + c.text());
    return false;
}

bool spdcm_item_put_string(spdcm_item *i, uint16_t group, uint16_t element, const char *value, spdcm_error *error) {
    spdcm::clear(error);
    SPDCM_GUARD(error, false, {
        // An element already present keeps its own VR: a file may carry attributes DCMTK's dictionary does not know.
        DcmElement *existing = nullptr;
        if (spdcm::item(i)->findAndGetElement(DcmTagKey(group, element), existing).good() && existing)
            return putResult(existing->putString(value), group, element, error);
        return putResult(spdcm::item(i)->putAndInsertString(DcmTagKey(group, element), value), group, element, error);
    })
}

bool spdcm_item_put_uint16(spdcm_item *i, uint16_t group, uint16_t element, uint16_t value, spdcm_error *error) {
    spdcm::clear(error);
    SPDCM_GUARD(error, false, {
        return putResult(spdcm::item(i)->putAndInsertUint16(DcmTagKey(group, element), value), group, element, error);
    })
}

bool spdcm_item_put_words(spdcm_item *i, uint16_t group, uint16_t element, const uint16_t *values, size_t count,
                          spdcm_error *error) {
    spdcm::clear(error);
    SPDCM_GUARD(error, false, {
        return putResult(spdcm::item(i)->putAndInsertUint16Array(DcmTagKey(group, element), values,
                                                                 static_cast<unsigned long>(count)),
                         group, element, error);
    })
}

bool spdcm_item_put_bytes(spdcm_item *i, uint16_t group, uint16_t element, const uint8_t *values, size_t count,
                          spdcm_error *error) {
    spdcm::clear(error);
    SPDCM_GUARD(error, false, {
        return putResult(spdcm::item(i)->putAndInsertUint8Array(DcmTagKey(group, element), values,
                                                                static_cast<unsigned long>(count)),
                         group, element, error);
    })
}

bool spdcm_item_put_float64s(spdcm_item *i, uint16_t group, uint16_t element, const double *values, size_t count,
                             spdcm_error *error) {
    spdcm::clear(error);
    SPDCM_GUARD(error, false, {
        return putResult(spdcm::item(i)->putAndInsertFloat64Array(DcmTagKey(group, element), values,
                                                                  static_cast<unsigned long>(count)),
                         group, element, error);
    })
}

spdcm_item *spdcm_item_append_sequence_item(spdcm_item *i, uint16_t group, uint16_t element, spdcm_error *error) {
    spdcm::clear(error);
    SPDCM_GUARD(error, nullptr, {
        DcmItem *child = nullptr;
        OFCondition c = spdcm::item(i)->findOrCreateSequenceItem(DcmTagKey(group, element), child, -2);
        if (c.bad() || !child) {
            putResult(c.bad() ? c : EC_IllegalCall, group, element, error);
            return nullptr;
        }
        return spdcm::wrap(child);
    })
}

bool spdcm_item_put_empty_sequence(spdcm_item *i, uint16_t group, uint16_t element, spdcm_error *error) {
    spdcm::clear(error);
    SPDCM_GUARD(error, false, {
        return putResult(spdcm::item(i)->insertEmptyElement(DcmTagKey(group, element)), group, element, error);
    })
}

size_t spdcm_item_element_count(const spdcm_item *i) {
    try { return const_cast<DcmItem *>(spdcm::item(i))->card(); } catch (...) { return 0; }
}

bool spdcm_item_element_at(const spdcm_item *i, size_t index, uint16_t *group, uint16_t *element, char vr[3]) {
    *group = 0;
    *element = 0;
    vr[0] = vr[1] = vr[2] = 0;
    try {
        DcmItem *it = const_cast<DcmItem *>(spdcm::item(i));
        if (index >= it->card()) return false;
        DcmElement *e = it->getElement(static_cast<unsigned long>(index));
        if (!e) return false;
        *group = e->getGTag();
        *element = e->getETag();
        const char *name = DcmVR(e->getVR()).getValidVRName();
        std::snprintf(vr, 3, "%s", name ? name : "UN");
        return true;
    } catch (...) {
        return false;
    }
}

bool spdcm_item_remove(spdcm_item *i, uint16_t group, uint16_t element) {
    try {
        DcmElement *removed = spdcm::item(i)->remove(DcmTagKey(group, element));
        delete removed;
        return removed != nullptr;
    } catch (...) {
        return false;
    }
}

bool spdcm_item_clear(spdcm_item *i, uint16_t group, uint16_t element, spdcm_error *error) {
    spdcm::clear(error);
    SPDCM_GUARD(error, false, {
        DcmElement *e = nullptr;
        OFCondition c = spdcm::item(i)->findAndGetElement(DcmTagKey(group, element), e);
        if (c.good() && e) c = e->clear();
        return putResult(c.good() && !e ? EC_TagNotFound : c, group, element, error);
    })
}

namespace {

void copyField(char *out, size_t size, DcmItem &meta, const DcmTagKey &key) {
    OFString value;
    out[0] = 0;
    if (meta.findAndGetOFString(key, value).good()) std::snprintf(out, size, "%s", value.c_str());
}

}  // namespace

bool spdcm_part10_header(const spdcm_part10_meta *m, uint8_t **bytes, size_t *length, spdcm_error *error) {
    spdcm::clear(error);
    *bytes = nullptr;
    *length = 0;
    SPDCM_GUARD(error, false, {
        spdcm::initialize();
        DcmMetaInfo meta;
        const Uint8 version[2] = {0x00, 0x01};
        OFCondition c = meta.putAndInsertUint8Array(DCM_FileMetaInformationVersion, version, 2);
        if (c.good()) c = meta.putAndInsertString(DCM_MediaStorageSOPClassUID, m->sop_class_uid);
        if (c.good()) c = meta.putAndInsertString(DCM_MediaStorageSOPInstanceUID, m->sop_instance_uid);
        if (c.good()) c = meta.putAndInsertString(DCM_TransferSyntaxUID, m->transfer_syntax_uid);
        if (c.good()) c = meta.putAndInsertString(DCM_ImplementationClassUID, "2.25.190355940226474063386420567154563640449");
        if (c.good()) c = meta.putAndInsertString(DCM_ImplementationVersionName, "SPINEPLAN_QA1");
        if (c.good() && m->source_ae_title[0]) c = meta.putAndInsertString(DCM_SourceApplicationEntityTitle, m->source_ae_title);
        if (c.good()) c = meta.insertEmptyElement(DCM_FileMetaInformationGroupLength);
        if (c.good()) c = meta.computeGroupLengthAndPadding(EGL_recalcGL, EPD_noChange, EXS_LittleEndianExplicit,
                                                           EET_ExplicitLength);
        if (c.bad()) {
            spdcm::fail(error, SPDCM_E_INVALID_ARGUMENT, std::string("cannot build the file meta group: ") + c.text());
            return false;
        }
        std::vector<uint8_t> buffer(meta.calcElementLength(EXS_LittleEndianExplicit, EET_ExplicitLength) + 256);
        DcmOutputBufferStream out(buffer.data(), buffer.size());
        meta.transferInit();
        c = meta.write(out, EXS_LittleEndianExplicit, EET_ExplicitLength, nullptr);
        meta.transferEnd();
        return encodedCopy(c, "the file meta group", out, bytes, length, error);
    })
}

bool spdcm_part10_read_meta(const uint8_t *bytes, size_t length, spdcm_part10_meta *m, size_t *offset,
                            spdcm_error *error) {
    spdcm::clear(error);
    std::memset(m, 0, sizeof *m);
    *offset = 0;
    SPDCM_GUARD(error, false, {
        spdcm::initialize();
        if (length < 132 || std::memcmp(bytes + 128, "DICM", 4) != 0) {
            spdcm::fail(error, SPDCM_E_PARSE, "not a DICOM Part 10 file (no DICM prefix)");
            return false;
        }
        DcmMetaInfo meta;
        DcmInputBufferStream in;
        in.setBuffer(bytes, OFstatic_cast(offile_off_t, length));
        in.setEos();
        meta.transferInit();
        OFCondition c = meta.read(in, EXS_Unknown, EGL_noChange, DCM_MaxReadLength);
        meta.transferEnd();
        if (c.bad()) {
            spdcm::fail(error, SPDCM_E_PARSE, std::string("cannot read the file meta group: ") + c.text());
            return false;
        }
        copyField(m->sop_class_uid, sizeof m->sop_class_uid, meta, DCM_MediaStorageSOPClassUID);
        copyField(m->sop_instance_uid, sizeof m->sop_instance_uid, meta, DCM_MediaStorageSOPInstanceUID);
        copyField(m->transfer_syntax_uid, sizeof m->transfer_syntax_uid, meta, DCM_TransferSyntaxUID);
        copyField(m->source_ae_title, sizeof m->source_ae_title, meta, DCM_SourceApplicationEntityTitle);
        if (!m->transfer_syntax_uid[0]) {
            spdcm::fail(error, SPDCM_E_PARSE, "the file meta group has no Transfer Syntax UID");
            return false;
        }
        *offset = static_cast<size_t>(in.tell());
        return true;
    })
}

void spdcm_free(void *pointer) { std::free(pointer); }

}  // extern "C"
