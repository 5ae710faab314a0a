// bench/peers/runcommand.mjs - ComputeSDK's per-call cost, the peer of
// bench/dispatch's run_command figures.
//
// Creates one sandbox of the in-memory provider (provider.mjs, defined
// with ComputeSDK's defineProvider) and times N `sandbox.runCommand('true')`
// calls through ComputeSDK's sandbox wrapper, and for reference N calls of
// the provider's own runCommand method without the wrapper (the "direct"
// side, as in bench/dispatch).  A warm-up, then several rounds with the two
// sides interleaved; the median round is reported.  Prints one
// machine-readable line:
//
//   peer: name=computesdk package=@computesdk/provider@2.1.5 node=v20... \
//         method=runCommand ns=... cps=... lo_ns=... hi_ns=... \
//         direct_ns=... n=... rounds=...
//
// Usage: node runcommand.mjs [-n CALLS] [-r ROUNDS] [-w WARMUP] [CALLS]
import { readFileSync } from 'node:fs';
import { memoryMethods, memoryProvider } from './provider.mjs';

function parseCount(s, what) {
  const v = Number(s);
  if (!Number.isFinite(v) || v < 1) {
    console.error(`runcommand: ${what}: '${s}' is not a count (e.g. 1e6)`);
    process.exit(2);
  }
  return Math.floor(v);
}

let n = 1e6;
let rounds = 5;
let warm = 0;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if ((a === '-n' || a === '-r' || a === '-w') && i + 1 < args.length) {
    const v = parseCount(args[++i], a);
    if (a === '-n') n = v;
    else if (a === '-r') rounds = v;
    else warm = v;
  } else if (/^[0-9]/.test(a)) {
    n = parseCount(a, 'CALLS');
  } else {
    console.error('usage: node runcommand.mjs [-n CALLS] [-r ROUNDS] [-w WARMUP] [CALLS]');
    process.exit(2);
  }
}
if (!warm) warm = Math.max(1, Math.floor(n / 10));

const pkgVersion = JSON.parse(
  readFileSync(
    new URL('./node_modules/@computesdk/provider/package.json', import.meta.url),
    'utf8',
  ),
).version;

const provider = memoryProvider({});
const sandbox = await provider.sandbox.create();
const native = sandbox.getInstance();

// The peer must really run the command: check with echo's output.
const check = await sandbox.runCommand('echo hi');
if (check.stdout !== 'hi\n' || check.exitCode !== 0) {
  console.error(`runcommand: echo hi gave ${JSON.stringify(check)}`);
  process.exit(1);
}

function failed(bad, count, side) {
  console.error(`runcommand: ${side}: ${bad} of ${count} calls failed`);
  process.exit(1);
}

// Through ComputeSDK: the sandbox object defineProvider's factory made.
async function loopWrapped(count) {
  let bad = 0;
  for (let i = 0; i < count; i++) {
    const r = await sandbox.runCommand('true');
    if (r.exitCode !== 0) bad++;
  }
  if (bad) failed(bad, count, 'wrapped');
}

// The provider's method itself, as ComputeSDK's wrapper calls it.
async function loopDirect(count) {
  let bad = 0;
  for (let i = 0; i < count; i++) {
    const r = await memoryMethods.runCommand(native, 'true');
    if (r.exitCode !== 0) bad++;
  }
  if (bad) failed(bad, count, 'direct');
}

async function time(loop) {
  const t0 = process.hrtime.bigint();
  await loop(n);
  return Number(process.hrtime.bigint() - t0) / n;
}

await loopWrapped(warm);
await loopDirect(warm);
const wrapped = [];
const direct = [];
for (let r = 0; r < rounds; r++) {
  wrapped.push(await time(loopWrapped));
  direct.push(await time(loopDirect));
}
await sandbox.destroy();

function median(v) {
  const s = [...v].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const ns = median(wrapped);
console.log(
  `peer: name=computesdk package=@computesdk/provider@${pkgVersion} node=${process.version} ` +
    `method=runCommand ns=${ns.toFixed(1)} cps=${(1e9 / ns).toFixed(0)} ` +
    `lo_ns=${Math.min(...wrapped).toFixed(1)} hi_ns=${Math.max(...wrapped).toFixed(1)} ` +
    `direct_ns=${median(direct).toFixed(1)} n=${n} rounds=${rounds}`,
);
