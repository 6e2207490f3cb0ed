// Re-entrancy: 'newSession' / 'removeSession' listeners and the get
// callback call back into the SAME context — read, add (a new session / the event's own
// session), remove (another cached session / the event's own), flush, free, throw — for
// every way OpenSSL produces the callback (handshake, remove, evict, flush, free,
// handshake without shutdown, get callback during a handshake). The matrix runs in a child
// process (test/fixtures/5x-reentrancy.js) so a deadlock or crash fails these tests
// instead of hanging jest. Each combination must either work or be refused with a typed
// error, and leave a consistent cache: list = count = lookups, exact reference counts,
// all references returned once the context is flushed or freed.
import * as path from 'path';
import { runNode } from './helpers/children';

const root = path.resolve(__dirname, '..');
const { TRIGGERS, ACTIONS } = require('./fixtures/5x-reentrancy.js') as { TRIGGERS: string[]; ACTIONS: string[] };

interface Outcome {
  ok?: unknown;
  id?: string;
  threw?: string;
  error?: { name: string; code?: string; message: string; typed: boolean };
}
interface Report {
  trigger: string;
  action: string;
  fired: boolean;
  events: [string, string | null, string][];
  triggerResult?: Outcome;
  actionResult?: Outcome;
  state: {
    freed: boolean;
    count?: number;
    statsNumber?: number;
    ids?: string[];
    unique?: boolean;
    refsOk?: boolean;
    lookupsOk?: boolean;
    addAfter?: boolean;
    removeAfter?: boolean;
    countAfterFlush?: number;
    heldRefs: number[];
  };
}

let reports: Record<string, Report> = {};
let child: { status: number | null; signal: string | null; stderr: string };

// a deadlock ends at jest's timeout for this hook (no spawnSync clock deciding on a busy machine)
beforeAll(async () => {
  const r = await runNode(path.join(root, 'test/fixtures/5x-reentrancy.js'), [], { cwd: root });
  child = { status: r.status, signal: r.signal, stderr: r.stderr };
  const line = (r.stdout || '').split('\n').find((l) => l.startsWith('REENTRANCY '));
  if (line) reports = JSON.parse(line.slice('REENTRANCY '.length));
}, 180000);

test('the matrix ran to the end: no deadlock, no crash', () => {
  expect({ status: child.status, signal: child.signal }).toEqual({ status: 0, signal: null });
  expect(Object.keys(reports)).toHaveLength(TRIGGERS.length * ACTIONS.length);
});

const REASON: Record<string, string> = {
  'removeSession:remove': 'remove',
  'removeSession:evict': 'evict',
  'removeSession:flush': 'flush',
  'removeSession:free': 'free',
  'removeSession:handshake': 'handshake',
};

describe.each(TRIGGERS)('%s', (trigger) => {
  test.each(ACTIONS)(`${trigger} × %s`, (action) => {
    const r = reports[`${trigger} × ${action}`];
    expect(r).toBeDefined();
    expect(r.fired).toBe(true);
    const first = r.events[0];
    if (trigger === 'getSessionCallback') expect(first[0]).toBe('get');
    else if (trigger === 'newSession:handshake') expect(first[0]).toBe('new');
    else expect(first.slice(0, 2)).toEqual(['remove', REASON[trigger]]);

    // the trigger: works, or (listener threw) the listener's error comes back, typed
    if (action === 'throw') {
      expect(r.triggerResult?.error?.code).toBe('ERR_TEST_LISTENER');
    } else {
      expect(r.triggerResult).toHaveProperty('ok');
    }
    // the action: works, or is refused with a typed error
    const refused = trigger === 'removeSession:free' && !['none', 'free', 'throw'].includes(action);
    if (refused) {
      // the context is already freed when its 'free' events are delivered
      expect(r.actionResult?.error).toMatchObject({ code: 'ERR_SSL_FREED', typed: true });
    } else if (action !== 'throw') {
      expect(r.actionResult).toHaveProperty('ok');
    }

    const st = r.state;
    const freedByTrigger = trigger === 'removeSession:free';
    expect(st.freed).toBe(action === 'free' || freedByTrigger);
    if (!st.freed) {
      expect(st.unique).toBe(true);
      expect(st.ids).toHaveLength(st.count!);
      expect(st.statsNumber).toBe(st.count);
      expect(st.lookupsOk).toBe(true);
      // also when handshake() rethrows a listener/get-callback error: it frees its result
      expect(st.refsOk).toBe(true);
      expect(st.addAfter).toBe(true);
      expect(st.removeAfter).toBe(true);
      expect(st.countAfterFlush).toBe(0);
    }
    // every session object we still hold is ours alone: the cache gave back its references
    expect(st.heldRefs.every((n) => n === 1)).toBe(true);

    // what the action did is visible in the cache
    const res = r.actionResult;
    if (!st.freed && res && 'ok' in res) {
      if (action === 'addSession:new') {
        expect(res.ok).toBe(true);
        expect(st.ids).toContain(res.id);
      }
      if (action === 'removeSession:other') {
        expect(res.ok).toBe(true);
        expect(st.ids).not.toContain(res.id);
      }
      if (action === 'flushSessions') {
        // emptied; a handshake that was still running adds its new session afterwards
        expect(st.count).toBe(trigger === 'getSessionCallback' ? 1 : 0);
      }
      if (action === 'addSession:same' && trigger.startsWith('removeSession:') && res.ok === true) {
        // re-adding a session while its removal is being reported puts it back (not resumable)
        expect(st.ids).toContain(res.id);
      }
    }
  });
});

test('the get callback decides resumption even while it calls into the context', () => {
  expect(reports['getSessionCallback × none'].triggerResult?.ok).toEqual({ resumed: true });
  expect(reports['getSessionCallback × read'].triggerResult?.ok).toEqual({ resumed: true });
  // adding the store's copy to the cache and returning that very object resumes too
  expect(reports['getSessionCallback × addSession:same'].triggerResult?.ok).toEqual({ resumed: true });
  // freeing the context from inside the callback: the handshake still completes (full)
  expect(reports['getSessionCallback × free'].triggerResult?.ok).toEqual({ resumed: false });
});
