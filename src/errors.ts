// Every error fledge-pure raises on purpose is a BuildError: one line that says what,
// where, and how to fix it. Its class says what went wrong, so that library users can
// branch on `instanceof` and the CLI can map it to an exit status (src/cli.ts):
//
//   BuildError                 1  the build could not be done (the generic case)
//   ├─ ImageError              1  the image is malformed, corrupt, or not where it was said to be
//   ├─ NetworkError            1  a registry, download or Docker daemon failed or could not be reached
//   ├─ FormatLimitError        1  the tree holds an entry the output format cannot hold
//   └─ UsageError              2  bad flags or input from the user
//      ├─ ConfigError          2  fledge.toml or manifest.toml is invalid (src/config/toml-file.ts)
//      └─ DockerfileError      2  the Dockerfile is invalid (src/dockerfile/errors.ts)
//
// An error that wraps another passes it as `{ cause }` (ES2022 Error.cause), so that the
// original error and its class are kept for whoever catches it.
export class BuildError extends Error {
  /** the CLI's exit status for this class */
  readonly exitCode: 1 | 2 = 1;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The image is malformed, corrupt, incomplete, or not where the source says. */
export class ImageError extends BuildError {}

/** A registry, download or Docker daemon answered with a failure, or could not be reached. */
export class NetworkError extends BuildError {}

/** An entry of the tree that the output format cannot hold (name length, file size, ids, links, …). */
export class FormatLimitError extends BuildError {}

/** Bad flags, arguments or input files from the user: exit 2. */
export class UsageError extends BuildError {
  override readonly exitCode = 2;
}

/** An error of the same kind as `e` whose message says more (e.g. the Dockerfile line it came from); `e` is its cause. */
export function relocated(e: BuildError, message: string): BuildError {
  for (const Kind of [ImageError, NetworkError, FormatLimitError])
    if (e instanceof Kind) return new Kind(message, { cause: e });
  return new BuildError(message, { cause: e });
}
