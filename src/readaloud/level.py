"""PCM blocks -> loudness (ITU-R BS.1770-4, gated) and the same PCM at a target level, peaks limited.

Everything streams in blocks, so a section of any length is measured and
levelled in bounded memory, in-process: no ffmpeg pass per measurement.
The K-weighting is the standard's two biquads (a high shelf of +4 dB at
1.5 kHz and a 38 Hz high-pass), designed for the actual sample rate the
same way pyloudnorm does; the tests hold the result against pyloudnorm and
against ffmpeg's ebur128 filter.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

import numpy as np
from numpy.typing import NDArray

Samples = NDArray[np.float32]

ABSOLUTE_GATE = -70.0  # LUFS
RELATIVE_GATE = -10.0  # LU below the absolutely gated loudness
OVERSAMPLE = 4  # true peak: the signal between samples, seen at four times the rate
MAX_EXTRA_GAIN = 12.0  # dB above the unlimited gain that the limiter may be asked to absorb
PLATEAU_SLOPE = 0.05  # LU per dB: below this, more gain only feeds the limiter
_CONTEXT = 16  # samples of neighbours the oversampling filter needs on each side (it spans about 10)
LOOKAHEAD = 0.005  # seconds the limiter's gain starts falling before a peak
RELEASE = 0.02  # seconds over which it recovers


def _biquads(rate: int) -> list[tuple[NDArray[np.float64], NDArray[np.float64]]]:
    """The two K-weighting filters, by the bilinear transform at `rate` (RBJ shelf and high-pass)."""
    filters = []
    # stage 1: high shelf, +4 dB above about 1.5 kHz (the head's effect)
    gain, q, fc = 4.0, 1 / math.sqrt(2), 1500.0
    a_lin = 10 ** (gain / 40)
    w0 = 2 * math.pi * fc / rate
    alpha = math.sin(w0) / (2 * q)
    cos = math.cos(w0)
    b = [
        a_lin * ((a_lin + 1) + (a_lin - 1) * cos + 2 * math.sqrt(a_lin) * alpha),
        -2 * a_lin * ((a_lin - 1) + (a_lin + 1) * cos),
        a_lin * ((a_lin + 1) + (a_lin - 1) * cos - 2 * math.sqrt(a_lin) * alpha),
    ]
    a = [
        (a_lin + 1) - (a_lin - 1) * cos + 2 * math.sqrt(a_lin) * alpha,
        2 * ((a_lin - 1) - (a_lin + 1) * cos),
        (a_lin + 1) - (a_lin - 1) * cos - 2 * math.sqrt(a_lin) * alpha,
    ]
    filters.append((np.array(b) / a[0], np.array(a) / a[0]))
    # stage 2: high-pass at 38 Hz (RLB weighting)
    q, fc = 0.5, 38.0
    w0 = 2 * math.pi * fc / rate
    alpha = math.sin(w0) / (2 * q)
    cos = math.cos(w0)
    b = [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2]
    a = [1 + alpha, -2 * cos, 1 - alpha]
    filters.append((np.array(b) / a[0], np.array(a) / a[0]))
    return filters


class _KWeighting:
    """The K filter, block by block, in the frequency domain: numpy alone (scipy took 0.9 s to
    import, most of it holding the GIL the engine's callback needs) and as exact as a recursive
    filter: each block carries a quarter second of history and half a second of zero padding,
    and the two biquads' impulse response has died away (below 1e-20) well within both."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._filters = _biquads(rate)
        self._history = np.zeros(rate // 4)
        self._responses: dict[int, NDArray[np.complex128]] = {}

    def _response(self, n: int) -> NDArray[np.complex128]:
        if n not in self._responses:
            z = np.exp(-2j * np.pi * np.arange(n // 2 + 1) / n)  # z^-1 on the unit circle
            h = np.ones(n // 2 + 1, dtype=np.complex128)
            for b, a in self._filters:
                h *= (b[0] + b[1] * z + b[2] * z * z) / (a[0] + a[1] * z + a[2] * z * z)
            self._responses[n] = h
        return self._responses[n]

    def __call__(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        past = len(self._history)
        buffer = np.concatenate([self._history, x])
        n = 1 << (len(buffer) + self.rate // 2 - 1).bit_length()
        y: NDArray[np.float64] = np.fft.irfft(np.fft.rfft(buffer, n) * self._response(n), n)[
            past : len(buffer)
        ]
        self._history = buffer[len(buffer) - past :]
        return y


def _prototype(taps_per_phase: int = 12) -> NDArray[np.float64]:
    """A windowed-sinc interpolator for OVERSAMPLE times the rate, centred on its middle tap."""
    taps = OVERSAMPLE * taps_per_phase + 1
    n = np.arange(taps) - (taps - 1) / 2
    h = np.sinc(n / OVERSAMPLE) * np.kaiser(taps, 6.0)
    result: NDArray[np.float64] = h * (OVERSAMPLE / h.sum())
    return result


_PHASES = [_prototype()[k::OVERSAMPLE] for k in range(OVERSAMPLE)]
_PHASE_DELAY = (len(_prototype()) - 1) // 2 // OVERSAMPLE  # input samples the filter lags by


def _oversampled_magnitude(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """|signal| at OVERSAMPLE times the rate, value n * OVERSAMPLE + k at time n + k / OVERSAMPLE:
    one short convolution per phase (polyphase interpolation)."""
    out = np.empty((len(x), OVERSAMPLE))
    for k, phase in enumerate(_PHASES):
        out[:, k] = np.abs(np.convolve(x, phase)[_PHASE_DELAY : _PHASE_DELAY + len(x)])
    return out.ravel()


def _window_min(values: NDArray[np.float64], before: int, after: int) -> NDArray[np.float64]:
    """The least value within `before` places back and `after` places ahead of each place."""
    padded = np.pad(values, (before, after), mode="edge")
    result: NDArray[np.float64] = np.lib.stride_tricks.sliding_window_view(padded, before + after + 1).min(
        axis=1
    )
    return result


class Meter:
    """Integrated loudness of a mono signal fed in blocks of any size.

    It keeps the K-weighted energy of short bins (about 5 ms) and the true peak in each,
    so the loudness after any gain and limiting can be predicted without another pass.
    """

    def __init__(self, rate: int, *, peaks: bool = False) -> None:
        self.rate = rate
        self._weighting = _KWeighting(rate)
        self.step = rate // 10  # gating blocks are 400 ms with 75% overlap: built from 100 ms steps
        self.per_step = _bins_per_step(self.step, rate)
        self.bin = self.step // self.per_step
        self._peaks = peaks
        self._pending = np.zeros(0)
        self._energy: list[NDArray[np.float32]] = []  # K-weighted sum of squares per bin
        self._bin_peaks: list[NDArray[np.float32]] = []  # true peak per bin
        self._peak_context = np.zeros(_CONTEXT)  # silence before the first sample, measured
        self._peak_pending = np.zeros(0, dtype=np.float32)  # per-sample peaks not yet binned

    def add(self, block: NDArray[np.floating]) -> None:
        x = np.asarray(block, dtype=np.float64)
        if self._peaks:
            self._add_peaks(x)
        x = np.concatenate([self._pending, self._weighting(x)])
        whole = len(x) // self.step * self.step
        if whole:
            self._energy.append(np.square(x[:whole]).reshape(-1, self.bin).sum(axis=1).astype(np.float32))
        self._pending = x[whole:]

    def _add_peaks(self, x: NDArray[np.float64], *, final: bool = False) -> None:
        """True peaks of the samples that have _CONTEXT samples on both sides by now: the
        oversampling filter then sees real neighbours, not the zeros beyond a block's edge.
        Binned straight from the oversampled signal: no per-sample array in between.

        _peak_context holds _CONTEXT samples already measured (silence before the start),
        then the samples still waiting for their right-hand neighbours."""
        buffer = np.concatenate([self._peak_context, x, np.zeros(_CONTEXT) if final else x[:0]])
        ready = len(buffer) - _CONTEXT  # positions _CONTEXT .. ready can be measured now
        if ready <= _CONTEXT:
            self._peak_context = buffer
            return
        up = _oversampled_magnitude(buffer)
        done = up[_CONTEXT * OVERSAMPLE : ready * OVERSAMPLE].astype(np.float32)
        self._peak_context = buffer[ready - _CONTEXT :]
        pending = np.concatenate([self._peak_pending, done])
        width = self.bin * OVERSAMPLE
        whole = len(pending) // width * width
        if whole:
            self._bin_peaks.append(pending[:whole].reshape(-1, width).max(axis=1))
        self._peak_pending = pending[whole:]

    def close(self) -> None:
        """Bin what is left (padded with silence), so the last few ms are limited too."""
        left = len(self._pending)
        if left:
            self.add(np.zeros(self.step - left))
        if self._peaks:
            self._add_peaks(np.zeros(0), final=True)
            bins = sum(len(b) for b in self._energy)
            have = sum(len(b) for b in self._bin_peaks)
            rest = float(self._peak_pending.max(initial=0.0))
            while have < bins:
                self._bin_peaks.append(np.array([rest], dtype=np.float32))
                rest = 0.0
                have += 1
            self._peak_pending = np.zeros(0, dtype=np.float32)

    def energies(self) -> NDArray[np.float32]:
        return np.concatenate(self._energy) if self._energy else np.zeros(0, dtype=np.float32)

    def bin_peaks(self) -> NDArray[np.float32]:
        """True peak per bin, one for each energy bin (measured peaks lag a few samples behind
        the energies until close(): the bins not yet complete get the loudest peak seen in them)."""
        peaks = np.concatenate(self._bin_peaks) if self._bin_peaks else np.zeros(0, dtype=np.float32)
        missing = sum(len(e) for e in self._energy) - len(peaks)
        if missing > 0:
            fill = np.full(missing, float(self._peak_pending.max(initial=0.0)), dtype=np.float32)
            peaks = np.concatenate([peaks, fill])
        return peaks

    def integrated(self, energies: NDArray[np.floating] | None = None) -> float:
        """LUFS of what was added (or of these bin energies); -inf for silence or under 400 ms."""
        bins = self.energies() if energies is None else energies
        steps = np.asarray(bins, dtype=np.float64).reshape(-1, self.per_step).sum(axis=1)
        return gated_loudness(steps, self.step)


def gated_loudness(steps: NDArray[np.float64], step: int) -> float:
    """BS.1770-4 integrated loudness from the K-weighted energy of consecutive 100 ms steps."""
    if len(steps) < 4:
        return float("-inf")
    energy = (steps[:-3] + steps[1:-2] + steps[2:-1] + steps[3:]) / (4 * step)
    with np.errstate(divide="ignore"):
        blocks = -0.691 + 10 * np.log10(energy)
    kept = energy[blocks > ABSOLUTE_GATE]
    if not len(kept):
        return float("-inf")
    relative = -0.691 + 10 * math.log10(kept.mean()) + RELATIVE_GATE
    with np.errstate(divide="ignore"):
        kept = kept[-0.691 + 10 * np.log10(kept) > relative]
    return -0.691 + 10 * math.log10(kept.mean())


def _bins_per_step(step: int, rate: int) -> int:
    """How many bins of about 5 ms divide a 100 ms step exactly."""
    wanted = rate * 0.005
    divisors = [k for k in range(8, 41) if step % k == 0]
    return min(divisors, key=lambda k: abs(step / k - wanted)) if divisors else 1


def limiter_gains(meter: Meter, gain_db: float, ceiling_db: float) -> NDArray[np.float32]:
    """Linear gain per bin: gain_db, turned down wherever a true peak would pass ceiling_db.

    The reduction starts LOOKAHEAD before a peak and holds for RELEASE after it (at least
    a bin each way), so it comes and goes smoothly rather than clipping.
    """
    peaks = meter.bin_peaks()
    gain = 10 ** (gain_db / 20)
    need = np.minimum(1.0, 10 ** (ceiling_db / 20) / np.maximum(peaks * gain, 1e-12))
    ahead = max(1, round(LOOKAHEAD * meter.rate / meter.bin))
    release = max(1, round(RELEASE * meter.rate / meter.bin))
    held = _window_min(need, release, ahead)
    result: NDArray[np.float32] = (gain * held).astype(np.float32)
    return result


def predict(meter: Meter, gain_db: float, ceiling_db: float) -> float:
    """The loudness after gain_db and the limiter, from the meter's bins: no pass over the audio."""
    return meter.integrated(meter.energies() * limiter_gains(meter, gain_db, ceiling_db) ** 2)


def choose_gain(meter: Meter, target: float, ceiling_db: float) -> float:
    """The gain that lands on target once the limiter has done its work (secant steps on predict).

    Peaks pushed past the ceiling are turned down, which lowers the loudness: with espeak's
    clipped peaks 1 dB more gain gave only 0.3 LU more. When the limiter flattens everything
    the loudness stops rising; the gain then stops too (at most MAX_EXTRA_GAIN above the
    unlimited answer), rather than lifting breaths and noise by tens of dB for nothing.
    """
    measured = meter.integrated()
    if measured == float("-inf"):
        return 0.0  # silence
    plain = target - measured
    gain = plain
    last = (0.0, measured)
    for _ in range(8):
        got = predict(meter, gain, ceiling_db)
        if abs(target - got) <= 0.05:
            break
        slope = (got - last[1]) / (gain - last[0]) if gain != last[0] else 1.0
        if got < target and slope < PLATEAU_SLOPE and last[0] != 0.0:
            break  # no more loudness to be had: the limiter takes every extra dB
        last = (gain, got)
        gain = min(plain + MAX_EXTRA_GAIN, gain + (target - got) / min(1.0, max(0.1, slope)))
    return gain


def apply(blocks: Iterable[Samples], *, meter: Meter, gain_db: float, ceiling_db: float) -> Iterator[Samples]:
    """The blocks with the gain and the limiter applied, sample by sample, from the meter's bins.

    The limiter's gain is the one predict() worked with, interpolated between bin
    centres: every bin's gain is at most what its own loudest true peak allows and
    what its neighbours' allow, so the interpolated gain never lets a peak through.
    """
    curve = limiter_gains(meter, gain_db, ceiling_db).astype(np.float64)
    centres = (np.arange(len(curve)) + 0.5) * meter.bin
    done = 0
    for block in blocks:
        where = np.arange(done, done + len(block))
        # past the last bin centre (the last few ms) np.interp holds the last bin's gain
        gains = np.interp(where, centres, curve) if len(curve) else np.full(len(block), 10 ** (gain_db / 20))
        yield (np.asarray(block, dtype=np.float64) * gains).astype(np.float32)
        done += len(block)
