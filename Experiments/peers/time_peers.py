"""Times the Python libraries users would otherwise pick on the workloads `bench peers` times
SynthMatch on (issue 17). Writes CSV rows: workload, peer, threads, seconds per call (median of
--repeats after one warm-up), x real time (batch x audio seconds / call seconds).

Workloads (batch 16, forward + backward to every input control):
  harmonic   DDSP-style harmonic bank, 64 harmonics, 250 frames upsampled linearly, 4 s at 16 kHz:
             exp_sigmoid amplitude and distribution, Nyquist mask, normalised distribution,
             phase = cumsum(2 pi f0 / sr) wrapped to [0, 2 pi), partials sin(k phase).
  mrstft     auraloss MultiResolutionSTFTLoss() defaults (3 resolutions), 1 s at 16 kHz.
  fm_alg1    DX7 algorithm 1 (2>1, 6>5>4>3, carriers 1 and 3) without feedback, as DDX7 computes
             it: per-frame operator levels (250 frames) upsampled linearly, fixed ratios, phase
             cumsum wrapped, modulation added to the phase; 4 s at 16 kHz.
  torchsynth_voice
             torchsynth 1.0.2's default Voice (the synth1B1 architecture: keyboard, six ADSRs, two
             LFOs, modulation matrix, sine and square/saw VCOs, noise, mixer), forward only, 4 s at
             44.1 kHz, random patches (voice.randomize), as torchsynth renders synth1B1.
  biquad     torchaudio.functional.lfilter (its C++ loop) with the RBJ low-pass at 1 kHz, Q 0.707:
             gradients to the signal and both coefficient vectors; 4 s at 16 kHz. Needs
             torchaudio, which lives in its own venv (Experiments/peers/setup).

    .build/peers-venv/bin/python Experiments/peers/time_peers.py --out peers-python.csv
"""
import argparse
import csv
import math
import time

import torch
import torch.nn.functional as F

B, SR = 16, 16000


def exp_sigmoid(x):
    return 2.0 * torch.sigmoid(x) ** math.log(10.0) + 1e-7


