#include <hdf5.h>

/* HDF5 exposes these as macros over runtime globals (or with H5open side effects),
   which Swift cannot import; static inline wrappers make them callable. */
static inline hid_t    chdf5_native_float(void)  { return H5T_NATIVE_FLOAT; }
static inline hid_t    chdf5_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t    chdf5_native_int64(void)  { return H5T_NATIVE_INT64; }
static inline hid_t    chdf5_c_s1(void)          { return H5T_C_S1; }
static inline hid_t    chdf5_p_default(void)     { return H5P_DEFAULT; }
static inline hid_t    chdf5_p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t    chdf5_p_link_create(void) { return H5P_LINK_CREATE; }
static inline unsigned chdf5_acc_trunc(void)     { return H5F_ACC_TRUNC; }
static inline unsigned chdf5_acc_rdonly(void)    { return H5F_ACC_RDONLY; }
static inline unsigned chdf5_acc_rdwr(void)      { return H5F_ACC_RDWR; }
static inline hsize_t  chdf5_unlimited(void)     { return H5S_UNLIMITED; }
static inline size_t   chdf5_variable(void)      { return H5T_VARIABLE; }
