#!/usr/bin/env node
/**
 * openssl-session-cache conformance [--json] [--model MODULE] [--runs N] [--seed S] [SCENARIO.json …]
 *
 * Runs the built-in catalogue of OpenSSL 1.0.2h session-cache scenarios (and the given
 * scenario files) against real OpenSSL, or with --model against a user's SessionCache
 * implementation plus random sequences compared with real OpenSSL. Prints a table;
 * exit status 0 when everything passed, 1 on any failure, 2 on a usage error.
 * See docs/conformance.md.
 */

import { formatConformanceTable, runConformance } from './conformance';

const USAGE =
  'usage: openssl-session-cache conformance [--json] [--model MODULE] [--runs N] [--seed S] [--no-catalogue] [SCENARIO.json ...]';

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h' || command === undefined) {
    process.stdout.write(USAGE + '\n');
    return command === undefined ? 2 : 0;
  }
  if (command !== 'conformance') {
    process.stderr.write(`unknown command ${JSON.stringify(command)}\n${USAGE}\n`);
    return 2;
  }
  let json = false;
  let model: string | undefined;
  let runs: number | undefined;
  let seed: number | undefined;
  let noCatalogue = false;
  const files: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    const value = (): string => {
      const v = rest[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    const integer = (): number => {
      const v = Number(value());
      if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${arg} needs a non-negative integer`);
      return v;
    };
    if (arg === '--json') json = true;
    else if (arg === '--model') model = value();
    else if (arg === '--runs') runs = integer();
    else if (arg === '--seed') seed = integer();
    else if (arg === '--no-catalogue') noCatalogue = true;
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write(USAGE + '\n');
      return 0;
    } else if (arg.startsWith('--')) throw new Error(`unknown option ${arg}`);
    else files.push(arg);
  }
  const result = runConformance({ model, runs, seed, noCatalogue, scenarioFiles: files });
  process.stdout.write((json ? JSON.stringify(result, null, 2) : formatConformanceTable(result)) + '\n');
  return result.passed ? 0 : 1;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`openssl-session-cache: ${e instanceof Error ? e.message : String(e)}\n${USAGE}\n`);
  process.exitCode = 2;
}
