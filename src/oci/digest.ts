// Content digests as the OCI image spec registers them (descriptor.md "Registered
// algorithms"): sha256 and sha512, lowercase hex of 64 and 128 digits. Every blob is
// checked against its digest with its own algorithm; a digest of any other algorithm is
// refused, never skipped.
import { createHash, type Hash } from 'node:crypto';
import { ImageError } from '../errors.js';

const HEX_LENGTH: Record<string, number> = { sha256: 64, sha512: 128 };

/** The algorithm and hex of a registered digest, or a one-line error. */
export function splitDigest(digest: string, where: string): { algorithm: string; hex: string } {
  const m = /^([a-z0-9+._-]+):([0-9a-f]+)$/.exec(digest);
  const algorithm = m?.[1] ?? '';
  if (!m || HEX_LENGTH[algorithm] === undefined) {
    throw new ImageError(
      `${where}: digest ${JSON.stringify(digest.slice(0, 150))} is not sha256:<64 hex> or sha512:<128 hex>; other algorithms are not supported`,
    );
  }
  if (m[2].length !== HEX_LENGTH[algorithm])
    throw new ImageError(
      `${where}: digest ${digest} has ${m[2].length} hex digits, ${algorithm} has ${HEX_LENGTH[algorithm]}`,
    );
  return { algorithm, hex: m[2] };
}

/** A running hash of the digest's algorithm. */
export function hasherFor(digest: string, where: string): Hash {
  return createHash(splitDigest(digest, where).algorithm);
}

/** "algorithm:hex" of bytes, in the algorithm of `like`. */
export function digestOf(bytes: Uint8Array, like: string, where: string): string {
  const { algorithm } = splitDigest(like, where);
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** Throws unless bytes have exactly `digest`. */
export function verifyDigest(bytes: Uint8Array, digest: string, where: string, what: string): void {
  const got = digestOf(bytes, digest, where);
  if (got !== digest)
    throw new ImageError(
      `${where}: ${what} ${digest} has digest ${got}; the image is corrupt or was tampered with — pull or save it again`,
    );
}

/** "sha256:<hex>" of bytes (a manifest fetched by tag). */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
