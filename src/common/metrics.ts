/**
 * Prometheus metrics through prom-client. Each server instance owns a Registry (tests run several
 * brokers in one process); process metrics are registered once per registry with a prefix-free name
 * so dashboards built for any Node service work.
 */
import { Registry, collectDefaultMetrics } from 'prom-client';

export function createRegistry(
  opts: { processMetrics?: boolean; labels?: Record<string, string> } = {},
): Registry {
  const registry = new Registry();
  if (opts.labels) registry.setDefaultLabels(opts.labels);
  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}

export { Registry };
