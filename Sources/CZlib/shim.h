#ifndef CALOVQ_CZLIB_SHIM_H
#define CALOVQ_CZLIB_SHIM_H
/* Debian 12: zlib1g-dev (pulled in by libhdf5-dev). Used by CaloData's parallel chunk reader to
   inflate HDF5 gzip chunks outside libhdf5 (which is serial and single-threaded). */
#include <zlib.h>
#endif
