/*
 * spdcm: SpinePlan's pure C interface over DCMTK 3.6.7.
 *
 * Every handle is opaque, every symbol carries the spdcm_ prefix, every error comes back through an
 * spdcm_error out-parameter, and no C++ exception crosses this boundary. Only SpinePlanDICOM imports it.
 */
#ifndef SPDCM_H
#define SPDCM_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma clang assume_nonnull begin

/* Error codes carried in spdcm_error.code. */
enum {
    SPDCM_OK = 0,
    SPDCM_E_INVALID_ARGUMENT = 1,
    SPDCM_E_PARSE = 2,
    SPDCM_E_IO = 3,
    SPDCM_E_NOT_FOUND = 4,
    SPDCM_E_NETWORK = 5,
    SPDCM_E_REJECTED = 6,
    SPDCM_E_TIMEOUT = 7,
    SPDCM_E_NO_CONTEXT = 8,
    SPDCM_E_INTERNAL = 9,
};

/* An error: a code from the enum above and a human-readable message. */
typedef struct spdcm_error {
    int32_t code;
    char message[512];
} spdcm_error;

/* ---------------------------------------------------------------- datasets */

/* A DICOM object (file meta information plus dataset), owned by the caller. */
typedef struct spdcm_dataset spdcm_dataset;
/* A dataset or sequence item borrowed from an spdcm_dataset; valid while the dataset lives. */
typedef struct spdcm_item spdcm_item;

spdcm_dataset *_Nullable spdcm_dataset_create(spdcm_error *error);
spdcm_dataset *_Nullable spdcm_dataset_read_file(const char *path, spdcm_error *error);
/* Parses a dataset byte stream (no preamble, no meta header) encoded in the given transfer syntax. */
spdcm_dataset *_Nullable spdcm_dataset_parse(const uint8_t *bytes, size_t length,
                                             const char *transfer_syntax_uid, spdcm_error *error);
void spdcm_dataset_free(spdcm_dataset *_Nullable dataset);
spdcm_item *spdcm_dataset_root(spdcm_dataset *dataset);
/* Writes a Part 10 file in Explicit VR Little Endian with a fresh meta header. */
bool spdcm_dataset_save_file(spdcm_dataset *dataset, const char *path, spdcm_error *error);
/* Encodes the dataset (no meta header) in a transfer syntax; free *bytes with spdcm_free. */
bool spdcm_dataset_encode(spdcm_dataset *dataset, const char *transfer_syntax_uid,
                          uint8_t *_Nullable *_Nonnull bytes, size_t *length, spdcm_error *error);

/* The element's whole value (all values joined by backslash); NULL when absent. Free with spdcm_free. */
char *_Nullable spdcm_item_get_string(const spdcm_item *item, uint16_t group, uint16_t element);
bool spdcm_item_has(const spdcm_item *item, uint16_t group, uint16_t element);
/* The element's value bytes in host byte order (OB/OW/US...), borrowed. False when absent. */
bool spdcm_item_get_bytes(const spdcm_item *item, uint16_t group, uint16_t element,
                          const uint8_t *_Nullable *_Nonnull bytes, size_t *length);
size_t spdcm_item_sequence_count(const spdcm_item *item, uint16_t group, uint16_t element);
spdcm_item *_Nullable spdcm_item_sequence_item(const spdcm_item *item, uint16_t group, uint16_t element,
                                               size_t index);

/* Puts a string value: an element already present keeps its VR, a new one takes the data dictionary's. */
bool spdcm_item_put_string(spdcm_item *item, uint16_t group, uint16_t element, const char *value,
                           spdcm_error *error);
bool spdcm_item_put_uint16(spdcm_item *item, uint16_t group, uint16_t element, uint16_t value,
                           spdcm_error *error);
/* Puts an OW value (pixel data). */
bool spdcm_item_put_words(spdcm_item *item, uint16_t group, uint16_t element, const uint16_t *values,
                          size_t count, spdcm_error *error);
/* Puts an OB value (8-bit pixel data), padded to even length. */
bool spdcm_item_put_bytes(spdcm_item *item, uint16_t group, uint16_t element, const uint8_t *values,
                          size_t count, spdcm_error *error);
/* Puts an FD value list. */
bool spdcm_item_put_float64s(spdcm_item *item, uint16_t group, uint16_t element, const double *values,
                             size_t count, spdcm_error *error);
/* Appends an empty item to a sequence, creating the sequence if needed. */
spdcm_item *_Nullable spdcm_item_append_sequence_item(spdcm_item *item, uint16_t group, uint16_t element,
                                                      spdcm_error *error);
/* Creates an empty sequence (type 2 attributes). */
bool spdcm_item_put_empty_sequence(spdcm_item *item, uint16_t group, uint16_t element, spdcm_error *error);

/* The number of elements directly in the item (those inside its sequences not counted). */
size_t spdcm_item_element_count(const spdcm_item *item);
/* The tag and VR (two letters and a NUL) of the item's index-th element, in ascending tag order. */
bool spdcm_item_element_at(const spdcm_item *item, size_t index, uint16_t *group, uint16_t *element,
                           char vr[_Nonnull 3]);
