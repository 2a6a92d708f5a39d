#ifndef CALOVQ_COPENBLAS_SHIM_H
#define CALOVQ_COPENBLAS_SHIM_H
/* Debian: cblas.h from openblas-pthread (pkg-config openblas). It is the only cblas.h that declares
   openblas_set_num_threads. */
#include <cblas.h>

/* LAPACK routines that libopenblas exports (Fortran ABI, column-major, all arguments by pointer).
   Debian's OpenBLAS is built without LAPACKE, so declare the two we use here. */
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info);
void ssyevd_(const char *jobz, const char *uplo, const int *n, float *a, const int *lda, float *w,
             float *work, const int *lwork, int *iwork, const int *liwork, int *info);
void dgeev_(const char *jobvl, const char *jobvr, const int *n, double *a, const int *lda, double *wr,
            double *wi, double *vl, const int *ldvl, double *vr, const int *ldvr, double *work,
            const int *lwork, int *info);
#endif
