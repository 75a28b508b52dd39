/* FFTW real-to-complex transforms of the spectral losses' sizes under the planner flags
 * SynthMatch could use (issue 17): FFTW_ESTIMATE | FFTW_UNALIGNED (its plans before issue 17:
 * no SIMD codelets), FFTW_ESTIMATE on 16-byte-aligned buffers (now), FFTW_MEASURE (faster, but
 * it picks its algorithm by timing, so results vary in their low bits from run to run).
 * Prints microseconds per transform. Built and run by Experiments/fft_plans/run. */
#include <fftw3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

int main(void) {
    int sizes[] = {64, 128, 256, 512, 1024, 2048, 4096};
    unsigned flags[] = {FFTW_ESTIMATE | FFTW_UNALIGNED, FFTW_ESTIMATE, FFTW_MEASURE};
    const char *names[] = {"estimate_unaligned", "estimate_aligned", "measure_aligned"};
    printf("size,plan,microseconds\n");
    for (int s = 0; s < 7; s++) {
        int n = sizes[s];
        float *in = fftwf_malloc(sizeof(float) * n), *work = fftwf_malloc(sizeof(float) * n);
        fftwf_complex *out = fftwf_malloc(sizeof(fftwf_complex) * (n / 2 + 1));
        srand(1);
        for (int i = 0; i < n; i++) in[i] = rand() / (float)RAND_MAX - 0.5f;
        for (int f = 0; f < 3; f++) {
            fftwf_plan p = fftwf_plan_dft_r2c_1d(n, work, out, flags[f]);
            for (int i = 0; i < n; i++) work[i] = in[i];
            int reps = 20000000 / n;
            double t0 = now();
            for (int r = 0; r < reps; r++) fftwf_execute_dft_r2c(p, work, out);
            printf("%d,%s,%.3f\n", n, names[f], (now() - t0) / reps * 1e6);
            fftwf_destroy_plan(p);
        }
        fftwf_free(in); fftwf_free(work); fftwf_free(out);
    }
    return 0;
}
