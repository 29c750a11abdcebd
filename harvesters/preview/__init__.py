"""Preview thumbnails: one representative, window-levelled slice of a scan as a PNG.

`pixels` reads a 2-D slice from DICOM, NIfTI-1/2 or Bruker `2dseq` pixel data (numpy
only; pydicom for DICOM), `render` window-levels it and writes the PNG (zlib, no imaging
library), and `build.preview_png` picks the representative file of an acquisition.
"""
