#!/usr/bin/env node
'use strict';
// Terminate-round stress under CPU pressure: the worker_threads test crashed with
// SIGSEGV about once in a few hundred terminate rounds when the machine was busy. This runs
// scripts/lib/workers.js (terminate rounds only, busy workers terminated while they call into
// the addon) again and again, each run in its own process, while `--pressure` busy-looping
// processes started here compete for the CPUs, and reports the crash rate.
//
//   node scripts/stress-workers.js [--runs 20] [--terminate-rounds 10] [--pressure 2]
//                                  [--workers 4] [--ops 20000] [--hot] [--valgrind] [--quiet]
//
// --hot runs scripts/lib/terminate-hot.js instead: each round terminates one worker spinning
// in a single addon call (toDER, toPEM, list, get, create, fromDER, context, handshake in
// turn), so a race inside one call is hit far more often than by the mixed workload.
// A run "crashes" when its process dies by a signal or with an exit code other than 0/1
// (ASan exits 86, UBSan 87, see scripts/test-asan.js), or prints a sanitizer report; it
// "fails" when it exits 1 (a check of workers.js did not hold). --valgrind runs every run
// under valgrind memcheck (--fair-sched=yes: thread races show up under its serialised
// scheduler too) with the suppressions and the verdict of scripts/test-valgrind.js; its
// reports count as crashes. Under ASan: `node scripts/test-asan.js --only stress` (the
// sanitizer environment is inherited by the runs). The first crash's output is printed.
// Prints STRESS-RESULT {json} last; exits 0 only without crashes and failures.
// Waits only on child-process events: no sleeps, no timing assertions.
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { compiledDist, ROOT, ensureIgnored } = require('./lib/load');

const argv = process.argv.slice(2);
const arg = (name, dflt) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : dflt);
const RUNS = arg('--runs', 20);
const ROUNDS = arg('--terminate-rounds', 10);
const PRESSURE = arg('--pressure', 2);
const WORKERS = arg('--workers', 4);
const OPS = arg('--ops', 20000);
const VALGRIND = argv.includes('--valgrind');
const QUIET = argv.includes('--quiet');
const HOT = argv.includes('--hot');

const log = (m) => {
  if (!QUIET) console.log(`[stress] ${m}`);
};

// every process started here, so that an interrupted run leaves none behind
const children = new Set();
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const c of children) c.kill('SIGKILL');
    process.exit(130);
  });
}

function startPressure(n) {
  const procs = [];
  for (let i = 0; i < n; i++) {
    const p = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore', env: { ...process.env, LD_PRELOAD: '' } });
    children.add(p);
    procs.push(p);
  }
  return procs;
}

function valgrindArgs(run, work) {
  const { suppressionFile } = require('./valgrind/suppressions');
  const supp = path.join(work, 'stress-valgrind.supp');
  if (!fs.existsSync(supp)) fs.writeFileSync(supp, suppressionFile());
  const xml = path.join(work, `stress-valgrind-${process.pid}-${run}.xml`);
  return {
    xml,
    args: [
      '--tool=memcheck',
      '--fair-sched=yes',
      '--smc-check=all-non-file',
      '--leak-check=no', // leaks are judged by npm run test:valgrind; this run hunts invalid accesses
      '--num-callers=40',
      `--suppressions=${supp}`,
      '--xml=yes',
      `--xml-file=${xml}`,
    ],
  };
}

