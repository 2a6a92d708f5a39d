#ifndef CALOVQ_CHDF5_SHIM_H
#define CALOVQ_CHDF5_SHIM_H
/* Debian 12: libhdf5-dev 1.10 serial, headers in /usr/include/hdf5/serial (pkg-config hdf5).
   Type ids, file flags and property classes are macros that call H5open(); Swift cannot import
   them, so each gets a static inline wrapper. Version-alias macros (H5Dopen ...) are not imported
   either: Swift code calls the numbered functions (H5Dopen2 ...). */
#include <hdf5.h>

static inline hid_t calo_H5T_NATIVE_FLOAT(void)   { return H5T_NATIVE_FLOAT; }
static inline hid_t calo_H5T_NATIVE_DOUBLE(void)  { return H5T_NATIVE_DOUBLE; }
static inline hid_t calo_H5T_NATIVE_INT64(void)   { return H5T_NATIVE_INT64; }
static inline hid_t calo_H5T_C_S1(void)           { return H5T_C_S1; }
static inline unsigned calo_H5F_ACC_TRUNC(void)   { return H5F_ACC_TRUNC; }
static inline unsigned calo_H5F_ACC_RDONLY(void)  { return H5F_ACC_RDONLY; }
static inline unsigned calo_H5F_ACC_RDWR(void)    { return H5F_ACC_RDWR; }
static inline hid_t calo_H5P_DATASET_CREATE(void) { return H5P_DATASET_CREATE; }
static inline hid_t calo_H5P_FILE_ACCESS(void)    { return H5P_FILE_ACCESS; }
static inline hid_t calo_H5P_DEFAULT(void)        { return H5P_DEFAULT; }
static inline hsize_t calo_H5S_UNLIMITED(void)    { return H5S_UNLIMITED; }
/* Silence HDF5's automatic error stack printing; callers turn failures into Swift errors. */
static inline void calo_H5_quiet(void)            { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
#endif
