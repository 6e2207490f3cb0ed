/**
 * A worker of `--jobs N`. In a worker thread it runs its share of the drawn random
 * sequences in a child process of its own (OpenSSL's clock is pinned per process during a
 * handshake, so two handshakes must not share a process) and writes what that found into
 * the shared buffer the main thread waits on. In the child (`node search_worker.js
 * --child`, the job on stdin) it runs the sequences against real OpenSSL and the model
 * (loaded from its module), stopping at the first divergence, and prints the result.
 */

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { isMainThread, workerData } from 'node:worker_threads';
import { OpenSSLCache } from './openssl_cache';
import { SessionCacheOptions } from '../model/session_cache';
import { DeclaredDifferences } from './declared';
import { DifferentialRunner } from './differential_runner';
import { loadCacheFactory } from './model_loader';
import { RandomOp } from './random_ops';
import { Shim, modelHostCommand } from './shim_cache';

interface Job {
  model: string;
  cwd: string;
  declared: DeclaredDifferences;
  /** the module runs in a child process of its own with this step timeout (model_host.ts) */
  stepTimeout?: number;
  items: { index: number; options: Omit<SessionCacheOptions, 'idContext'> & { idContext?: unknown }; ops: RandomOp[] }[];
}

function runJob(job: Job): unknown {
  const shim = job.stepTimeout === undefined ? undefined : new Shim(modelHostCommand(job.model, job.cwd), { stepTimeout: job.stepTimeout, cwd: job.cwd, noun: 'model' });
  try {
    const runner = new DifferentialRunner((o) => new OpenSSLCache(o), shim?.factory() ?? loadCacheFactory(job.model, job.cwd), job.declared);
    let diverged: number | null = null;
    for (const item of job.items) {
      const ctx = item.options.idContext as { hex?: string } | undefined;
      const options: SessionCacheOptions = { ...item.options, idContext: ctx === undefined ? undefined : Buffer.from(ctx.hex ?? '', 'hex') } as SessionCacheOptions;
      if (options.idContext === undefined) delete options.idContext;
      if (runner.runRecorded(item.ops, options) !== undefined) {
        diverged = item.index;
        break;
      }
    }
    return { diverged, coverage: [...runner.coverage], branches: [...runner.branches], tally: [...runner.tally] };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  } finally {
    shim?.close();
  }
}

if (isMainThread && process.argv.includes('--child')) {
  process.stdout.write(JSON.stringify(runJob(JSON.parse(fs.readFileSync(0, 'utf8')) as Job)));
} else if (!isMainThread) {
  const d = workerData as Job & { status: SharedArrayBuffer; slot: number; out: SharedArrayBuffer };
  const job: Job = {
    model: d.model,
    cwd: d.cwd,
    declared: d.declared,
    stepTimeout: d.stepTimeout,
    items: d.items.map((item) => ({
      ...item,
      options: { ...item.options, idContext: item.options.idContext === undefined ? undefined : { hex: Buffer.from(item.options.idContext as Uint8Array).toString('hex') } },
    })),
  };
  const child = spawnSync(process.execPath, [__filename, '--child'], { input: JSON.stringify(job), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const text = child.status === 0 ? child.stdout : JSON.stringify({ error: `the job process failed (${child.signal ?? `status ${String(child.status)}`}): ${(child.stderr ?? '').trim().split('\n').pop() ?? ''}` });
  const bytes = Buffer.from(text, 'utf8');
  const out = new Uint8Array(d.out);
  const status = new Int32Array(d.status);
  if (bytes.length <= out.length) out.set(bytes);
  Atomics.store(status, d.slot * 2 + 1, bytes.length <= out.length ? bytes.length : -1);
  Atomics.store(status, d.slot * 2, 1);
  Atomics.add(status, status.length - 1, 1);
  Atomics.notify(status, status.length - 1);
}
