// A plugin bundle (seed 002: `fledge build --output plugin.tar.gz`, then `volar plugins
// install ./plugin.tar.gz`): a gzip tar of exactly two entries, the artifact and
// manifest.json, whose url is the artifact's bare file name (it lies beside it). The tar
// is the PAX writer of `export` (src/export/tar.ts) over a two-entry tree; gzip is
// pako's (src/compress.ts), so the bundle is the same bytes everywhere. The artifact is
// streamed from its file, never held in memory; the bundle is written all or nothing.
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { ArtifactFile } from './artifact.js';
import { drain } from './chunks.js';
import { bytesContent, fileContent } from './tree/content.js';
import { makeNode, type Time, Tree } from './tree/tree.js';

/** `--output` names a bundle when it ends in .tar.gz or .tgz. */
export function isBundlePath(output: string): boolean {
  return /\.(tar\.gz|tgz)$/i.test(output);
}

/** Writes the bundle at `path`; returns its sha256 and size. */
export async function writeBundle(
  path: string,
  manifestJson: string,
  artifact: string,
  mtime: Time,
): Promise<{ sha256: string; size: number }> {
  const tree = new Tree({ mode: 0o755, mtime });
  const attrs = { mode: 0o644, mtime };
  tree.set('manifest.json', makeNode('file', attrs, { content: bytesContent(Buffer.from(manifestJson)) }));
  tree.set(basename(artifact), makeNode('file', attrs, { content: fileContent(artifact, statSync(artifact).size) }));
  // the gzip and tar writers are loaded only for a bundle
  const [{ gzipStream }, { paxTarChunks }] = await Promise.all([import('./compress.js'), import('./export/tar.js')]);
  const file = new ArtifactFile(path);
  try {
    const gz = gzipStream(6, (chunk) => file.write(chunk));
    await drain(paxTarChunks(tree), (chunk) => gz.write(chunk));
    gz.end();
    const size = file.size;
    return { sha256: file.commit(), size };
  } catch (e) {
    file.abort();
    throw e;
  }
}