function runOnce(run, env, work) {
  const script = HOT
    ? [path.join(__dirname, 'lib', 'terminate-hot.js'), '--rounds', String(ROUNDS), '--seed', String(run)]
    : [
        path.join(__dirname, 'lib', 'workers.js'),
        '--workers', String(WORKERS), '--ops', String(OPS), '--full-rounds', '0',
        '--terminate-rounds', String(ROUNDS), '--terminate-mode', 'busy', '--seed', String(run + 1),
      ];
  let cmd = process.execPath;
  let args = script;
  let vg;
  if (VALGRIND) {
    vg = valgrindArgs(run, work);
    cmd = 'valgrind';
    args = [...vg.args, process.execPath, ...script];
  }
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err = (err + d).slice(-200000)));
    child.on('close', (status, signal) => {
      children.delete(child);
      const tag = HOT ? 'HOT-RESULT ' : 'WORKERS-RESULT ';
      const line = out.split('\n').find((l) => l.startsWith(tag));
      const result = line ? JSON.parse(line.slice(tag.length)) : undefined;
      const text = out + err;
      const sanitizer = (text.match(/ERROR: AddressSanitizer|runtime error:/g) || []).length;
      let valgrindFailures = [];
      if (vg) {
        const { parse, judge } = require('./test-valgrind');
        if (fs.existsSync(vg.xml)) {
          valgrindFailures = judge(parse(fs.readFileSync(vg.xml, 'utf8'))).failures;
          fs.rmSync(vg.xml, { force: true });
        } else valgrindFailures = [{ why: 'valgrind wrote no XML report', e: { kind: '?', what: '', frames: [] } }];
      }
      const crashed = signal !== null || (status !== 0 && status !== 1) || sanitizer > 0 || valgrindFailures.length > 0;
      resolve({ run, status, signal, result, sanitizer, valgrindFailures, crashed, failed: !crashed && (status !== 0 || !result || !result.ok), tail: text.slice(-6000) });
    });
  });
}

async function main() {
  const work = path.join(ROOT, 'build-check');
  ensureIgnored(work);
  const env = { ...process.env, OSC_DIST: compiledDist() };
  const pressure = startPressure(PRESSURE);
  log(`${RUNS} runs x ${ROUNDS} terminate rounds (${HOT ? 'terminate-hot.js: 1 worker in a hot addon call each' : `${WORKERS} busy workers each, ${OPS >> 2} ops`}), ${PRESSURE} busy processes beside them${VALGRIND ? ', under valgrind' : ''}${process.env.OSC_ADDON ? `, addon ${process.env.OSC_ADDON}` : ''}`);
  const summary = { runs: 0, terminateRounds: 0, crashes: 0, failures: 0, sanitizerReports: 0, valgrindReports: 0, workersTerminated: 0, crashedRuns: [], failedRuns: [] };
  let firstCrash;
  try {
    for (let run = 0; run < RUNS; run++) {
      const r = await runOnce(run, env, work);
      summary.runs++;
      summary.terminateRounds += ROUNDS;
      summary.sanitizerReports += r.sanitizer;
      summary.valgrindReports += r.valgrindFailures.length;
      if (r.result) summary.workersTerminated += HOT ? r.result.terminated : r.result.workersTerminated;
      if (r.crashed) {
        summary.crashes++;
        summary.crashedRuns.push({ run: r.run, status: r.status, signal: r.signal });
        if (!firstCrash) firstCrash = r;
      } else if (r.failed) {
        summary.failures++;
        summary.failedRuns.push({ run: r.run, status: r.status, errors: r.result ? r.result.errors.slice(0, 3) : ['no result'] });
      }
      log(`run ${run + 1}/${RUNS}: ${r.crashed ? `CRASH (exit ${r.status}${r.signal ? ' ' + r.signal : ''}${r.sanitizer ? `, ${r.sanitizer} sanitizer reports` : ''}${r.valgrindFailures.length ? `, ${r.valgrindFailures.length} valgrind reports` : ''})` : r.failed ? 'FAILED' : 'ok'}; crashes so far ${summary.crashes} in ${summary.terminateRounds} rounds`);
    }
  } finally {
    for (const p of pressure) p.kill('SIGKILL');
  }
  summary.crashRate = summary.terminateRounds ? summary.crashes / summary.terminateRounds : 0;
  if (firstCrash) {
    console.log(`[stress] first crash (run ${firstCrash.run + 1}): exit ${firstCrash.status} ${firstCrash.signal || ''}\n${firstCrash.tail}`);
    for (const f of firstCrash.valgrindFailures.slice(0, 3)) {
      console.log(`[stress] valgrind: ${f.why}: ${f.e.kind} ${f.e.what}\n${f.e.frames.slice(0, 16).map((x) => `      ${x.fn}  (${path.basename(x.obj)}${x.file ? ` ${x.file}:${x.line}` : ''})`).join('\n')}`);
    }
  }
  console.log(`STRESS-RESULT ${JSON.stringify(summary)}`);
  process.exit(summary.crashes === 0 && summary.failures === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
