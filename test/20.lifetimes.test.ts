// Lifetimes under garbage collection: each JS object owns
// one native reference, dropped by FinalizationRegistry when collected or at once by free().
// Run in a child `node --expose-gc` so that gc() is real and the heap is private.
import * as path from 'path';
import { runNode } from './helpers/children';

let result: Record<string, any>;

// bounded by jest's timeout only (a spawnSync timeout would decide the outcome on a busy machine)
beforeAll(async () => {
  const script = path.join(__dirname, 'fixtures', 'lifetimes.js');
  const r = await runNode(script, [], { cwd: path.resolve(__dirname, '..'), nodeArgs: ['--expose-gc'] });
  if (r.status !== 0) throw new Error(`lifetimes.js exited with ${r.status ?? r.signal}: ${r.stderr}${r.stdout}`);
  const line = r.stdout.trim().split('\n').pop()!;
  result = JSON.parse(line);
}, 180000);

describe('reference counts under garbage collection', () => {
  test('the child ran to the end', () => {
    expect(result.error).toBeUndefined();
    expect(result.survivedChurn).toBe(true);
  });

  test('a cached session whose JS object was collected stays cached: cache + lookup = 2', () => {
    expect(result.cachedAfterGc).toEqual({ references: 2, time: 4242 });
  });

  test('collected lookup objects (getSession, sessions()) release their references', () => {
    // lookups while the object is alive return it: one reference in all
    expect(result.beforeGcWithGarbage).toBe(2);
    expect(result.afterGcGarbageCollected).toBe(2);
  });

  test('free() drops the reference at once; a later GC does not drop it twice', () => {
    expect(result.freeBefore).toBe(2);
    expect(result.lookupIsKeep).toBe(true);
    expect(result.watcherIsNew).toBe(true);
    expect(result.freeAfterKeepFree).toBe(2);
    expect(result.freeAfterGc).toBe(2);
  });

  test('an event object nobody keeps is released when collected', () => {
    expect(result.eventObjectCollected).toBe(1);
  });

  test('a collected context frees its cache references (SSL_CTX_free → flush(0))', () => {
    expect(result.contextBeforeGc).toBe(2);
    expect(result.contextAfterGc).toBe(1);
    expect(result.contextAfterGcResumable).toBe(false);
  });
});
