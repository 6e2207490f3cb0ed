/** a thrown value as an Error (the value itself when it is one; kept as `cause` otherwise) */
export function toError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(`a callback threw ${String(thrown)}`, { cause: thrown });
}
