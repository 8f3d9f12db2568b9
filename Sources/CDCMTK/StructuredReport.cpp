// Comprehensive 3D SR (TID 1500 with TID 1410 planar ROI groups) built with DCMTK's dcmsr.
#include "Internal.hpp"

#include "dcmtk/dcmsr/dsrdoc.h"
#include "dcmtk/dcmsr/dsrcodvl.h"
#include "dcmtk/dcmsr/dsrnumvl.h"
#include "dcmtk/dcmsr/dsrsc3vl.h"
#include "dcmtk/dcmsr/dsrimgvl.h"

#include <string>

namespace {

std::string text(const char *s) { return s ? std::string(s) : std::string(); }

DSRCodedEntryValue code(const spdcm_code &c) {
    return DSRCodedEntryValue(text(c.value).c_str(), text(c.scheme).c_str(), text(c.meaning).c_str());
}

DSRCodedEntryValue code(const char *value, const char *scheme, const char *meaning) {
    return DSRCodedEntryValue(value, scheme, meaning);
}

/// Turns a bad condition into an exception the guard reports, naming the step that failed.
void check(const OFCondition &c, const char *what) {
    if (c.bad()) throw std::runtime_error(std::string(what) + ": " + c.text());
}

void checkNode(size_t id, const char *what) {
    if (id == 0) throw std::runtime_error(std::string("cannot add ") + what + " to the SR content tree");
}

void put(DcmItem *item, const DcmTagKey &tag, const std::string &value, const char *what) {
    check(item->putAndInsertString(tag, value.c_str()), what);
}

}  // namespace

