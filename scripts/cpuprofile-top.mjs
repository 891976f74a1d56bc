// Sums a .cpuprofile's self time by function and by package: `node scripts/cpuprofile-top.mjs file [n]`.
import { readFileSync } from 'node:fs';
const prof = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const n = Number(process.argv[3] ?? 25);
const dt = new Map();
for (let i = 0; i < prof.samples.length; i++) dt.set(prof.samples[i], (dt.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0));
const byFn = new Map();
const byPkg = new Map();
let total = 0;
for (const node of prof.nodes) {
  const t = (dt.get(node.id) ?? 0) / 1000;
  total += t;
  const { functionName, url, lineNumber } = node.callFrame;
  const key = `${functionName || '(anon)'} ${url.replace(/^.*node_modules\//, '~/').replace(/^file:\/\/.*\/dist\//, 'dist/')}:${lineNumber}`;
  byFn.set(key, (byFn.get(key) ?? 0) + t);
  const m = url.match(/node_modules\/((@[^/]+\/)?[^/]+)/);
  const pkg = m
    ? m[1]
    : url.includes('/dist/')
      ? 'project'
      : url.startsWith('node:')
        ? 'node-core'
        : functionName.startsWith('(')
          ? functionName
          : 'native';
  byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + t);
}
const show = (map, k) =>
  [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, k)
    .map(([x, t]) => `${((100 * t) / total).toFixed(1).padStart(5)}% ${x}`)
    .join('\n');
console.log(`total ${total.toFixed(0)} ms\n-- by package --\n${show(byPkg, 15)}\n-- by function (self) --\n${show(byFn, n)}`);
