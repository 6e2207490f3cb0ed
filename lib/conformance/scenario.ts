/**
 * The JSON scenario format of the conformance runner (documented in docs/conformance.md).
 *
 * A scenario is a named list of steps run against a fresh `SessionCache`. Each step is
 * one `SessionCache` operation with its arguments; sessions are named by strings the
 * scenario binds (`"as"`, or an unbound name in an expectation), ids are hex strings.
 */

import {
  Protocol,
  SSL_SESS_CACHE_BOTH,
  SSL_SESS_CACHE_CLIENT,
  SSL_SESS_CACHE_NO_AUTO_CLEAR,
  SSL_SESS_CACHE_NO_INTERNAL,
  SSL_SESS_CACHE_NO_INTERNAL_LOOKUP,
  SSL_SESS_CACHE_NO_INTERNAL_STORE,
  SSL_SESS_CACHE_OFF,
  SSL_SESS_CACHE_SERVER,
} from '../model/session_cache';

/** Operations a step may name: the methods of `SessionCache`. */
export const OPERATIONS = [
  'createSession',
  'freeSession',
  'references',
  'resumable',
  'getSessionId',
  'getSessionProtocol',
  'getSessionTime',
  'setSessionTime',
  'getSessionTimeout',
  'setSessionTimeout',
  'add',
  'remove',
  'flush',
  'get',
  'sessions',
  'count',
  'setCacheSize',
  'getCacheSize',
  'setTimeout',
  'getTimeout',
  'setCacheMode',
  'getCacheMode',
  'stats',
  'takeEvents',
  'handshake',
] as const;

export type Operation = (typeof OPERATIONS)[number];

/** A session reference in a step: a bound name, or a raw handle number. */
export type SessionRef = string | number;

export interface Step {
  /** the `SessionCache` method */
  op: Operation;
  /**
   * Its arguments by name: `session` (a name), `id` (hex), `protocol`, `time`,
   * `timeout`, `t`, `size`, `mode` (number or `"SERVER|NO_AUTO_CLEAR"`), `now`,
   * `offered` (a name). See docs/conformance.md for each operation.
   */
  args?: Record<string, unknown>;
  /** binds the session the step returns (createSession, get, handshake) to this name */
  as?: string;
  /**
   * The expected result: a value (partial for objects: only the keys given are
   * compared; sessions by name; ids as hex), or `{ "throws": CODE }` where CODE is the
   * error's `code` (e.g. `ERR_SSL_FREED`) or, for errors without one, its name
   * (`RangeError`). Omitted: not checked (but an unexpected throw fails the step).
   */
  expect?: unknown;
  /** free the session references the result hands out (sessions, get, handshake, events) */
  free?: boolean;
  /** run the step this many times (default 1); `expect` applies to every run */
  repeat?: number;
  /** a comment, shown in reports */
  note?: string;
}

/** `SessionCacheOptions` as JSON: `mode` may be names, `idContext` is hex. */
export interface ScenarioOptions {
  mode?: number | string;
  cacheSize?: number;
  timeout?: number;
  role?: 'server' | 'client';
  idContext?: string;
  verifyPeer?: boolean;
}

export interface Scenario {
  name: string;
  description?: string;
  /** `SessionCacheOptions`; `mode` may be a number or names joined by `|` */
  options?: ScenarioOptions;
  steps: Step[];
}

const MODE_NAMES: Record<string, number> = {
  OFF: SSL_SESS_CACHE_OFF,
  CLIENT: SSL_SESS_CACHE_CLIENT,
  SERVER: SSL_SESS_CACHE_SERVER,
  BOTH: SSL_SESS_CACHE_BOTH,
  NO_AUTO_CLEAR: SSL_SESS_CACHE_NO_AUTO_CLEAR,
  NO_INTERNAL_LOOKUP: SSL_SESS_CACHE_NO_INTERNAL_LOOKUP,
  NO_INTERNAL_STORE: SSL_SESS_CACHE_NO_INTERNAL_STORE,
  NO_INTERNAL: SSL_SESS_CACHE_NO_INTERNAL,
};

/** A cache mode given as a number or as `SSL_SESS_CACHE_*` names without the prefix, joined by `|`. */
export function parseMode(mode: unknown): number {
  if (typeof mode === 'number') return mode;
  if (typeof mode !== 'string') throw new TypeError(`mode must be a number or a string like "SERVER|NO_AUTO_CLEAR"`);
  let bits = 0;
  for (const part of mode.split('|')) {
    const name = part.trim().replace(/^SSL_SESS_CACHE_/, '');
    const value = MODE_NAMES[name];
    if (value === undefined) throw new RangeError(`unknown cache mode name ${JSON.stringify(part)}`);
    bits |= value;
  }
  return bits;
}

