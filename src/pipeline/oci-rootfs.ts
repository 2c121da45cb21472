// The oci_rootfs strategy's tree (Fledge internal/builder/oci_rootfs.go, seeds 000/003):
// the flattened image with everything it carries (owners, xattrs, hard links, special
// bits — Fledge's copy loses them), plus /etc/fsify-entrypoint (the image config JSON,
// verbatim: Fledge means to write it, its code never does), the agent at /bin/kestrel
// (0755, replacing what is there, through the image's own /bin symlink), then the
// [mappings]. The filesystem writers (ext4, squashfs) turn it into the artifact.
import { statSync } from 'node:fs';
import type { FledgeConfig } from '../config/types.js';
import type { Limits } from '../limits.js';
import { flatten } from '../oci/image.js';
import { openImage } from '../oci/sources/open.js';
import { bytesContent, fileContent } from '../tree/content.js';
import { makeNode, type Time, type Tree } from '../tree/tree.js';
import { fetchAgent } from './agent.js';
import { applyMappings } from './mappings.js';

export interface OciRootfsInputs {
  config: FledgeConfig;
  /** the image to start from (skopeo-style source), or */
  image?: string;
  /** an image built from a Dockerfile */
  built?: { tree: Tree; config: Buffer };
  epoch: Time;
  log: (line: string) => void;
  cwd: string;
  platform?: string;
  insecure?: string[];
  limits?: Partial<Limits>;
  /** the cache folder (src/cache.ts) */
  cacheDir?: string;
  /** the GitHub API base for release agents */
  githubApi?: string;
  /** told the image's config blob */
  onImageConfig?: (config: Buffer) => void;
}

async function imageTree({
  image,
  built,
  epoch,
  log,
  cwd,
  platform,
  insecure,
  limits,
  cacheDir,
}: OciRootfsInputs): Promise<{ tree: Tree; config: Buffer }> {
  if (built) return built;
  log(`image: ${image}`);
  const local = await openImage(image!, { cwd, log, platform, insecure, limits, cacheDir });
  return { tree: await flatten(local, log, epoch, limits), config: local.config };
}

export async function ociRootfsTree(inputs: OciRootfsInputs): Promise<Tree> {
  const { config, epoch, log } = inputs;
  const { tree, config: imageConfig } = await imageTree(inputs);
  inputs.onImageConfig?.(imageConfig);
  tree.place(
    '/etc/fsify-entrypoint',
    makeNode('file', { mode: 0o644, mtime: epoch }, { content: bytesContent(imageConfig) }),
    epoch,
  );
  const agent = await fetchAgent(config.agent!, {
    limits: inputs.limits,
    cacheDir: inputs.cacheDir,
    githubApi: inputs.githubApi,
  });
  log(`agent: ${agent}`);
  tree.place(
    '/bin/kestrel',
    makeNode('file', { mode: 0o755, mtime: epoch }, { content: fileContent(agent, statSync(agent).size) }),
    epoch,
  );
  applyMappings(tree, config.mappings, epoch);
  return tree;
}
