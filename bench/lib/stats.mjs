// @ts-check
// Small statistics helpers for the benchmark: medians across runs, percentiles of latency samples.

/** Median of a list of numbers (mean of the two middle values for an even count); null when empty. */
export function median(values) {
  const xs = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const mid = Math.floor(xs.length / 2);
  return xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

/** Nearest-rank percentile (p in 0..100) of a list of numbers; null when empty. */
export function percentile(values, p) {
  const xs = [...values].sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const rank = Math.min(xs.length - 1, Math.max(0, Math.ceil((p / 100) * xs.length) - 1));
  return xs[rank];
}

/** Operations per second for `count` operations over `ns` nanoseconds (a bigint or number). */
export function perSecond(count, ns) {
  return count / (Number(ns) / 1e9);
}

/** Monotonic clock in nanoseconds (CLOCK_MONOTONIC: comparable across processes on one Linux host). */
export function nowNs() {
  return process.hrtime.bigint();
}

/** Monotonic clock in milliseconds as a float, comparable across processes on one Linux host. */
export function nowMs() {
  return Number(process.hrtime.bigint()) / 1e6;
}