/* Removes an element and frees it; false when it was absent. */
bool spdcm_item_remove(spdcm_item *item, uint16_t group, uint16_t element);
/* Empties an element's value and keeps the element (a sequence loses its items). */
bool spdcm_item_clear(spdcm_item *item, uint16_t group, uint16_t element, spdcm_error *error);

/* ---------------------------------------------------------------- Part 10 framing */

/* The file meta information SpinePlan writes and reads (PS3.10 7.1); strings are NUL-terminated. */
typedef struct spdcm_part10_meta {
    char sop_class_uid[65];
    char sop_instance_uid[65];
    char transfer_syntax_uid[65];
    char source_ae_title[17];
} spdcm_part10_meta;

/* The preamble, "DICM" and the meta group, encoded by DCMTK; the dataset's bytes follow verbatim.
   Free *bytes with spdcm_free. */
bool spdcm_part10_header(const spdcm_part10_meta *meta, uint8_t *_Nullable *_Nonnull bytes, size_t *length,
                         spdcm_error *error);
/* Reads the meta group of a Part 10 file held in memory; *dataset_offset is where the dataset begins. */
bool spdcm_part10_read_meta(const uint8_t *bytes, size_t length, spdcm_part10_meta *meta, size_t *dataset_offset,
                            spdcm_error *error);

void spdcm_free(void *_Nullable pointer);

/* ---------------------------------------------------------------- receiving (SCP) */

/* A listening Storage SCP. */
typedef struct spdcm_scp spdcm_scp;

/* DICOM TLS for an SCP (PEM files). With a trusted CA, every client must present a certificate it signed; with an
 * allow list, the client certificate's SHA-256 (lowercase hex, no separators) must be listed. */
typedef struct spdcm_scp_tls {
    const char *certificate_file;
    const char *private_key_file;
    const char *_Nullable trusted_ca_file;
    const char *const _Nullable *_Nullable allowed_client_sha256;
    size_t allowed_client_sha256_count;
} spdcm_scp_tls;

/* Limits and policy for an SCP. Strings are copied at creation. */
typedef struct spdcm_scp_config {
    const char *ae_title;
    /* Address to bind (e.g. "127.0.0.1" or "0.0.0.0"); ignored when listen_fd >= 0. */
    const char *bind_address;
    /* Port to bind; 0 picks a free one (read it back with spdcm_scp_port). */
    int32_t port;
    /* An already-listening socket (systemd socket activation), or -1. */
    int32_t listen_fd;
    int32_t acse_timeout_seconds;
    /* How long a silent, established association may stay open. */
    int32_t dimse_timeout_seconds;
    uint32_t max_pdu;
    int32_t max_associations;
    uint64_t max_dataset_bytes;
    const char *const _Nullable *_Nullable allowed_calling_ae_titles;
    size_t allowed_calling_ae_title_count;
    const char *const _Nullable *_Nullable allowed_peer_addresses;
    size_t allowed_peer_address_count;
    /* Also accept Comprehensive 3D SR and Secondary Capture storage: a console receiving SpinePlan's results
     * needs them, the daemon's localizer intake must refuse them. */
    bool accept_results;
    /* TLS on this port, or NULL for plain TCP. */
    const spdcm_scp_tls *_Nullable tls;
} spdcm_scp_config;

/* What happened to an association; delivered through spdcm_scp_callbacks.on_event. */
enum {
    SPDCM_EVENT_ACCEPTED = 1,
    SPDCM_EVENT_REJECTED = 2,
    SPDCM_EVENT_RELEASED = 3,
    SPDCM_EVENT_ABORTED = 4,
    SPDCM_EVENT_ECHO = 5,
    SPDCM_EVENT_IDLE_DROPPED = 6,
    SPDCM_EVENT_FAILED = 7,
};

typedef struct spdcm_association_event {
    int32_t kind;
    uint64_t association_id;
    const char *calling_ae_title;
    const char *called_ae_title;
    const char *peer_address;
    /* Why: the rejection reason, the failure, or "" */
    const char *detail;
} spdcm_association_event;

/* One received C-STORE request. Everything is borrowed for the duration of the callback. */
typedef struct spdcm_store_request {
    uint64_t association_id;
    const char *calling_ae_title;
    const char *peer_address;
    const char *sop_class_uid;
    const char *sop_instance_uid;
    const char *transfer_syntax_uid;
    /* The dataset exactly as received (no meta header). */
    const uint8_t *bytes;
    size_t length;
    /* The parsed dataset, or NULL if parsing failed (see parse_error). Ownership passes to the callback. */
    spdcm_dataset *_Nullable dataset;
    const char *parse_error;
    bool too_large;
} spdcm_store_request;

/* The verdict on one C-STORE: the DIMSE status and an optional error comment (copied). */
typedef struct spdcm_store_response {
    uint16_t status;
    char error_comment[64];
} spdcm_store_response;

