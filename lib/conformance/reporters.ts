/**
 * Reports of a conformance run for CI: `table` (people), `json` (programs), `junit`
 * (JUnit XML: one <testcase> per scenario, read by CI systems) and `tap` (TAP version 13,
 * as `node --test` and TAP consumers read it). A failed case carries what differed and,
 * for the random sequences, the minimal trace.
 */

import { ConformanceResult, ConformanceRow, formatConformanceTable } from './conformance_run';
import { formatTraceSteps } from './trace';

export const REPORTERS = ['table', 'json', 'junit', 'tap'] as const;
export type Reporter = (typeof REPORTERS)[number];

/** What differed and the minimal trace, as plain text. */
function failureText(row: ConformanceRow, implementation: string): string {
  const parts = [...row.differences];
  if (row.trace !== undefined) parts.push('minimal trace:', formatTraceSteps(row.trace, row.options, 'OpenSSL 1.0.2h', implementation));
  if (row.saved !== undefined) parts.push(`saved as ${row.saved}`);
  return parts.join('\n');
}

function xml(text: string): string {
  // characters XML 1.0 cannot carry at all are dropped; the rest is escaped
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '').replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JUnit XML: <testsuites><testsuite> with one <testcase> per row (classname = its source). */
export function formatJUnit(result: ConformanceResult): string {
  const failures = result.rows.filter((r) => !r.passed).length;
  const suite = `openssl-session-cache conformance: ${result.implementation}`;
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xml(suite)}" tests="${result.rows.length}" failures="${failures}" errors="0" time="${result.time.toFixed(3)}">`,
    `  <testsuite name="${xml(suite)}" tests="${result.rows.length}" failures="${failures}" errors="0" skipped="0" time="${result.time.toFixed(3)}" timestamp="${result.timestamp.replace(/\.\d+Z$/, '')}">`,
  ];
  if (result.declared.length > 0) {
    out.push('    <properties>');
    for (const d of result.declared) out.push(`      <property name="declared.${xml(d.name)}" value="${xml(`${d.reason} (decided ${d.masked})`)}"/>`);
    out.push('    </properties>');
  }
  for (const row of result.rows) {
    const open = `    <testcase name="${xml(row.scenario)}" classname="conformance.${row.source}" time="${row.time.toFixed(3)}"`;
    if (row.passed) {
      out.push(`${open}/>`);
      continue;
    }
    out.push(`${open}>`);
    out.push(`      <failure message="${xml(row.differences[0] ?? 'failed')}" type="ConformanceFailure">${xml(failureText(row, result.implementation))}</failure>`);
    out.push('    </testcase>');
  }
  out.push('  </testsuite>', '</testsuites>');
  return out.join('\n');
}

/** TAP version 13: one test point per row; a failure has a YAML block with the differences and the trace. */
export function formatTap(result: ConformanceResult): string {
  const out = ['TAP version 13', `1..${result.rows.length}`];
  result.rows.forEach((row, i) => {
    const name = `${row.scenario} (${row.source})`.replace(/#/g, '\\#');
    out.push(`${row.passed ? 'ok' : 'not ok'} ${i + 1} - ${name}`);
    if (!row.passed) {
      out.push('  ---');
      out.push(`  message: ${JSON.stringify(row.differences[0] ?? 'failed')}`);
      out.push('  details: |-');
      for (const line of failureText(row, result.implementation).split('\n')) out.push(`    ${line}`);
      out.push('  ...');
    }
  });
  const failed = result.rows.filter((r) => !r.passed).length;
  for (const d of result.declared) out.push(`# declared ${d.name}: ${d.reason} (decided ${d.masked})`);
  out.push(`# tests ${result.rows.length}`, `# pass ${result.rows.length - failed}`, `# fail ${failed}`);
  return out.join('\n');
}

/** The result in the reporter's format. */
export function formatReport(result: ConformanceResult, reporter: Reporter): string {
  switch (reporter) {
    case 'json':
      return JSON.stringify(result, null, 2);
    case 'junit':
      return formatJUnit(result);
    case 'tap':
      return formatTap(result);
    case 'table':
      return formatConformanceTable(result);
  }
}
