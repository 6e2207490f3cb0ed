/**
 * Executes one scenario step against a `SessionCache`: resolves names and hex ids into
 * the method's arguments, calls it, and returns the outcome with the handles it hands
 * out marked (`{ $handle: n }`) so callers can name and compare them.
 */

import { CreateSessionOptions, HandshakeOptions, SessionCache, SessionHandle } from '../model/session_cache';
import { NameTable } from './name_table';
import { ScenarioError } from './scenario_error';
import { Operation, SessionRef, Step, parseId, parseMode, protocolArg } from './scenario';

/** A session handle inside an outcome. */
export interface HandleMark {
  $handle: SessionHandle;
}

export type Outcome = { ok: true; value: unknown } | { ok: false; error: string; message: string };


export function isHandleMark(v: unknown): v is HandleMark {
  return typeof v === 'object' && v !== null && typeof (v as HandleMark).$handle === 'number' && Object.keys(v).length === 1;
}

const mark = (h: SessionHandle): HandleMark => ({ $handle: h });

/** The `code` of an error, or its name when it has no string code. */
export function errorKind(e: unknown): string {
  if (e !== null && typeof e === 'object') {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const name = (e as { name?: unknown }).name;
    if (typeof name === 'string') return name;
  }
  return 'Error';
}

function resolveSession(ref: unknown, names: NameTable, what: string): SessionHandle {
  if (typeof ref === 'number') return ref;
  if (typeof ref !== 'string') throw new ScenarioError(`${what} must be a session name or a handle number`);
  const h = names.lookup(ref);
  if (h === undefined) throw new ScenarioError(`${what}: no session is named ${JSON.stringify(ref)} yet`);
  return h;
}

function num(args: Record<string, unknown>, key: string, op: Operation): number {
  const v = args[key];
  if (typeof v !== 'number') throw new ScenarioError(`${op}: argument "${key}" must be a number`);
  return v;
}

/** Calls the operation; throws ScenarioError for malformed steps, lets the cache's own errors through. */
function call(cache: SessionCache, step: Step, names: NameTable): unknown {
  const args = step.args ?? {};
  const session = (): SessionHandle => resolveSession(args.session, names, `${step.op}: argument "session"`);
  switch (step.op) {
    case 'createSession': {
      const options: CreateSessionOptions = {
        id: parseId(args.id, 'createSession: argument "id"'),
        time: num(args, 'time', step.op),
        timeout: num(args, 'timeout', step.op),
      };
      const protocol = protocolArg(args.protocol);
      if (protocol !== undefined) options.protocol = protocol;
      if (args.idContext !== undefined) options.idContext = parseId(args.idContext, 'createSession: argument "idContext"');
      return mark(cache.createSession(options));
    }
    case 'freeSession':
      return cache.freeSession(session()) ?? null;
    case 'references':
      return cache.references(session());
    case 'resumable':
      return cache.resumable(session());
    case 'getSessionId':
      return cache.getSessionId(session()).toString('hex');
    case 'getSessionProtocol':
      return cache.getSessionProtocol(session());
    case 'getSessionTime':
      return cache.getSessionTime(session());
    case 'setSessionTime':
      return cache.setSessionTime(session(), num(args, 'time', step.op)) ?? null;
    case 'getSessionTimeout':
      return cache.getSessionTimeout(session());
    case 'setSessionTimeout':
      return cache.setSessionTimeout(session(), num(args, 'timeout', step.op)) ?? null;
    case 'add':
      return cache.add(session());
    case 'remove':
      return cache.remove(session());
    case 'flush':
      return cache.flush(num(args, 't', step.op)) ?? null;
    case 'get': {
      const id = parseId(args.id, 'get: argument "id"');
      const protocol = protocolArg(args.protocol);
      const h = protocol === undefined ? cache.get(id) : cache.get(id, protocol);
      return h === undefined ? null : mark(h);
    }
    case 'sessions':
      return cache.sessions().map(mark);
    case 'count':
      return cache.count();
    case 'setCacheSize':
      return cache.setCacheSize(num(args, 'size', step.op));
    case 'getCacheSize':
      return cache.getCacheSize();
    case 'setTimeout':
      return cache.setTimeout(num(args, 'timeout', step.op));
    case 'getTimeout':
      return cache.getTimeout();
    case 'setCacheMode':
      return cache.setCacheMode(parseMode(args.mode));
    case 'getCacheMode':
      return cache.getCacheMode();
    case 'stats':
      return { ...cache.stats() };
    case 'takeEvents':
      return cache.takeEvents().map((e) => ({ type: e.type, session: mark(e.session) }));
    case 'handshake': {
      const options: HandshakeOptions = { now: num(args, 'now', step.op) };
      if (args.offered !== undefined) options.offered = resolveSession(args.offered as SessionRef, names, 'handshake: argument "offered"');
      if (args.id !== undefined) options.id = parseId(args.id, 'handshake: argument "id"');
      if (args.callback === null) options.callback = null;
      else if (args.callback !== undefined) options.callback = resolveSession(args.callback as SessionRef, names, 'handshake: argument "callback"');
      const r = cache.handshake(options);
      return { resumed: r.resumed, session: mark(r.session) };
    }
  }
}

/** The handle marks inside a value, in order. */
export function marksOf(value: unknown): SessionHandle[] {
  if (isHandleMark(value)) return [value.$handle];
  if (Array.isArray(value)) return value.flatMap(marksOf);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(marksOf);
  return [];
}

/**
 * Runs one execution of `step`: binds `as`, frees the handed-out references when
 * `step.free`. ScenarioError (a malformed step) propagates; the cache's errors become
 * the outcome.
 */
export function executeStep(cache: SessionCache, step: Step, names: NameTable): Outcome {
  let value: unknown;
  try {
    value = call(cache, step, names);
  } catch (e) {
    if (e instanceof ScenarioError) throw e;
    return { ok: false, error: errorKind(e), message: e instanceof Error ? e.message : String(e) };
  }
  if (step.as !== undefined) {
    const marks = marksOf(value);
    if (marks.length !== 1) throw new ScenarioError(`"as" needs a step that returns one session (${step.op} returned ${marks.length})`);
    names.bind(step.as, marks[0]);
  }
  return { ok: true, value };
}

/** Frees the references an outcome handed out (for `"free": true`). */
export function freeOutcome(cache: SessionCache, outcome: Outcome): void {
  if (!outcome.ok) return;
  for (const h of marksOf(outcome.value)) cache.freeSession(h);
}

/** A JSON rendering of a value with handles replaced by their names. */
export function renderValue(value: unknown, names: NameTable): unknown {
  if (isHandleMark(value)) return names.nameOf(value.$handle);
  if (Array.isArray(value)) return value.map((v) => renderValue(v, names));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderValue(v, names)]));
  }
  return value;
}

/** An outcome as text: the rendered value, or `throws CODE`. */
export function renderOutcome(outcome: Outcome, names: NameTable): string {
  return outcome.ok ? JSON.stringify(renderValue(outcome.value, names)) ?? 'undefined' : `throws ${outcome.error}`;
}

/** A step as one readable line: `handshake {"offered":"s1","now":1000} as s2`. */
export function formatStep(step: Step): string {
  const args = step.args && Object.keys(step.args).length > 0 ? ' ' + JSON.stringify(step.args) : '';
  const as = step.as !== undefined ? ` as ${step.as}` : '';
  const repeat = step.repeat !== undefined && step.repeat > 1 ? ` ×${step.repeat}` : '';
  const free = step.free ? ' (free)' : '';
  return `${step.op}${args}${as}${repeat}${free}`;
}