extern "C" {

spdcm_dataset *spdcm_sr_create(const spdcm_sr_description *d, spdcm_error *error) {
    spdcm::clear(error);
    SPDCM_GUARD(error, nullptr, {
        spdcm::initialize();
        if (!d || text(d->study_instance_uid).empty() || text(d->frame_of_reference_uid).empty()) {
            spdcm::fail(error, SPDCM_E_INVALID_ARGUMENT, "an SR needs a study instance UID and a frame of reference UID");
            return nullptr;
        }
        DSRDocument doc(DSRTypes::DT_Comprehensive3DSR);
        check(doc.setSpecificCharacterSetType(DSRTypes::CS_UTF8), "character set");
        check(doc.createNewSeriesInStudy(text(d->study_instance_uid)), "study");
        check(doc.setPatientName(text(d->patient_name), OFFalse), "patient name");
        check(doc.setPatientID(text(d->patient_id), OFFalse), "patient ID");
        check(doc.setPatientBirthDate(text(d->patient_birth_date), OFFalse), "patient birth date");
        check(doc.setPatientSex(text(d->patient_sex), OFFalse), "patient sex");
        check(doc.setStudyDate(text(d->study_date), OFFalse), "study date");
        check(doc.setStudyTime(text(d->study_time), OFFalse), "study time");
        check(doc.setStudyID(text(d->study_id), OFFalse), "study ID");
        check(doc.setAccessionNumber(text(d->accession_number), OFFalse), "accession number");
        check(doc.setReferringPhysicianName(text(d->referring_physician_name), OFFalse), "referring physician");
        check(doc.setStudyDescription(text(d->study_description), OFFalse), "study description");
        check(doc.setSeriesDescription(text(d->series_description), OFFalse), "series description");
        check(doc.setSeriesNumber(std::to_string(d->series_number).c_str()), "series number");
        check(doc.setInstanceNumber(std::to_string(d->instance_number).c_str()), "instance number");
        check(doc.setManufacturer(text(d->manufacturer), OFFalse), "manufacturer");
        check(doc.setManufacturerModelName(text(d->model_name), OFFalse), "model name");
        check(doc.setSoftwareVersions(text(d->software_version), OFFalse), "software versions");
        check(doc.setDeviceSerialNumber(text(d->device_uid), OFFalse), "device serial number");
        if (!text(d->content_date).empty()) check(doc.setContentDate(text(d->content_date), OFFalse), "content date");
        if (!text(d->content_time).empty()) check(doc.setContentTime(text(d->content_time), OFFalse), "content time");

        for (size_t i = 0; i < d->evidence_count; ++i) {
            const spdcm_sr_evidence &e = d->evidence[i];
            check(doc.getCurrentRequestedProcedureEvidence().addItem(text(e.study_uid), text(e.series_uid),
                                                                     text(e.sop_class_uid), text(e.sop_instance_uid)),
                  "evidence");
        }

        DSRDocumentTree &tree = doc.getTree();
        // Root: TID 1500 Imaging Measurement Report.
        checkNode(tree.addContentItem(DSRTypes::RT_isRoot, DSRTypes::VT_Container), "the root");
        check(tree.getCurrentContentItem().setConceptName(code("126000", "DCM", "Imaging Measurement Report")), "root concept");
        check(tree.setTemplateIdentification("1500", "DCMR"), "root template");
        check(tree.getCurrentContentItem().setContinuityOfContent(DSRTypes::COC_Separate), "continuity");

        check(tree.addChildContentItem(DSRTypes::RT_hasConceptMod, DSRTypes::VT_Code,
                                       code("121049", "DCM", "Language of Content Item and Descendants")), "language");
        check(tree.getCurrentContentItem().setCodeValue(code("en-US", "RFC5646", "English (United States)")), "language value");
        // TID 1002 observer context: the device.
        check(tree.addContentItem(DSRTypes::RT_hasObsContext, DSRTypes::VT_Code, code("121005", "DCM", "Observer Type")), "observer type");
        check(tree.getCurrentContentItem().setCodeValue(code("121007", "DCM", "Device")), "observer type value");
        check(tree.addContentItem(DSRTypes::RT_hasObsContext, DSRTypes::VT_UIDRef, code("121012", "DCM", "Device Observer UID")), "device UID");
        check(tree.getCurrentContentItem().setStringValue(text(d->device_uid)), "device UID value");
        check(tree.addContentItem(DSRTypes::RT_hasObsContext, DSRTypes::VT_Text, code("121013", "DCM", "Device Observer Name")), "device name");
        check(tree.getCurrentContentItem().setStringValue(text(d->device_name)), "device name value");
        check(tree.addContentItem(DSRTypes::RT_hasObsContext, DSRTypes::VT_Text, code("121014", "DCM", "Device Observer Manufacturer")), "device manufacturer");
        check(tree.getCurrentContentItem().setStringValue(text(d->manufacturer)), "device manufacturer value");
        check(tree.addContentItem(DSRTypes::RT_hasObsContext, DSRTypes::VT_Text, code("121015", "DCM", "Device Observer Model Name")), "device model");
        check(tree.getCurrentContentItem().setStringValue(text(d->model_name)), "device model value");
        check(tree.addContentItem(DSRTypes::RT_hasConceptMod, DSRTypes::VT_Code, code("121058", "DCM", "Procedure reported")), "procedure");
        check(tree.getCurrentContentItem().setCodeValue(code(d->procedure_reported)), "procedure value");

        // TID 1600 image library: the localizer instances the plan was made on.
        if (d->evidence_count > 0) {
            check(tree.addContentItem(DSRTypes::RT_contains, DSRTypes::VT_Container, code("111028", "DCM", "Image Library")), "image library");
            check(tree.addChildContentItem(DSRTypes::RT_contains, DSRTypes::VT_Container, code("126200", "DCM", "Image Library Group")), "image library group");
            for (size_t i = 0; i < d->evidence_count; ++i) {
                const spdcm_sr_evidence &e = d->evidence[i];
                checkNode(tree.addContentItem(DSRTypes::RT_contains, DSRTypes::VT_Image,
                                              i == 0 ? DSRTypes::AM_belowCurrent : DSRTypes::AM_afterCurrent), "an image library entry");
                check(tree.getCurrentContentItem().setImageReference(
                          DSRImageReferenceValue(text(e.sop_class_uid), text(e.sop_instance_uid))), "image reference");
            }
            tree.goUp();   // image library group
            tree.goUp();   // image library
        }

        // TID 1500 row 6: Imaging Measurements, one TID 1410 group per plane.
        // An empty Imaging Measurements container has no Content Sequence, which readers reject: leave it out.
        if (d->group_count > 0) {
            check(tree.addContentItem(DSRTypes::RT_contains, DSRTypes::VT_Container, code("126010", "DCM", "Imaging Measurements")), "imaging measurements");
        }
        for (size_t g = 0; g < d->group_count; ++g) {
            const spdcm_sr_group &group = d->groups[g];
            if (group.point_count < 4) throw std::runtime_error("a planar ROI polygon needs at least four points");
            if (g == 0) {
                check(tree.addChildContentItem(DSRTypes::RT_contains, DSRTypes::VT_Container, code("125007", "DCM", "Measurement Group")), "measurement group");
            } else {
                check(tree.addContentItem(DSRTypes::RT_contains, DSRTypes::VT_Container, code("125007", "DCM", "Measurement Group")), "measurement group");
            }
            check(tree.getCurrentContentItem().setTemplateIdentification("1410", "DCMR"), "group template");
            check(tree.addChildContentItem(DSRTypes::RT_hasObsContext, DSRTypes::VT_Text, code("112039", "DCM", "Tracking Identifier")), "tracking identifier");
            check(tree.getCurrentContentItem().setStringValue(text(group.tracking_identifier)), "tracking identifier value");
            check(tree.addContentItem(DSRTypes::RT_hasObsContext, DSRTypes::VT_UIDRef, code("112040", "DCM", "Tracking Unique Identifier")), "tracking UID");
            check(tree.getCurrentContentItem().setStringValue(text(group.tracking_uid)), "tracking UID value");
            if (!text(group.finding_site.value).empty()) {
                check(tree.addContentItem(DSRTypes::RT_hasConceptMod, DSRTypes::VT_Code, code("363698007", "SCT", "Finding Site")), "finding site");
                check(tree.getCurrentContentItem().setCodeValue(code(group.finding_site)), "finding site value");
            }
            check(tree.addContentItem(DSRTypes::RT_contains, DSRTypes::VT_SCoord3D, code("111030", "DCM", "Image Region")), "image region");
            DSRSpatialCoordinates3DValue region(DSRTypes::GT3_Polygon);
            for (size_t p = 0; p < group.point_count; ++p) {
                region.getGraphicDataList().addItem(static_cast<Float32>(group.points[3 * p]),
                                                    static_cast<Float32>(group.points[3 * p + 1]),
                                                    static_cast<Float32>(group.points[3 * p + 2]));
            }
            check(region.setFrameOfReferenceUID(text(d->frame_of_reference_uid)), "frame of reference");
            check(tree.getCurrentContentItem().setSpatialCoordinates3D(region), "polygon");
            for (size_t m = 0; m < group.measurement_count; ++m) {
                const spdcm_sr_measurement &measurement = group.measurements[m];
                check(tree.addContentItem(DSRTypes::RT_contains, DSRTypes::VT_Num, code(measurement.concept)), "measurement");
                char number[32];
                std::snprintf(number, sizeof number, "%.6g", measurement.value);
                check(tree.getCurrentContentItem().setNumericValue(DSRNumericMeasurementValue(number, code(measurement.unit))), "measurement value");
            }
            tree.goUp();   // back to the measurement group
        }
        if (d->group_count > 0) tree.goUp();   // back to Imaging Measurements

        // Warnings and an abstention reason as free-text comments (TID 1500 qualitative evaluations).
        if (d->comment_count > 0) {
            check(tree.addContentItem(DSRTypes::RT_contains, DSRTypes::VT_Container, code("C0034375", "UMLS", "Qualitative Evaluations")), "qualitative evaluations");
            for (size_t c = 0; c < d->comment_count; ++c) {
                if (c == 0) {
                    check(tree.addChildContentItem(DSRTypes::RT_contains, DSRTypes::VT_Text, code("121106", "DCM", "Comment")), "comment");
                } else {
                    check(tree.addContentItem(DSRTypes::RT_contains, DSRTypes::VT_Text, code("121106", "DCM", "Comment")), "comment");
                }
                check(tree.getCurrentContentItem().setStringValue(text(d->comments[c]), OFFalse), "comment value");
            }
        }

        auto *ds = new spdcm_dataset();
        DcmDataset *dataset = ds->file.getDataset();
        OFCondition c = doc.write(*dataset);
        if (c.bad()) {
            delete ds;
            spdcm::fail(error, SPDCM_E_INTERNAL, std::string("cannot write the SR document: ") + c.text());
            return nullptr;
        }
        // Caller-chosen UIDs, so that output is reproducible and the series is the caller's.
        if (!text(d->series_instance_uid).empty()) put(dataset, DCM_SeriesInstanceUID, text(d->series_instance_uid), "series UID");
        if (!text(d->sop_instance_uid).empty()) put(dataset, DCM_SOPInstanceUID, text(d->sop_instance_uid), "SOP instance UID");
        return ds;
    })
}

}  // extern "C"
