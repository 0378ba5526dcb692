// Reading Prometheus text output in tests.

/** The value of one sample in Prometheus text output (labels given in the order printed), or undefined. */
export function sampleValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const entries = Object.entries(labels);
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const printed = match[2] ?? '';
    if (entries.every(([key, value]) => printed.includes(`${key}="${value}"`))) return Number(match[3]);
  }
  return undefined;
}

/** Names of every sample in Prometheus text output (histograms give their _bucket, _sum and _count). */
export function sampleNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const name = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{\s]/.exec(line)?.[1];
    if (name) names.add(name);
  }
  return names;
}