typedef struct spdcm_scp_callbacks {
    void *_Nullable context;
    /* Called on the association's worker thread; the response is sent only after it returns. */
    void (*on_store)(void *_Nullable context, const spdcm_store_request *request, spdcm_store_response *response);
    void (*on_event)(void *_Nullable context, const spdcm_association_event *event);
} spdcm_scp_callbacks;

/* Binds (or adopts listen_fd) and returns an SCP ready to run. */
spdcm_scp *_Nullable spdcm_scp_create(const spdcm_scp_config *config, spdcm_scp_callbacks callbacks,
                                      spdcm_error *error);
int32_t spdcm_scp_port(const spdcm_scp *scp);
/* Accepts associations until spdcm_scp_stop; joins every worker thread before returning. */
bool spdcm_scp_run(spdcm_scp *scp, spdcm_error *error);
/* Thread-safe and async-signal-safe: wakes the listener and ends run(). */
void spdcm_scp_stop(spdcm_scp *scp);
/* While busy, new associations get a transient A-ASSOCIATE-RJ (local limit exceeded), so the console retries
 * later instead of the server queueing without bound. Thread-safe; associations already open are unaffected. */
void spdcm_scp_set_busy(spdcm_scp *scp, bool busy);
/* Number of associations being served right now. */
int32_t spdcm_scp_active_associations(const spdcm_scp *scp);
void spdcm_scp_free(spdcm_scp *_Nullable scp);

/* ---------------------------------------------------------------- sending (SCU) */

typedef struct spdcm_scu_config {
    const char *calling_ae_title;
    const char *called_ae_title;
    const char *host;
    int32_t port;
    int32_t timeout_seconds;
    uint32_t max_pdu;
} spdcm_scu_config;

/* Sends datasets in one association. statuses[i] receives each C-STORE-RSP status (0xFFFF if not sent).
 * Returns false on a network, negotiation or timeout failure (statuses of what was sent stay valid). */
bool spdcm_scu_store(const spdcm_scu_config *config, spdcm_dataset *const _Nonnull *_Nonnull datasets,
                     size_t count, uint16_t *statuses, spdcm_error *error);
/* C-ECHO. */
bool spdcm_scu_echo(const spdcm_scu_config *config, uint16_t *status, spdcm_error *error);

/* ---------------------------------------------------------------- structured reports (dcmsr) */

/* A coded concept: code value, coding scheme designator, code meaning. */
typedef struct spdcm_code {
    const char *value;
    const char *scheme;
    const char *meaning;
} spdcm_code;

/* A NUM content item: concept, value and UCUM unit. */
typedef struct spdcm_sr_measurement {
    spdcm_code concept;
    double value;
    spdcm_code unit;
} spdcm_sr_measurement;

/* One TID 1410 planar ROI measurement group. */
typedef struct spdcm_sr_group {
    const char *tracking_identifier;
    const char *tracking_uid;
    /* Finding site; an empty value leaves it out (level not named). */
    spdcm_code finding_site;
    /* A closed SCOORD3D polygon: point_count (x, y, z) triples in mm. */
    const double *points;
    size_t point_count;
    const spdcm_sr_measurement *_Nullable measurements;
    size_t measurement_count;
} spdcm_sr_group;

/* One evidence instance (Current Requested Procedure Evidence and the image library). */
typedef struct spdcm_sr_evidence {
    const char *study_uid;
    const char *series_uid;
    const char *sop_class_uid;
    const char *sop_instance_uid;
} spdcm_sr_evidence;

/* Everything a TID 1500 Imaging Measurement Report of planar ROIs needs. Strings may be empty, not NULL. */
typedef struct spdcm_sr_description {
    const char *patient_name;
    const char *patient_id;
    const char *patient_birth_date;
    const char *patient_sex;
    const char *study_instance_uid;
    const char *study_date;
    const char *study_time;
    const char *study_id;
    const char *accession_number;
    const char *referring_physician_name;
    const char *study_description;
    const char *series_instance_uid;
    const char *sop_instance_uid;
    const char *series_description;
    int32_t series_number;
    int32_t instance_number;
    const char *content_date;
    const char *content_time;
    const char *frame_of_reference_uid;
    const char *device_uid;
    const char *device_name;
    const char *manufacturer;
    const char *model_name;
    const char *software_version;
    spdcm_code procedure_reported;
    const spdcm_sr_group *_Nullable groups;
    size_t group_count;
    const spdcm_sr_evidence *_Nullable evidence;
    size_t evidence_count;
    /* Free-text comments (warnings, an abstention reason) as TEXT items of a qualitative evaluations container. */
    const char *const _Nonnull *_Nullable comments;
    size_t comment_count;
} spdcm_sr_description;

/* Builds a Comprehensive 3D SR document (DCMTK dcmsr) from the description. */
spdcm_dataset *_Nullable spdcm_sr_create(const spdcm_sr_description *description, spdcm_error *error);

#pragma clang assume_nonnull end




#ifdef __cplusplus
}
#endif

#endif
