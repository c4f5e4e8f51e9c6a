/**
 * @module tracer/span-context
 * `trace.setSpan` for the per-phase hot path. The API's context copies the parent's whole map
 * and makes three closures for every `setValue`; a request sets a span in a context eight times.
 * Here the child is one small object that answers the span key itself and asks its parent for
 * every other key. Any other change (`setValue`, `deleteValue`) is made on the API's own context,
 * so code that builds on our contexts gets exactly what the API would give it.
 */
import { INVALID_SPAN_CONTEXT, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { Context, Span } from '@opentelemetry/api';
import { reportFailure } from './warn-once.js';

class SpanSetContext implements Context {
  private full: Context | undefined;
  constructor(
    private readonly parent: Context,
    private readonly key: symbol,
    private readonly span: Span,
  ) {}
  getValue(key: symbol): unknown {
    return key === this.key ? this.span : this.parent.getValue(key);
  }
  setValue(key: symbol, value: unknown): Context {
    return this.apiContext().setValue(key, value);
  }
  deleteValue(key: symbol): Context {
    return this.apiContext().deleteValue(key);
  }
  /** The same context as the API builds it (made once, on the first change). */
  private apiContext(): Context {
    this.full ??= trace.setSpan(this.parent, this.span);
    return this.full;
  }
}

/**
 * The key `trace.setSpan` stores the span under, as the API in use reports it (a probe context
 * records the key it is given), or undefined when this API does not behave as checked below.
 */
function spanKeyOfThisApi(): symbol | undefined {
  try {
    let key: unknown;
    const probe: Context = {
      getValue: () => undefined,
      setValue: (k) => {
        key = k;
        return probe;
      },
      deleteValue: () => probe,
    };
    const marker = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
    trace.setSpan(probe, marker);
    if (typeof key !== 'symbol') return undefined;
    // The API must read the span back through getValue, and see the parent's other values.
    const other = Symbol('latency-doctor probe');
    const child = new SpanSetContext(ROOT_CONTEXT.setValue(other, 1), key, marker);
    if (trace.getSpan(child) !== marker || child.getValue(other) !== 1) return undefined;
    if (trace.getSpan(trace.deleteSpan(child)) !== undefined || child.setValue(other, 2).getValue(other) !== 2) return undefined;
    return key;
  } catch (error) {
    // Any surprise: the API's own setSpan is used instead (same result, the slower way).
    reportFailure('checking how the OpenTelemetry API stores the active span', error);
    return undefined;
  }
}

const SPAN_KEY = spanKeyOfThisApi();

/** `trace.setSpan(parent, span)`, made in one small allocation. */
export function contextWithSpan(parent: Context, span: Span): Context {
  return SPAN_KEY === undefined ? trace.setSpan(parent, span) : new SpanSetContext(parent, SPAN_KEY, span);
}
