/** Read a broker's Prometheus metrics: the sum of a metric's samples whose labels include `labels`. */
export async function metricSum(
  metricsPort: number,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** The API versions a broker has served, from sluice_requests_total: API name → versions seen. */
export async function servedVersions(metricsPort: number): Promise<Map<string, Set<number>>> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const out = new Map<string, Set<number>>();
  for (const m of text.matchAll(/^sluice_requests_total\{([^}]*)\} (\S+)$/gm)) {
    const api = /api="([^"]+)"/.exec(m[1]!)?.[1];
    const version = /version="(\d+)"/.exec(m[1]!)?.[1];
    if (api === undefined || version === undefined || Number(m[2]) === 0) continue;
    out.set(api, (out.get(api) ?? new Set()).add(Number(version)));
  }
  return out;
}
