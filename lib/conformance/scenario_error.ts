/** An error in a scenario itself (a malformed step, an unknown name), not in the implementation under test. */
export class ScenarioError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScenarioError';
  }
}
