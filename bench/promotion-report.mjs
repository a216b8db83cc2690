#!/usr/bin/env node
// Reads what bench/promotion-probe.cjs and V8's --trace-gc-nvp left after a step, and prints:
//   node bench/promotion-report.mjs gc LOG...         per gateway log: the main isolate's minor collections from 4 s
//                                                     after the load started (the first one after 3 s without any):
//                                                     MB promoted a second, the share of the young generation's
//                                                     allocation that survived a minor collection, the share of
//                                                     those survivors promoted at the next one, scavenges a second
//                                                     and their pause (ms a second), full collections in the step
//   node bench/promotion-report.mjs profile A [B]     a .heapprofile's bytes by allocating function (dist/ frames
//                                                     mapped to src/ through dist/*.js.map when source-map-js can be
//                                                     loaded), two profiles side by side
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const [mode, ...files] = process.argv.slice(2);

function gcSummary(file) {
  const lines = readFileSync(file, 'utf8').split('\n').filter((line) => line.includes(' gc='));
  const main = lines.find((line) => line.includes(' gc=s '))?.split(']')[0];
  const rows = lines.filter((line) => line.startsWith(`${main}]`)).map((line) => {
    const fields = Object.fromEntries(line.split(/\s+/).map((part) => part.split('=')).filter((pair) => pair.length === 2));
    return {
      at: Number(line.match(/\]\s+(\d+) ms/)[1]),
      gc: fields.gc,
      pause: Number(fields.pause),
      promoted: Number(fields.promoted),
      survived: parseFloat(fields.new_space_survive_rate_),
      promotedOfSurvivors: parseFloat(fields.promotion_rate),
    };
  });
  let start = 0;
  for (let i = 1; i < rows.length; i++) {
    if (rows[i].at - rows[i - 1].at > 3000 && rows[i].at > 4000) {
      start = rows[i].at;
      break;
    }
  }
  const steady = rows.filter((row) => row.at >= start + 4000 && row.gc === 's');
  if (steady.length < 2) return `${file}: no steady load found`;
  const seconds = (steady.at(-1).at - steady[0].at) / 1000;
  const sum = (key) => steady.reduce((total, row) => total + row[key], 0);
  const full = rows.filter((row) => row.at >= start && row.gc !== 's').length;
  return [
    file,
    `promoted ${(sum('promoted') / seconds / 1e6).toFixed(1)} MB/s`,
    `survived ${(sum('survived') / steady.length).toFixed(1)}%`,
    `of which promoted next ${(sum('promotedOfSurvivors') / steady.length).toFixed(0)}%`,
    `scavenges ${(steady.length / seconds).toFixed(1)}/s, ${(sum('pause') / seconds).toFixed(0)} ms/s`,
    `full collections ${full}`,
  ].join(' | ');
}

function sourceMapper() {
  const require = createRequire(import.meta.url);
  let SourceMapConsumer;
  try {
    ({ SourceMapConsumer } = require('source-map-js'));
  } catch {
    return undefined;
  }
  const maps = new Map();
  return (url, line, column) => {
    const path = url.startsWith('file://') ? fileURLToPath(url) : url;
    if (!maps.has(path)) maps.set(path, existsSync(`${path}.map`) ? new SourceMapConsumer(JSON.parse(readFileSync(`${path}.map`, 'utf8'))) : undefined);
    const map = maps.get(path);
    if (map === undefined) return undefined;
    const found = map.originalPositionFor({ line: line + 1, column });
    return found.source ? `${found.source.replace(/^.*?((src|node_modules)\/)/, '$1')}:${found.line}` : undefined;
  };
}

function bySite(file, mapSource) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const sites = new Map();
  let total = 0;
  const walk = (node) => {
    if (node.selfSize > 0) {
      const frame = node.callFrame;
      total += node.selfSize;
      const where = (frame.url.includes('/dist/') && mapSource?.(frame.url, frame.lineNumber, frame.columnNumber))
        || `${frame.url.replace(/^.*\/(dist|node_modules)\//, '$1/').replace(/^node:/, '')}:${frame.lineNumber + 1}`;
      const key = `${frame.functionName || '(anonymous)'} ${where}`;
      sites.set(key, (sites.get(key) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child);
  };
  walk(profile.head);
  return { sites, total };
}

if (mode === 'gc') {
  for (const file of files) console.log(gcSummary(file));
} else if (mode === 'profile' && files.length > 0) {
  const mapSource = sourceMapper();
  const profiles = files.map((file) => bySite(file, mapSource));
  const last = profiles.at(-1);
  console.log(`total MB: ${profiles.map((profile) => (profile.total / 1e6).toFixed(1)).join(' | ')}`);
  const keys = [...new Set(profiles.flatMap((profile) => [...profile.sites.keys()]))].sort((a, b) => (last.sites.get(b) ?? 0) - (last.sites.get(a) ?? 0));
  for (const key of keys.slice(0, 30)) console.log(`${profiles.map((profile) => (((profile.sites.get(key) ?? 0) / 1e6).toFixed(2)).padStart(6)).join(' ')}  ${key}`);
} else {
  console.error('usage: promotion-report.mjs gc LOG... | profile A.heapprofile [B.heapprofile]');
  process.exit(2);
}
