/**
 * @module test/stack/_otelcol-check
 * Structural checks of an OpenTelemetry Collector config: every component a pipeline names is
 * defined, every defined component has a type the pinned collector version knows, connectors
 * join pipelines of the signal types they support, and memory_limiter runs first.
 */

/** Component types known for one collector version (see fixtures/otelcol-contrib-*.json). */
export interface KnownComponents {
  readonly version: string;
  readonly receivers: readonly string[];
  readonly processors: readonly string[];
  readonly exporters: readonly string[];
  readonly extensions: readonly string[];
  /** Connector type → [exporter-side signal, receiver-side signal] pairs it supports. */
  readonly connectors: Readonly<Record<string, readonly (readonly [string, string])[]>>;
}

type Section = 'receivers' | 'processors' | 'exporters' | 'connectors' | 'extensions';

const SECTIONS: readonly Section[] = ['receivers', 'processors', 'exporters', 'connectors', 'extensions'];

/** `otlp/jaeger` → `otlp`: the part before the slash is the component type. */
export function componentType(id: string): string {
  const slash = id.indexOf('/');
  return slash === -1 ? id : id.slice(0, slash);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function idsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** Returns one line per problem; an empty list means the config passed. */
export function checkCollectorConfig(config: unknown, known: KnownComponents): string[] {
  const problems: string[] = [];
  if (!isRecord(config)) return ['config: expected a mapping at the top level'];
  const defined = new Map<Section, Set<string>>();
  for (const section of SECTIONS) {
    const body = config[section];
    const ids = isRecord(body) ? Object.keys(body) : [];
    defined.set(section, new Set(ids));
    for (const id of ids) {
      const type = componentType(id);
      const knownTypes = section === 'connectors' ? Object.keys(known.connectors) : known[section];
      if (!knownTypes.includes(type)) problems.push(`${section}.${id}: type "${type}" is not a ${section.slice(0, -1)} of otelcol-contrib ${known.version}`);
    }
  }
  const service = config['service'];
  if (!isRecord(service)) return [...problems, 'service: missing'];
  const used = new Map<Section, Set<string>>(SECTIONS.map((s) => [s, new Set<string>()]));
  for (const id of idsOf(service['extensions'])) {
    used.get('extensions')?.add(id);
    if (!defined.get('extensions')?.has(id)) problems.push(`service.extensions: "${id}" is not defined under extensions`);
  }
  const pipelines = service['pipelines'];
  if (!isRecord(pipelines) || Object.keys(pipelines).length === 0) return [...problems, 'service.pipelines: none defined'];
  /** connector id → signal types of the pipelines it exports from / receives into. */
  const connectorUse = new Map<string, { from: Set<string>; to: Set<string> }>();
  for (const [pipelineId, pipeline] of Object.entries(pipelines)) {
    const signal = componentType(pipelineId);
    if (!['traces', 'metrics', 'logs', 'profiles'].includes(signal)) problems.push(`service.pipelines.${pipelineId}: unknown signal "${signal}"`);
    if (!isRecord(pipeline)) {
      problems.push(`service.pipelines.${pipelineId}: expected a mapping`);
      continue;
    }
    const receivers = idsOf(pipeline['receivers']);
    const processors = idsOf(pipeline['processors']);
    const exporters = idsOf(pipeline['exporters']);
    if (receivers.length === 0) problems.push(`service.pipelines.${pipelineId}: no receivers`);
    if (exporters.length === 0) problems.push(`service.pipelines.${pipelineId}: no exporters`);
    for (const [role, ids] of [['receivers', receivers], ['processors', processors], ['exporters', exporters]] as const) {
      for (const id of ids) {
        const isConnector = role !== 'processors' && defined.get('connectors')?.has(id) === true;
        const section: Section = isConnector ? 'connectors' : role;
        if (!defined.get(section)?.has(id)) {
          problems.push(`service.pipelines.${pipelineId}.${role}: "${id}" is not defined under ${role}${role === 'processors' ? '' : ' or connectors'}`);
          continue;
        }
        used.get(section)?.add(id);
        if (isConnector) {
          const use = connectorUse.get(id) ?? { from: new Set<string>(), to: new Set<string>() };
          (role === 'exporters' ? use.from : use.to).add(signal);
          connectorUse.set(id, use);
        }
      }
    }
    const limiterAt = processors.findIndex((id) => componentType(id) === 'memory_limiter');
    if (limiterAt > 0) problems.push(`service.pipelines.${pipelineId}.processors: memory_limiter must come first (found at position ${limiterAt + 1})`);
  }
  for (const [id, use] of connectorUse) {
    if (use.from.size === 0) problems.push(`connectors.${id}: used as a receiver but no pipeline exports to it`);
    if (use.to.size === 0) problems.push(`connectors.${id}: used as an exporter but no pipeline receives from it`);
    const pairs = known.connectors[componentType(id)] ?? [];
    for (const from of use.from) {
      for (const to of use.to) {
        if (!pairs.some(([f, t]) => f === from && t === to)) problems.push(`connectors.${id}: cannot join a ${from} pipeline to a ${to} pipeline`);
      }
    }
  }
  for (const section of SECTIONS) {
    for (const id of defined.get(section) ?? []) {
      if (!used.get(section)?.has(id)) problems.push(`${section}.${id}: defined but not used by any pipeline`);
    }
  }
  return problems;
}
