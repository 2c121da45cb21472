// The two ways a run fails: bad input from the user (exit 2) or a build that could not
// be done (exit 1). Both carry one line that says what, where, and how to fix it.
export class BuildError extends Error {
  readonly exitCode = 1;
}

export class UsageError extends Error {
  readonly exitCode = 2;
}
