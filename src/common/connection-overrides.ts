/**
 * `max.connections.per.ip.overrides` (`host:count,host:count`) parsed as Kafka does: Csv.parseCsvMap
 * (split at the last colon, so IPv6 hosts work), Integer parsing of the counts, and KafkaConfig's
 * host check (Utils.validHostPattern). Errors carry Kafka's sentences, which its dynamic config
 * validation answers with (INVALID_REQUEST). Used by the broker's ConnectionQuotas and by the dynamic
 * config check.
 */
const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;

export function parseConnectionOverrides(raw: string | null): Map<string, number> {
  const out = new Map<string, number>();
  if (raw === null || raw.trim() === '') return out;
  for (const entry of raw.trim().split(/\s*,\s*/)) {
    const i = entry.lastIndexOf(':');
    if (i < 0)
      throw new Error(
        `Error parsing configuration property 'max.connections.per.ip.overrides': begin 0, end -1, length ${entry.length}`,
      );
    const host = entry.slice(0, i).trim();
    const count = entry.slice(i + 1).trim();
    const n = Number(count);
    if (!/^[+-]?\d+$/.test(count) || n < INT_MIN || n > INT_MAX)
      throw new Error(`For input string: "${count}"`);
    out.set(host, n);
  }
  // Kafka's Utils.validHostPattern
  const invalid = [...out.keys()].filter((h) => !/^[0-9a-zA-Z\-%._:]*$/.test(h));
  if (invalid.length > 0)
    throw new Error(`max.connections.per.ip.overrides contains invalid addresses : ${invalid.join(',')}`);
  return out;
}
