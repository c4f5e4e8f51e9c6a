/**
 * @module analyzer/diagnose/rules
 * The rule registry: the one list of diagnosis rules. A rule module carries its thresholds,
 * words and logic (see `defineRule` in rule.ts); adding a rule is one module and one line here.
 * THRESHOLD_SPECS, `--explain`, the ranking titles and the tables in docs/diagnosis.md are all
 * built from this list, and a test checks it holds exactly one rule per fix id in FIX_IDS.
 */
import type { FixId } from '../../semconv.js';
import type { Rule } from './rule.js';
import { latencyDriftRule } from './latency-drift.js';
import { preprocessingPipelineRule } from './preprocessing-pipeline.js';
import { dynamicBatchingRule } from './dynamic-batching.js';
import { scaleAndCacheRule } from './scale-and-cache.js';
import { deviceTransferRule } from './device-transfer.js';
import { optimizedRuntimeRule } from './optimized-runtime.js';
import { quantizationRule } from './quantization.js';
import { pruneDistillRule } from './prune-distill.js';
import { hardwareLimitRule } from './hardware-limit.js';
import { replicaOutlierRule } from './replica-outlier.js';

/** Every rule with its threshold names in its type, in the order `--explain` lists them. */
export const RULE_REGISTRY = [
  latencyDriftRule,
  preprocessingPipelineRule,
  dynamicBatchingRule,
  scaleAndCacheRule,
  deviceTransferRule,
  optimizedRuntimeRule,
  quantizationRule,
  pruneDistillRule,
  hardwareLimitRule,
  replicaOutlierRule,
] as const;

/** Every rule, in the order `--explain` lists them. */
export const RULES: readonly Rule[] = RULE_REGISTRY;

/** Names of the thresholds the rules read. */
export type RuleThresholdKey = (typeof RULE_REGISTRY)[number]['thresholdKeys'][number];

const BY_ID: ReadonlyMap<FixId, Rule> = new Map(RULES.map((r) => [r.id, r]));

/** The rule behind a fix id. */
export function ruleFor(id: FixId): Rule {
  const rule = BY_ID.get(id);
  if (rule === undefined) throw new Error(`no diagnosis rule for fix id ${id}`);
  return rule;
}
