/**
 * @module sidecar/defaults
 * The sidecar's defaults, stated once: the probe, the collector, the CLI's help and
 * docs/sidecar.md (checked by a test) all read these.
 */

/** Default port (nvidia_gpu_exporter's 9835 convention: do not run both on one host). */
export const DEFAULT_SIDECAR_PORT = 9835;

/** Sampling period in ms (`-lms`); below ~250 ms nvidia-smi's sensors only repeat values. */
export const DEFAULT_PERIOD_MS = 1000;

/** Period of the slow `nvidia-smi -q -x` query in ms. */
export const DEFAULT_XML_PERIOD_MS = 30_000;

/** Period of the one-shot identity/limits query in ms. */
export const DEFAULT_STATIC_PERIOD_MS = 30_000;

/** Extra time a fresh nvidia-smi child gets for its first row in ms (multi-GPU hosts take 5–10 s, netdata docs). */
export const DEFAULT_STARTUP_ALLOWANCE_MS = 10_000;

/** Size bound of the samples file in MB; 0 = never rotated. */
export const DEFAULT_SAMPLES_MAX_MB = 0;

/** OTLP export interval in ms. */
export const DEFAULT_OTLP_INTERVAL_MS = 10_000;

/** First restart delay of a failed nvidia-smi child in ms; doubles per consecutive failure. */
export const DEFAULT_BACKOFF_MIN_MS = 1000;

/** Cap of the restart backoff in ms . */
export const DEFAULT_BACKOFF_MAX_MS = 30_000;

/** First re-check for nvidia-smi after it was not found, in ms; doubles up to DEFAULT_REDISCOVER_MAX_MS. */
export const DEFAULT_REDISCOVER_MIN_MS = 10_000;

/** Cap of the re-check interval for a missing nvidia-smi in ms (a driver installed later is found within 5 min). */
export const DEFAULT_REDISCOVER_MAX_MS = 300_000;
