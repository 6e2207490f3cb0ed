#!/usr/bin/env node
/**
 * openssl-session-cache conformance [--reporter table|json|junit|tap] [--json] [--model MODULE]
 *                                   [--runs N] [--seed S] [--no-catalogue] [SCENARIO.json …]
 *
 * Runs the built-in catalogue of OpenSSL 1.0.2h session-cache scenarios (and the given
 * scenario files) against real OpenSSL, or with --model against a user's SessionCache
 * implementation plus random sequences compared with real OpenSSL. Exit status: 0 when
 * everything passed, 1 when anything failed, 2 on a usage error (one line on stderr:
 * an unknown option, a missing or invalid scenario file, a module that cannot be loaded
 * or lacks SessionCache methods), 3 on an internal error. See docs/conformance.md.
 */

import { formatReport, REPORTERS, Reporter, runConformance, UsageError } from './conformance';

const USAGE =
  'usage: openssl-session-cache conformance [--reporter table|json|junit|tap] [--json] [--model MODULE] [--runs N] [--seed S] [--no-catalogue] [SCENARIO.json ...]';

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (command === undefined) throw new UsageError('a command is needed: conformance');
  if (command !== 'conformance') throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  let reporter: Reporter = 'table';
  let model: string | undefined;
  let runs: number | undefined;
  let seed: number | undefined;
  let noCatalogue = false;
  const files: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    const value = (): string => {
      const v = rest[++i];
      if (v === undefined) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    const integer = (): number => {
      const v = Number(value());
      if (!Number.isSafeInteger(v) || v < 0) throw new UsageError(`${arg} needs a non-negative integer`);
      return v;
    };
    if (arg === '--json') reporter = 'json';
    else if (arg === '--reporter') {
      const r = value();
      if (!(REPORTERS as readonly string[]).includes(r)) throw new UsageError(`--reporter must be one of ${REPORTERS.join(', ')}, got ${JSON.stringify(r)}`);
      reporter = r as Reporter;
    } else if (arg === '--model') model = value();
    else if (arg === '--runs') runs = integer();
    else if (arg === '--seed') seed = integer();
    else if (arg === '--no-catalogue') noCatalogue = true;
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write(USAGE + '\n');
      return 0;
    } else if (arg.startsWith('--')) throw new UsageError(`unknown option ${arg}`);
    else files.push(arg);
  }
  const result = runConformance({ model, runs, seed, noCatalogue, scenarioFiles: files });
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
