// libdeflate (Debian libdeflate-dev): whole-buffer zlib/DEFLATE decompression, 2-3x faster than zlib's
// streaming inflate. CaloData inflates HDF5 gzip chunks with it; every chunk is one complete zlib stream.
#pragma once
#include <libdeflate.h>
