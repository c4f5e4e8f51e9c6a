/**
 * @module analyzer/diagnose/_words
 * Internal helpers the rule modules share when they word a next step: reading a runtime or
 * device string, and a file stem safe to put in a command line.
 */

/** True when `value` contains any of `needles`, case-insensitively. */
export function lowerIncludes(value: string | undefined, ...needles: string[]): boolean {
  const v = (value ?? '').toLowerCase();
  return needles.some((n) => v.includes(n));
}

/** True when the device string names a GPU (cuda:0, gpu, …). */
export function isGpuDevice(device: string | undefined): boolean {
  return lowerIncludes(device, 'cuda', 'gpu', 'rocm');
}

/** A file stem safe for commands built from the model name. */
export function stem(model: string): string {
  return model.replace(/[^A-Za-z0-9._-]+/g, '_') || 'model';
}
