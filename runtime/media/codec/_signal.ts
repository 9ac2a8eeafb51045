// Test helpers shared by the codec tests and benchmarks (private to this folder).

/** 400 Hz + 1 kHz mix with a slow 3 Hz envelope, peak about -6 dBFS. */
export function testSignal(sampleRate: number, seconds: number): Int16Array {
  const n = Math.round(sampleRate * seconds);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / sampleRate;
    const env = 0.6 + 0.4 * Math.sin(2 * Math.PI * 3 * t);
    out[i] = Math.round(
      16000 * env * (0.6 * Math.sin(2 * Math.PI * 400 * t) + 0.4 * Math.sin(2 * Math.PI * 1000 * t)),
    );
  }
  return out;
}

/** Result of comparing a decoded signal with its reference. */
export interface Comparison {
  /** Delay of `decoded` against `ref` in samples. */
  lag: number;
  /** Normalized cross-correlation at that lag. */
  correlation: number;
  /** Signal-to-noise ratio in dB at that lag. */
  snrDb: number;
}

/**
 * Align `decoded` to `ref` (search lags 0..maxLag, skipping `skip` warm-up samples) and measure
 * correlation and SNR over the overlap.
 */
export function compare(ref: Int16Array, decoded: Int16Array, maxLag: number, skip: number): Comparison {
  let best: Comparison = { lag: 0, correlation: -Infinity, snrDb: -Infinity };
  const end = Math.min(ref.length, decoded.length - maxLag);
  for (let lag = 0; lag <= maxLag; lag++) {
    let xy = 0, xx = 0, yy = 0;
    for (let i = skip; i < end; i++) {
      const x = ref[i]!, y = decoded[i + lag]!;
      xy += x * y;
      xx += x * x;
      yy += y * y;
    }
    const c = xx > 0 && yy > 0 ? xy / Math.sqrt(xx * yy) : 0;
    if (c > best.correlation) best = { lag, correlation: c, snrDb: 0 };
  }
  let sig = 0, noise = 0;
  for (let i = skip; i < end; i++) {
    const x = ref[i]!, d = x - decoded[i + best.lag]!;
    sig += x * x;
    noise += d * d;
  }
  best.snrDb = noise === 0 ? Infinity : 10 * Math.log10(sig / noise);
  return best;
}
