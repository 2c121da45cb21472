// A problem with the Dockerfile itself: one line naming the file and line, and the fix.
import { UsageError } from '../errors.js';

export class DockerfileError extends UsageError {
  constructor(file: string, line: number, message: string, options?: ErrorOptions) {
    super(`${file}:${line}: ${message}`, options);
  }
}
