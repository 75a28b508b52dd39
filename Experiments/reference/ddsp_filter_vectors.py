#!/usr/bin/env python3
"""Reference vectors for SynthMatch's FilteredNoise: a numpy port of magenta/ddsp's
core.frequency_impulse_response + core.fft_convolve(padding='same', delay_compensation=-1)
(the block FFT convolution as DDSP writes it, independent of SynthMatch's direct form).

Writes Tests/SynthsTests/Fixtures/ddsp_filter.json: for window sizes 0, 257 and 65, the
magnitudes [frames x 65], an input signal (impulse train + seeded noise) and the output.
Run: python3 Experiments/reference/ddsp_filter_vectors.py  (needs numpy)
"""
import json
import pathlib

import numpy as np

OUT = pathlib.Path(__file__).resolve().parents[2] / "Tests/SynthsTests/Fixtures/ddsp_filter.json"


def hann(n):
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)  # tf.signal.hann_window, periodic


def apply_window_to_impulse_response(ir, window_size):
    ir_size = ir.shape[-1]
    if window_size <= 0 or window_size > ir_size:
        window_size = ir_size
    window = hann(window_size)
    padding = ir_size - window_size
    if padding > 0:
        half_idx = (window_size + 1) // 2
        window = np.concatenate([window[half_idx:], np.zeros(padding), window[:half_idx]])
    else:
        window = np.fft.fftshift(window)
    ir = window * ir
    if padding > 0:
        first_half_start = (ir_size - (half_idx - 1)) + 1
        second_half_end = half_idx + 1
        ir = np.concatenate([ir[..., first_half_start:], ir[..., :second_half_end]], axis=-1)
    else:
        ir = np.fft.fftshift(ir, axes=-1)
    return ir


def frequency_impulse_response(mags, window_size):
    ir = np.fft.irfft(mags.astype(np.complex128), axis=-1)
    return apply_window_to_impulse_response(ir, window_size)


def fft_convolve(audio, irs):
    audio_size = audio.shape[-1]
    n_frames, ir_size = irs.shape
    hop = int(np.ceil(audio_size / n_frames))
    padded = np.pad(audio, (0, n_frames * hop - audio_size))
    frames = padded.reshape(n_frames, hop)
    fft_size = int(2 ** np.ceil(np.log2(hop + ir_size - 1)))
    out_frames = np.fft.irfft(np.fft.rfft(frames, fft_size) * np.fft.rfft(irs, fft_size), fft_size)
    total = (n_frames - 1) * hop + fft_size
    out = np.zeros(total)
    for f in range(n_frames):
        out[f * hop:f * hop + fft_size] += out_frames[f]
    crop = total - audio_size
    start = (ir_size - 1) // 2 - 1
    end = crop - start
    return out[start:total - end]


def main():
    rng = np.random.default_rng(77)
    n, frames, bands = 256, 4, 65
    audio = 0.1 * rng.standard_normal(n)
    audio[::37] += 1.0
    mags = rng.uniform(0.0, 1.0, size=(frames, bands))
    cases = []
    for window_size in (0, 257, 65):
        irs = frequency_impulse_response(mags, window_size)
        cases.append({"window_size": window_size, "ir_size": int(irs.shape[-1]),
                      "output": fft_convolve(audio, irs).tolist(), "impulse_responses": irs.tolist()})
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"audio": audio.tolist(), "magnitudes": mags.tolist(), "cases": cases}) + "\n")
    print(f"wrote {OUT} ({', '.join(str(c['ir_size']) for c in cases)} tap IRs)")


if __name__ == "__main__":
    main()
