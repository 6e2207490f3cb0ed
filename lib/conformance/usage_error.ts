/**
 * A mistake in how the conformance run was asked for — an unknown option, a scenario
 * file that is missing or invalid, a `--model` module that cannot be loaded or lacks
 * `SessionCache` methods — as opposed to a conformance failure. The CLI prints its
 * message on one line and exits 2.
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
