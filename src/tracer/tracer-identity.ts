/**
 * @module tracer/tracer-identity
 * The instrumentation scope the tracer's spans and metrics carry.
 */

/** Instrumentation scope name of every span and metric the tracer records. */
export const TRACER_NAME = 'latency-doctor';

/** Instrumentation scope version (the package version). */
export const TRACER_VERSION = '0.1.0';
