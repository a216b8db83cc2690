// Markdown tables for the benchmark's results. Latencies arrive in µs.

const ms = (micros) => (Number.isFinite(micros) ? (micros / 1000).toFixed(2) : 'n/a');
const us = (micros) => (Number.isFinite(micros) ? String(Math.round(micros)) : 'n/a');
const percent = (value) => (Number.isFinite(value) ? value.toFixed(value >= 99.995 || value === 0 ? 0 : 2) : 'n/a');
const ratio = (value) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a');

function table(header, rows) {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

/** Overhead of `step` over the direct step at the same rate, and its ratio to the bare proxy's. */
export function overheads(step, steps, metric) {
  const direct = steps.find((other) => other.rate === step.rate && other.target === 'direct');
  const proxy = steps.find((other) => other.rate === step.rate && other.target === 'proxy');
  if (!direct || step.target === 'direct') return null;
  const over = (a, b, key) => a.result[metric][key] - b.result[metric][key];
  const p50 = over(step, direct, 'p50');
  const p99 = over(step, direct, 'p99');
  const proxyP50 = proxy ? over(proxy, direct, 'p50') : NaN;
  const proxyP99 = proxy ? over(proxy, direct, 'p99') : NaN;
  return {
    p50,
    p99,
    // A non-positive floor (noise at low load) makes a ratio meaningless.
    ratioP50: step.target !== 'proxy' && proxyP50 > 0 ? p50 / proxyP50 : NaN,
    ratioP99: step.target !== 'proxy' && proxyP99 > 0 ? p99 / proxyP99 : NaN,
  };
}

function processCells(step) {
  return step.process ? [step.process.cpuPercent.toFixed(0), step.process.rssPeakMb.toFixed(0)] : ['–', '–'];
}

/** The process's CPU per request sent (µs: % of a core over the measured part ÷ the rate), and its ratio to the proxy's. */
function cpuPerRequestCell(step, steps) {
  if (!step.process) return '–';
  const perRequest = (one) => (one.process.cpuPercent * 10_000) / one.rate;
  const own = perRequest(step);
  const proxy = steps.find((other) => other.rate === step.rate && other.target === 'proxy' && other.process);
  return proxy && step.target !== 'proxy' ? `${us(own)} (${ratio(own / perRequest(proxy))})` : us(own);
}

function selfOverheadCell(step) {
  if (!step.selfOverhead) return '–';
  if (step.selfOverhead.count === 0) return 'no samples';
  return `${us(step.selfOverhead.p50)} / ${us(step.selfOverhead.p99)}`;
}

/** The fixed-rate comparison: total latency, and for streams a second table for time to first byte. */
export function fixedRateTables(steps, { stream }) {
  const sections = [];
  const rows = steps.map((step) => {
    const over = overheads(step, steps, 'latency');
    const latency = step.result.latency;
    return [
      String(step.rate),
      step.target,
      ms(latency.p50),
      ms(latency.p90),
      ms(latency.p99),
      ms(latency.max),
      percent(step.result.successRate * 100),
      over ? us(over.p50) : '–',
      over ? us(over.p99) : '–',
      over && step.target !== 'proxy' ? `${ratio(over.ratioP50)} / ${ratio(over.ratioP99)}` : '–',
      selfOverheadCell(step),
      ...processCells(step),
      cpuPerRequestCell(step, steps),
    ];
  });
  sections.push(
    table(
      ['req/s', 'target', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'success %', 'overhead p50 µs', 'overhead p99 µs', 'overhead ÷ proxy (p50 / p99)', 'self-reported overhead p50 / p99 µs', 'CPU %', 'RSS MB', 'CPU µs per request (÷ proxy)'],
      rows,
    ),
  );
  if (stream) {
    const ttfbRows = steps.map((step) => {
      const over = overheads(step, steps, 'ttfb');
      const ttfb = step.result.ttfb;
      return [
        String(step.rate),
        step.target,
        ms(ttfb.p50),
        ms(ttfb.p90),
        ms(ttfb.p99),
        ms(ttfb.max),
        over ? us(over.p50) : '–',
        over ? us(over.p99) : '–',
        over && step.target !== 'proxy' ? `${ratio(over.ratioP50)} / ${ratio(over.ratioP99)}` : '–',
      ];
    });
    sections.push(
      `Time to first byte (stream):\n\n${table(['req/s', 'target', 'TTFB p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'TTFB overhead p50 µs', 'p99 µs', 'overhead ÷ proxy (p50 / p99)'], ttfbRows)}`,
    );
  }
  sections.push(
    `Generator and machine health (CPU % of one core; "other" is work outside the benchmark that competed for the cores — a step with much of it is not comparable):\n\n${healthTable(steps)}`,
  );
  return sections.join('\n\n');
}

export function healthTable(steps) {
  return table(
    ['req/s', 'target', 'sent', 'ok', 'errors', 'timeouts', 'max in flight', 'send lag p99 ms', 'generator loop lag p99 ms', 'generator CPU %', 'mock CPU %', 'other CPU %', 'attempts'],
    steps.map((step) => [
      String(step.rate),
      step.target,
      String(step.result.sent),
      String(step.result.success),
      step.result.errors > 0 ? `${step.result.errors} ${JSON.stringify(step.result.errorKinds)}` : '0',
      String(step.result.timeouts),
      String(step.result.maxInFlight),
      ms(step.result.sendLag.p99),
      step.result.loopDelay ? ms(step.result.loopDelay.p99) : '–',
      step.result.generatorCpuPercent.toFixed(0),
      step.mockCpuPercent === null ? '–' : step.mockCpuPercent.toFixed(0),
      Number.isFinite(step.otherCpuPercent) ? step.otherCpuPercent.toFixed(0) : 'n/a',
      String(step.attempts ?? 1),
    ]),
  );
}

export function ceilingTable(ceilings, p99BoundMs) {
  const rows = ceilings.map((ceiling) => {
    const best = ceiling.best;
    return [
      ceiling.target,
      best ? String(best.rate) : `< ${ceiling.tried[0]?.rate ?? '?'}`,
      best ? ms(best.result.latency.p99) : 'n/a',
      best?.process ? best.process.cpuPercent.toFixed(0) : '–',
      best?.process ? best.process.rssPeakMb.toFixed(0) : '–',
      best && Number.isFinite(best.otherCpuPercent) ? best.otherCpuPercent.toFixed(0) : 'n/a',
      ceiling.tried.map((step) => `${step.rate}${step.pass ? '✓' : '✗'}`).join(' '),
    ];
  });
  return table(['target', `ceiling req/s (100% success, p99 ≤ ${p99BoundMs} ms)`, 'p99 ms at ceiling', 'CPU %', 'RSS MB', 'other CPU %', 'steps (✓ pass, ✗ fail)'], rows);
}

export function soakTable(soak) {
  const rows = soak.intervals.map((interval) => [
    String(interval.index),
    ms(interval.result.latency.p50),
    ms(interval.result.latency.p99),
    percent(interval.result.successRate * 100),
    interval.process ? interval.process.cpuPercent.toFixed(0) : '–',
    interval.process ? interval.process.rssMb.toFixed(1) : '–',
    Number.isFinite(interval.otherCpuPercent) ? interval.otherCpuPercent.toFixed(0) : 'n/a',
  ]);
  const drift = soak.drift;
  const summary = drift
    ? `Drift, last interval vs first: RSS ${drift.rssPercent >= 0 ? '+' : ''}${drift.rssPercent.toFixed(1)}% (${drift.rssFirstMb.toFixed(1)} → ${drift.rssLastMb.toFixed(1)} MB, peak ${drift.rssPeakMb.toFixed(1)} MB); ` +
      `p99 ${ms(drift.p99FirstUs)} → ${ms(drift.p99LastUs)} ms (${ratio(drift.p99Ratio)})`
    : 'Drift: n/a (fewer than two intervals)';
  return `${table(['interval', 'p50 ms', 'p99 ms', 'success %', 'CPU %', 'RSS MB', 'other CPU %'], rows)}\n\n${summary}`;
}

/** Overload: per target, the offered rate against its ceiling, what was answered, refused and lost. */
export function overloadTable(results) {
  const rows = results.map((entry) => {
    if (!entry.step) return [entry.target, 'no ceiling found', '–', '–', '–', '–', '–', '–', '–', '–', '–', '–', '–'];
    const { result } = entry.step;
    const refused = result.errorKinds.http_503 ?? 0;
    const otherErrors = result.errors - refused;
    const shed = entry.shed ? Object.entries(entry.shed).map(([reason, count]) => `${reason} ${count}`).join(', ') || '0' : '–';
    return [
      entry.target,
      `${entry.rate} (${(entry.rate / entry.ceiling).toFixed(1)}× ${entry.ceiling})`,
      String(result.sent),
      `${result.success} (${percent(result.successRate * 100)}%)`,
      `${ms(result.latency.p50)} / ${ms(result.latency.p99)}`,
      result.wire !== undefined && result.wire.count > 0 ? `${ms(result.wire.p50)} / ${ms(result.wire.p99)}` : '–',
      `${refused}${otherErrors > 0 ? ` (+${otherErrors} other errors)` : ''}`,
      refused > 0 ? `${ms(result.refused.p50)} / ${ms(result.refused.p99)}` : '–',
      String(result.timeouts),
      shed,
      ...processCells(entry.step),
      entry.rssAfterMb === null || entry.rssAfterMb === undefined ? '–' : entry.rssAfterMb.toFixed(0),
    ];
  });
  return table(['target', 'offered req/s (× ceiling)', 'sent', 'answered 2xx (%)', 'answered p50 / p99 ms', 'answered from the write p50 / p99 ms', '503', '503 p50 / p99 ms', 'timeouts', 'shed by the gateway (reason)', 'CPU %', 'RSS MB peak', 'RSS MB after'], rows);
}
