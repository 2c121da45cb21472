// What an image's config says that manifest.json needs: its exposed tcp ports (for
// workload.base_url), its version label and its Entrypoint + Cmd. Used when manifest.toml
// leaves base_url out, and for the manifest written without any manifest.toml (seed 003's
// direct mode). Field names from the OCI image spec (config.md: ExposedPorts "port/tcp",
// "port/udp" or "port" = tcp; Entrypoint, Cmd; Labels) and its annotations.md
// (org.opencontainers.image.version).
import type { ManifestTemplate } from './manifest.js';

export interface ImageDefaults {
  /** exposed tcp ports, ascending */
  tcpPorts: number[];
  version?: string;
  /** Entrypoint then Cmd, as Docker runs them */
  argv: string[];
}

/** Resources of a manifest made from the image alone (issue 10: 1 CPU, 512 MB). */
const DIRECT_RESOURCES = { cpu_cores: 1, memory_mb: 512 };
const VERSION_LABEL = 'org.opencontainers.image.version';

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Reads the fields above from the image's config blob; absent or odd fields read as none. */
export function imageDefaults(configBlob: Buffer): ImageDefaults {
  let parsed: { config?: { ExposedPorts?: unknown; Labels?: unknown; Entrypoint?: unknown; Cmd?: unknown } } = {};
  try {
    parsed = JSON.parse(configBlob.toString('utf8')) ?? {};
  } catch {
    /* the flattening step reports a config that is not JSON */
  }
  const c = parsed.config ?? {};
  const ports = Object.keys(typeof c.ExposedPorts === 'object' && c.ExposedPorts ? c.ExposedPorts : {});
  const tcpPorts = ports
    .map((p) => /^(\d+)(?:\/tcp)?$/i.exec(p))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .filter((n) => n >= 1 && n <= 65535)
    .sort((a, b) => a - b);
  const labels = typeof c.Labels === 'object' && c.Labels ? (c.Labels as Record<string, unknown>) : {};
  const version =
    typeof labels[VERSION_LABEL] === 'string' && labels[VERSION_LABEL].trim()
      ? labels[VERSION_LABEL].trim()
      : undefined;
  return { tcpPorts: [...new Set(tcpPorts)], version, argv: [...strings(c.Entrypoint), ...strings(c.Cmd)] };
}

/** http://127.0.0.1:PORT when the image exposes exactly one tcp port. */
export function baseUrlFromImage(d: ImageDefaults): string | undefined {
  return d.tcpPorts.length === 1 ? `http://127.0.0.1:${d.tcpPorts[0]}` : undefined;
}

/**
 * The manifest template the image alone gives (no manifest.toml): `missing` names each
 * field Volant requires that the image cannot supply.
 */
export function templateFromImage(
  name: string,
  d: ImageDefaults,
  file: string,
): { template?: ManifestTemplate; missing: string[] } {
  const baseUrl = baseUrlFromImage(d);
  const missing: string[] = [];
  if (!d.argv.length || !d.argv[0].trim()) missing.push('workload.entrypoint (no Entrypoint or Cmd)');
  if (!baseUrl)
    missing.push(
      `workload.base_url (${d.tcpPorts.length ? `${d.tcpPorts.length} tcp ports exposed, not one` : 'no tcp port exposed'})`,
    );
  if (missing.length) return { missing };
  const template: ManifestTemplate = {
    file,
    schema_version: 'v1',
    name,
    version: d.version ?? '0.0.0',
    runtime: name,
    enabled: true,
    resources: { ...DIRECT_RESOURCES },
    workload: { type: 'http', entrypoint: d.argv, base_url: baseUrl, env: {} },
    network: { mode: 'bridged', expose: [] },
    actions: {},
    disks: [],
    labels: {},
  };
  return { template, missing };
}
