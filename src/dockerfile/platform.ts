// Platforms of a build: the automatic platform ARGs BuildKit defines in the global scope
// (Dockerfile reference, "Automatic platform ARGs in the global scope"), and the
// os/arch/variant of a stage's image.
import { UsageError } from '../errors.js';
import { parsePlatform } from '../oci/manifest.js';

export interface PlatformParts {
  os: string;
  architecture: string;
  variant?: string;
}

export function splitPlatform(text: string | undefined): PlatformParts {
  if (text === undefined) return { os: 'linux', architecture: 'amd64' };
  const p = parsePlatform(text);
  if (!p) throw new UsageError(`platform "${text}": write it as os/arch[/variant], e.g. linux/arm64`);
  return { os: p.os, architecture: p.architecture, ...(p.variant ? { variant: p.variant } : {}) };
}

const HOST_ARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
};

function args(prefix: string, p: PlatformParts): Array<[string, string]> {
  const full = `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
  return [
    [`${prefix}PLATFORM`, full],
    [`${prefix}OS`, p.os],
    [`${prefix}ARCH`, p.architecture],
    [`${prefix}VARIANT`, p.variant ?? ''],
  ];
}

/** TARGET* for the built image's platform, BUILD* for the machine building it. */
export function platformArgs(target: string | undefined): Array<[string, string]> {
  const build: PlatformParts = { os: 'linux', architecture: HOST_ARCH[process.arch] ?? process.arch };
  return [...args('TARGET', splitPlatform(target)), ...args('BUILD', build)];
}
