#!/usr/bin/env python3
"""Reads an overlay image with pydicom and its PNG with Pillow, independently of SpinePlan; prints one JSON line.

usage: check_overlay.py OVERLAY_DCM PNG
"""
import json
import sys

import numpy as np
from PIL import Image
from pydicom import dcmread


def main(dcm_path, png_path):
    ds = dcmread(dcm_path)
    pixels = ds.pixel_array
    png = np.asarray(Image.open(png_path).convert("RGB"))
    # Coloured pixels of the PNG: where the planned lines and labels were drawn over the grey image.
    colour = (np.abs(png[..., 0].astype(int) - png[..., 1]) + np.abs(png[..., 1].astype(int) - png[..., 2])) > 40
    print(json.dumps({"sop_class": str(ds.SOPClassUID), "study": str(ds.StudyInstanceUID), "patient_id": str(ds.PatientID),
                      "series": str(ds.SeriesInstanceUID), "shape": list(pixels.shape),
                      "photometric": ds.PhotometricInterpretation, "burned_in": ds.BurnedInAnnotation,
                      "png_shape": list(png.shape), "png_equals_dicom": bool(png.shape == pixels.shape and (png == pixels).all()),
                      "coloured_pixels": int(colour.sum())}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
