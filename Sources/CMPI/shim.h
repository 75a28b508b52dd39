#include <mpi.h>

/* Open MPI's handles (MPI_COMM_WORLD, MPI_DOUBLE, MPI_SUM, MPI_IN_PLACE) are macros over
   global objects, which Swift cannot import; static inline wrappers make them callable.
   Only built with SYNTHMATCH_MPI=1 (Package.swift). */
static inline MPI_Comm     cmpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype cmpi_double(void)     { return MPI_DOUBLE; }
static inline MPI_Op       cmpi_sum(void)        { return MPI_SUM; }
static inline void       * cmpi_in_place(void)   { return MPI_IN_PLACE; }