def median_seconds(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def harmonic_workload(seconds=4.0, harmonics=64, frames=250):
    n = int(seconds * SR)
    g = torch.Generator().manual_seed(1)
    controls = torch.randn(B, harmonics + 2, frames, generator=g).requires_grad_(True)
    weights = torch.randn(B, n, generator=g)
    k = torch.arange(1, harmonics + 1, dtype=torch.float32)

    def step():
        controls.grad = None
        f0 = 100 + 300 * torch.sigmoid(controls[:, harmonics + 1])            # [B, F]
        dist = exp_sigmoid(controls[:, 1:harmonics + 1]) * (k[None, :, None] * f0[:, None, :] < SR / 2)
        amps = exp_sigmoid(controls[:, :1]) * dist / dist.sum(dim=1, keepdim=True)
        amps = F.interpolate(amps, size=n, mode="linear", align_corners=False)  # [B, K, n]
        f0s = F.interpolate(f0[:, None], size=n, mode="linear", align_corners=False)[:, 0]
        phase = torch.remainder(torch.cumsum(2 * math.pi * f0s / SR, dim=-1), 2 * math.pi)
        audio = (amps * torch.sin(k[None, :, None] * phase[:, None, :])).sum(dim=1)
        (audio * weights).sum().backward()
    return step, B * seconds


def mrstft_workload(seconds=1.0):
    import auraloss
    n = int(seconds * SR)
    g = torch.Generator().manual_seed(2)
    pred = torch.randn(B, 1, n, generator=g).requires_grad_(True)
    target = torch.randn(B, 1, n, generator=g)
    loss = auraloss.freq.MultiResolutionSTFTLoss()

    def step():
        pred.grad = None
        loss(pred, target).backward()
    return step, B * seconds


def fm_workload(seconds=4.0, frames=250):
    n = int(seconds * SR)
    g = torch.Generator().manual_seed(3)
    levels = torch.rand(B, 6, frames, generator=g).requires_grad_(True)
    f0 = (110 + 330 * torch.rand(B, 1, generator=g)).expand(B, n)
    ratios = torch.tensor([1.0, 2.0, 1.0, 3.0, 1.0, 7.0])
    weights = torch.randn(B, n, generator=g)

    def step():
        levels.grad = None
        lv = F.interpolate(levels, size=n, mode="linear", align_corners=False)   # [B, 6, n]
        omega = torch.cumsum(2 * math.pi * f0 / SR, dim=-1)
        phase = [torch.remainder(omega * r, 2 * math.pi) for r in ratios]
        out = [None] * 7
        out[6] = lv[:, 5] * torch.sin(phase[5])
        out[5] = lv[:, 4] * torch.sin(phase[4] + 2 * math.pi * out[6])
        out[4] = lv[:, 3] * torch.sin(phase[3] + 2 * math.pi * out[5])
        out[3] = lv[:, 2] * torch.sin(phase[2] + 2 * math.pi * out[4])
        out[2] = lv[:, 1] * torch.sin(phase[1])
        out[1] = lv[:, 0] * torch.sin(phase[0] + 2 * math.pi * out[2])
        audio = (out[1] + out[3]) / 2
        (audio * weights).sum().backward()
    return step, B * seconds


def torchsynth_voice_workload(seconds=4.0):
    from torchsynth.config import SynthConfig
    from torchsynth.synth import Voice
    config = SynthConfig(batch_size=B, sample_rate=44100, buffer_size_seconds=seconds, reproducible=False, no_grad=True)
    voice = Voice(config)
    voice.randomize(seed=0)

    def step():
        voice()
    return step, B * seconds


def biquad_workload(seconds=4.0, cutoff=1000.0, q=0.7071):
    import torchaudio.functional as AF
    n = int(seconds * SR)
    g = torch.Generator().manual_seed(4)
    x = torch.randn(B, n, generator=g).requires_grad_(True)
    k = math.tan(math.pi * cutoff / SR)
    d = 1 + k / q + k * k
    b = torch.tensor([k * k / d, 2 * k * k / d, k * k / d]).requires_grad_(True)
    a = torch.tensor([1.0, 2 * (k * k - 1) / d, (1 - k / q + k * k) / d]).requires_grad_(True)
    weights = torch.randn(B, n, generator=g)

    def step():
        x.grad = a.grad = b.grad = None
        (AF.lfilter(x, a, b, clamp=False) * weights).sum().backward()
    return step, B * seconds


WORKLOADS = {
    "harmonic": ("torch, wrapped phase", harmonic_workload),
    "mrstft": ("auraloss MultiResolutionSTFTLoss", mrstft_workload),
    "fm_alg1": ("torch, DX7 algorithm 1 without feedback (DDX7-style)", fm_workload),
    "torchsynth_voice": ("torchsynth 1.0.2 Voice, forward", torchsynth_voice_workload),
    "biquad": ("torchaudio lfilter (C++ loop)", biquad_workload),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--workloads", nargs="+", default=[w for w in WORKLOADS if w != "biquad"])
    args = ap.parse_args()
    with open(args.out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["workload", "peer", "threads", "seconds_per_call", "x_real_time"])
        for name in args.workloads:
            peer, make = WORKLOADS[name]
            for threads in args.threads:
                torch.set_num_threads(threads)
                step, audio_seconds = make()
                t = median_seconds(step, args.repeats)
                if name == "biquad":
                    import torchaudio
                    peer = f"torchaudio {torchaudio.__version__.split('+')[0]} lfilter (C++ loop)"
                w.writerow([name, peer, threads, f"{t:.6g}", f"{audio_seconds / t:.4g}"])
                f.flush()
                print(f"{name} ({peer}), {threads} thread(s): {t * 1000:.1f} ms per call, {audio_seconds / t:.1f}x real time")


if __name__ == "__main__":
    main()