/** An id given as hex (spaces and colons allowed). */
export function parseId(value: unknown, what: string): Buffer {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a hex string`);
  const hex = value.replace(/[\s:]/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new TypeError(`${what} is not an even-length hex string: ${JSON.stringify(value)}`);
  return Buffer.from(hex, 'hex');
}

/** The arguments each operation needs (the others are optional), and which are numbers, ids, sessions. */
const REQUIRED_ARGS: Partial<Record<Operation, readonly string[]>> = {
  createSession: ['id', 'time', 'timeout'],
  freeSession: ['session'],
  references: ['session'],
  resumable: ['session'],
  getSessionId: ['session'],
  getSessionProtocol: ['session'],
  getSessionTime: ['session'],
  setSessionTime: ['session', 'time'],
  getSessionTimeout: ['session'],
  setSessionTimeout: ['session', 'timeout'],
  add: ['session'],
  remove: ['session'],
  flush: ['t'],
  get: ['id'],
  setCacheSize: ['size'],
  setTimeout: ['timeout'],
  setCacheMode: ['mode'],
  handshake: ['now'],
};
const NUMBER_ARGS = ['time', 'timeout', 't', 'size', 'now'];
const HEX_ARGS = ['id', 'idContext'];
const SESSION_ARGS = ['session', 'offered'];

/** A step's arguments checked as far as they do not depend on the run (names bound later are not checked). */
function checkArgs(op: Operation, args: Record<string, unknown>, where: string, fail: (m: string) => never): void {
  for (const key of REQUIRED_ARGS[op] ?? []) if (args[key] === undefined) fail(`${where}: argument "${key}" is missing`);
  for (const [key, value] of Object.entries(args)) {
    if (NUMBER_ARGS.includes(key) && typeof value !== 'number') fail(`${where}: argument "${key}" must be a number`);
    if (HEX_ARGS.includes(key)) {
      try {
        parseId(value, `argument "${key}"`);
      } catch (e) {
        fail(`${where}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (SESSION_ARGS.includes(key) && typeof value !== 'string' && typeof value !== 'number') fail(`${where}: argument "${key}" must be a session name or a handle number`);
    if (key === 'callback' && value !== null && typeof value !== 'string' && typeof value !== 'number') fail(`${where}: argument "callback" must be a session name, a handle number or null`);
    if (key === 'mode') {
      try {
        parseMode(value);
      } catch (e) {
        fail(`${where}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
}

function collectStrings(v: unknown, into: Set<string>): void {
  if (typeof v === 'string') into.add(v);
  else if (Array.isArray(v)) for (const x of v) collectStrings(x, into);
  else if (v !== null && typeof v === 'object') for (const x of Object.values(v)) collectStrings(x, into);
}

/** Checks the shape of a parsed scenario; throws a TypeError naming the first problem. */
export function validateScenario(value: unknown, source = 'scenario'): Scenario {
  const fail = (message: string): never => {
    throw new TypeError(`${source}: ${message}`);
  };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('must be a JSON object');
  const s = value as Record<string, unknown>;
  if (typeof s.name !== 'string' || s.name.length === 0) fail('"name" must be a non-empty string');
  if (s.description !== undefined && typeof s.description !== 'string') fail('"description" must be a string');
  if (s.options !== undefined) {
    if (s.options === null || typeof s.options !== 'object' || Array.isArray(s.options)) fail('"options" must be an object');
    const o = s.options as Record<string, unknown>;
    for (const key of Object.keys(o)) {
      if (!['mode', 'cacheSize', 'timeout', 'role', 'idContext', 'verifyPeer'].includes(key)) fail(`unknown option "${key}"`);
    }
    if (o.role !== undefined && o.role !== 'server' && o.role !== 'client') fail('option "role" must be "server" or "client"');
    try {
      if (o.idContext !== undefined) parseId(o.idContext, 'option "idContext"');
      if (o.mode !== undefined) parseMode(o.mode);
    } catch (e) {
      fail(e instanceof Error ? e.message : String(e));
    }
    if (o.verifyPeer !== undefined && typeof o.verifyPeer !== 'boolean') fail('option "verifyPeer" must be a boolean');
    for (const key of ['cacheSize', 'timeout']) {
      if (o[key] !== undefined && typeof o[key] !== 'number') fail(`option "${key}" must be a number`);
    }
  }
  if (!Array.isArray(s.steps)) fail('"steps" must be an array');
  const bound = new Set<string>();
  (s.steps as unknown[]).forEach((step, i) => {
    const where = `step ${i + 1}`;
    if (step === null || typeof step !== 'object' || Array.isArray(step)) fail(`${where} must be an object`);
    const st = step as Record<string, unknown>;
    if (!OPERATIONS.includes(st.op as Operation)) fail(`${where}: unknown "op" ${JSON.stringify(st.op)} (one of ${OPERATIONS.join(', ')})`);
    if (st.args !== undefined && (st.args === null || typeof st.args !== 'object' || Array.isArray(st.args))) {
      fail(`${where}: "args" must be an object`);
    }
    if (st.as !== undefined && (typeof st.as !== 'string' || st.as.length === 0)) fail(`${where}: "as" must be a name`);
    if (st.free !== undefined && typeof st.free !== 'boolean') fail(`${where}: "free" must be a boolean`);
    if (st.repeat !== undefined && (!Number.isSafeInteger(st.repeat) || (st.repeat as number) < 1)) {
      fail(`${where}: "repeat" must be a positive integer`);
    }
    if (st.repeat !== undefined && (st.repeat as number) > 1 && st.as !== undefined) fail(`${where}: "as" cannot be used with "repeat"`);
    for (const key of Object.keys(st)) {
      if (!['op', 'args', 'as', 'expect', 'free', 'repeat', 'note'].includes(key)) fail(`${where}: unknown key "${key}"`);
    }
    checkArgs(st.op as Operation, (st.args ?? {}) as Record<string, unknown>, `${where} (${String(st.op)})`, fail);
    // a session name must be bound before it is used: by an earlier "as", or by an
    // earlier expectation that names it
    for (const key of [...SESSION_ARGS, 'callback']) {
      const name = (st.args as Record<string, unknown> | undefined)?.[key];
      if (typeof name === 'string' && !bound.has(name)) fail(`${where} (${String(st.op)}): argument "${key}": no earlier step names a session ${JSON.stringify(name)}`);
    }
    if (typeof st.as === 'string') bound.add(st.as);
    collectStrings(st.expect, bound);
  });
  return s as unknown as Scenario;
}

/** A protocol argument (unchecked: the implementation under test decides what it accepts). */
export function protocolArg(value: unknown): Protocol | undefined {
  return value === undefined ? undefined : (value as Protocol);
}
