// The image config a Dockerfile build produces (OCI image-spec config.md, with Docker's
// extensions Shell, Healthcheck, OnBuild as BuildKit writes them), taken from the base
// image and changed by the metadata instructions. Written with a fixed key order, so the
// same build gives the same bytes.

export interface Healthcheck {
  Test: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  Shell?: string[];
  Healthcheck?: Healthcheck;
  OnBuild?: string[] | null;
}

export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  author?: string;
  config: ContainerConfig;
}

/** The default PATH BuildKit gives an image without one (system.DefaultPathEnvUnix). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The parts of a base image's config JSON a build carries on. */
export function baseConfig(
  json: Buffer,
  platform: { os: string; architecture: string; variant?: string },
): ImageConfig {
  const parsed = JSON.parse(json.toString('utf8')) as Partial<ImageConfig> & { config?: ContainerConfig | null };
  const img: ImageConfig = {
    architecture: parsed.architecture ?? platform.architecture,
    os: parsed.os ?? platform.os,
    ...(parsed.variant ? { variant: parsed.variant } : {}),
    ...(parsed.author ? { author: parsed.author } : {}),
    config: structuredClone(parsed.config ?? {}),
  };
  if (!img.config.Env?.some((e) => e.startsWith('PATH=')))
    img.config.Env = [`PATH=${DEFAULT_PATH}`, ...(img.config.Env ?? [])];
  return img;
}

export function scratchConfig(platform: { os: string; architecture: string; variant?: string }): ImageConfig {
  return {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: { Env: [`PATH=${DEFAULT_PATH}`] },
  };
}

function sortedRecord<T>(r: Record<string, T> | undefined): Record<string, T> | undefined {
  if (!r) return undefined;
  return Object.fromEntries(
    Object.keys(r)
      .sort()
      .map((k) => [k, r[k]]),
  );
}

/** The config JSON, keys in a fixed order; the tree's layers are not described (no diff_ids). */
export function configJson(img: ImageConfig): Buffer {
  const c = img.config;
  const config = {
    User: c.User,
    ExposedPorts: sortedRecord(c.ExposedPorts),
    Env: c.Env,
    Entrypoint: c.Entrypoint ?? undefined,
    Cmd: c.Cmd ?? undefined,
    Volumes: sortedRecord(c.Volumes),
    WorkingDir: c.WorkingDir,
    Labels: sortedRecord(c.Labels),
    StopSignal: c.StopSignal,
    Shell: c.Shell,
    Healthcheck: c.Healthcheck,
    OnBuild: c.OnBuild?.length ? c.OnBuild : undefined,
  };
  const out = {
    architecture: img.architecture,
    os: img.os,
    variant: img.variant,
    author: img.author,
    config,
    rootfs: { type: 'layers', diff_ids: [] },
  };
  return Buffer.from(JSON.stringify(out));
}

/** Env entries as a map, later entries winning. */
export function envMap(env: string[] | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of env ?? []) {
    const i = e.indexOf('=');
    m.set(i < 0 ? e : e.slice(0, i), i < 0 ? '' : e.slice(i + 1));
  }
  return m;
}

/** Sets one variable in the config's Env, keeping its place when it exists. */
export function setEnv(c: ContainerConfig, name: string, value: string): void {
  const env = c.Env ?? [];
  const i = env.findIndex((e) => e === name || e.startsWith(`${name}=`));
  if (i >= 0) env[i] = `${name}=${value}`;
  else env.push(`${name}=${value}`);
  c.Env = env;
}
