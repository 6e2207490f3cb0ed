#!/usr/bin/env node
/**
 * openssl-session-cache conformance [--reporter table|json|junit|tap] [--json] [--model MODULE | --shim COMMAND] [--step-timeout MS]
 *   [--declared FILE] [--runs N] [--seed S] [--profile P] [--weight KIND=N …] [--no-guided]
 *   [--replay SEED:SEQUENCE] [--save-failures DIR] [--grep REGEXP] [--no-catalogue] [SCENARIO.json …]
 *
 * Runs the built-in catalogue of OpenSSL 1.0.2h session-cache scenarios (and the given
 * scenario files) against real OpenSSL, or with --model against a user's SessionCache
 * implementation plus random sequences compared with real OpenSSL. Exit status: 0 when
 * everything passed, 1 when anything failed, 2 on a usage error (one line on stderr:
 * an unknown option, a missing or invalid scenario file, a module that cannot be loaded
 * or lacks SessionCache methods), 3 on an internal error. See docs/conformance.md.
 */

import { parseArgs } from 'node:util';
import { formatReport, parseWeights, profileNamed, RANDOM_OP_KINDS, REPORTERS, Reporter, runConformance, UsageError } from './conformance';

const USAGE =
  'usage: openssl-session-cache conformance [--reporter table|json|junit|tap] [--json] [--model MODULE | --shim COMMAND] ' +
  '[--step-timeout MS] [--jobs N] [--declared FILE] ' +
  '[--runs N] [--seed S] [--profile default|server-only|expiry|auto-flush|auto-flush-no-clear|cache-full] [--weight KIND=N ...] [--no-guided] ' +
  '[--replay SEED:SEQUENCE] [--save-failures DIR] [--grep REGEXP] [--no-catalogue] [SCENARIO.json ...]';

function integer(option: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(v) || v < 0) throw new UsageError(`--${option} needs a non-negative integer, got ${JSON.stringify(text)}`);
  return v;
}

function replayArg(text: string | undefined): { seed: number; sequence: number } | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+):(\d+)$/.exec(text);
  if (m === null || Number(m[2]) < 1) throw new UsageError(`--replay needs SEED:SEQUENCE (the sequence from 1), got ${JSON.stringify(text)}`);
  return { seed: Number(m[1]), sequence: Number(m[2]) };
}

function main(argv: string[]): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        json: { type: 'boolean' },
        reporter: { type: 'string' },
        model: { type: 'string' },
        shim: { type: 'string' },
        'step-timeout': { type: 'string' },
        jobs: { type: 'string' },
        declared: { type: 'string' },
        runs: { type: 'string' },
        seed: { type: 'string' },
        replay: { type: 'string' },
        'save-failures': { type: 'string' },
        grep: { type: 'string' },
        'no-catalogue': { type: 'boolean' },
        profile: { type: 'string' },
        weight: { type: 'string', multiple: true },
        'no-guided': { type: 'boolean' },
      },
    });
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const message = e instanceof Error ? e.message : String(e);
    const option = /'(-[^' ]+)/.exec(message)?.[1];
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option !== undefined) throw new UsageError(`unknown option ${option}`);
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option !== undefined) throw new UsageError(`${option} needs a value`);
    throw new UsageError(message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const [command, ...files] = positionals;
  if (command === undefined) throw new UsageError('a command is needed: conformance');
  if (command !== 'conformance') throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  let reporter: Reporter = values.json ? 'json' : 'table';
  if (values.reporter !== undefined) {
    if (!(REPORTERS as readonly string[]).includes(values.reporter)) {
      throw new UsageError(`--reporter must be one of ${REPORTERS.join(', ')}, got ${JSON.stringify(values.reporter)}`);
    }
    reporter = values.reporter as Reporter;
  }
  const replay = replayArg(values.replay);
  if (replay !== undefined && values.model === undefined && values.shim === undefined) {
    throw new UsageError('--replay needs --model or --shim (random sequences compare an implementation with OpenSSL)');
  }
  const result = runConformance({
    model: values.model,
    shim: values.shim,
    stepTimeout: integer('step-timeout', values['step-timeout']),
    jobs: integer('jobs', values.jobs),
    declaredFile: values.declared,
    runs: integer('runs', values.runs),
    seed: integer('seed', values.seed),
    replay,
    saveFailures: values['save-failures'],
    grep: values.grep,
    noCatalogue: values['no-catalogue'] === true,
    profile: values.profile === undefined ? undefined : profileNamed(values.profile),
    guided: values['no-guided'] !== true,
    weights: parseWeights(values.weight ?? [], RANDOM_OP_KINDS),
    scenarioFiles: files,
  });
  process.stdout.write(formatReport(result, reporter) + '\n');
  return result.passed ? 0 : 1;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  if (e instanceof UsageError) {
    process.stderr.write(`openssl-session-cache: ${e.message.split('\n')[0]} (--help for usage)\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`openssl-session-cache: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 3;
  }
}
