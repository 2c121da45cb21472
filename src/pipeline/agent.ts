// Sourcing the kestrel agent, as Fledge does: a GitHub release asset named exactly
// "kestrel" (latest or a tag), a local file, or an http(s) URL with a sha256.
import { existsSync, statSync } from 'node:fs';
import type { AgentConfig } from '../config/types.js';
import type * as Download from '../download.js';
import { BuildError } from '../errors.js';
import type { Limits } from '../limits.js';

/** Fledge always asks api.github.com; build() takes another base (FLEDGE_PURE_GITHUB_API) for tests and mirrors. */
export const GITHUB_API = 'https://api.github.com';

export interface AgentOptions {
  limits?: Partial<Limits>;
  /** the cache folder (src/cache.ts); default defaultCacheDir() */
  cacheDir?: string;
  /** the GitHub API base for release agents; default GITHUB_API */
  githubApi?: string;
}

interface Release {
  tag_name?: string;
  assets?: { name: string; browser_download_url: string; digest?: string }[];
}

/** The path of the agent binary to install at /bin/kestrel. */
export async function fetchAgent(agent: AgentConfig, o: AgentOptions = {}): Promise<string> {
  const { limits = {}, cacheDir } = o;
  if (agent.source_strategy === 'local') {
    if (!existsSync(agent.path) || !statSync(agent.path).isFile()) {
      throw new BuildError(`agent: ${agent.path} is not a file; fix [agent] path in fledge.toml`);
    }
    return agent.path;
  }
  // the network code is loaded only for an agent that is downloaded
  const { download, fetchJson }: typeof Download = await import('../download.js');
  switch (agent.source_strategy) {
    case 'http':
      return download(
        agent.url,
        agent.checksum,
        'agent',
        'fix [agent] url, or use source_strategy = "local"',
        limits,
        cacheDir,
      );
    case 'release': {
      const hint =
        'the release agent needs network access to GitHub; offline, use [agent] source_strategy = "local" with a path';
      const which = agent.version === 'latest' ? 'latest' : `tags/${agent.version}`;
      const url = `${(o.githubApi ?? GITHUB_API).replace(/\/$/, '')}/repos/volantvm/volant/releases/${which}`;
      const release = (await fetchJson(url, 'agent', hint, limits)) as Release;
      const asset = release.assets?.find((a) => a.name === 'kestrel');
      if (!asset)
        throw new BuildError(
          `agent: release ${release.tag_name ?? agent.version} of volantvm/volant has no asset named "kestrel"; pick another [agent] version`,
        );
      const sha = asset.digest?.startsWith('sha256:') ? asset.digest.slice(7) : undefined;
      return download(asset.browser_download_url, sha, 'agent', hint, limits, cacheDir);
    }
  }
}
