// Seed 002's single-file fledge.toml: [plugin] (name, version, description),
// [plugin.runtime] (type = "oci", source = "Dockerfile" or an image, qcow2_compression) and
// [plugin.manifest] (workload.type, workload.port → base_url, resources.vcpu → cpu_cores,
// resources.memory_mb). It maps onto the same FledgeConfig (oci_rootfs, ext4, the kestrel
// agent from the latest release) and ManifestTemplate as the two-file form.
// fledge-pure's additions: [plugin.manifest] workload.entrypoint (else the image's
// Entrypoint + Cmd at build time, as Volant needs one) and workload.base_url.
import * as path from 'node:path';
import { MAX_MEMORY_MB, type ManifestTemplate } from './manifest.js';
import { Checker, isHttpUrl, type KeyPath, type Table } from './toml-file.js';
import type { FledgeConfig, PluginInfo, Problem } from './types.js';
import { COMPRESSOR_LEVELS, DEFAULT_BLOCK_SIZE, DEFAULT_COMPRESSOR } from '../squashfs/limits.js';

const PLUGIN_KEYS = ['name', 'version', 'description', 'runtime', 'manifest'];
const RUNTIME_KEYS = ['type', 'source', 'qcow2_compression'];
const MANIFEST_KEYS = ['workload', 'resources'];
const WORKLOAD_KEYS = ['type', 'port', 'base_url', 'entrypoint'];
const RESOURCE_KEYS = ['vcpu', 'memory_mb'];
/** The keys of the version/strategy form: none may stand beside [plugin]. */
const OTHER_FORM = ['version', 'strategy', 'agent', 'source', 'filesystem', 'init', 'mappings'];
/** A source that names a file to build rather than an image to pull. */
const DOCKERFILE = /(^|\/)Dockerfile[^/]*$|\.dockerfile$|^\.{0,2}\//i;

export function isPluginForm(data: Table): boolean {
  return data.plugin !== undefined;
}

/** Checks the seed 002 form in `data`; returns the config (with its manifest template) when valid. */
export function checkPluginForm(c: Checker, data: Table, file: string): FledgeConfig | undefined {
  const abs = path.resolve(file);
  const dir = path.dirname(abs);
  const rest = Object.fromEntries(Object.entries(data).filter(([k]) => !OTHER_FORM.includes(k)));
  c.keys(rest, [], { allowed: ['plugin'], sections: ['plugin'] });
  for (const key of OTHER_FORM)
    if (data[key] !== undefined)
      c.report(
        [key],
        "mixes the two fledge.toml forms: seed 002's [plugin] form cannot stand beside " +
          'version/strategy/[agent]/[source]/[filesystem]/[init]/[mappings]; write the file in one form',
      );
  const p = c.table(data, 'plugin', [], '[plugin] with name = "myapp" and version = "1.0.0"');
  if (!p) return undefined;
  c.keys(p, ['plugin'], { allowed: PLUGIN_KEYS, sections: ['runtime', 'manifest'] });
  const name = c.str(p, 'name', ['plugin'], { required: 'name = "myapp" under [plugin]' });
  if (name && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name))
    c.report(
      ['plugin', 'name'],
      `must be a simple name of letters, digits, ".", "_" and "-" (it names the output files), got ${JSON.stringify(name)}`,
    );
  const version = c.str(p, 'version', ['plugin'], { required: 'version = "1.0.0" under [plugin]' });
  const description = c.str(p, 'description', ['plugin']);
  const runtime = checkRuntime(c, p, dir);
  const manifest = checkManifest(c, p);
  if (c.problems.length || !name || !version || !runtime || !manifest) return undefined;
  const plugin: PluginInfo = { name, version };
  if (description !== undefined) plugin.description = description;
  const template: ManifestTemplate = { ...manifest, file: abs, name, version, runtime: name };
  return {
    file: abs,
    dir,
    version: '1',
    strategy: 'oci_rootfs',
    agent: { source_strategy: 'release', version: 'latest' },
    source: { build_args: {}, ...runtime.source },
    filesystem: {
      type: 'ext4',
      compression: DEFAULT_COMPRESSOR,
      compression_level: COMPRESSOR_LEVELS[DEFAULT_COMPRESSOR].defaultLevel,
      block_size: DEFAULT_BLOCK_SIZE,
      overlay_size: '1G',
      size_buffer_mb: 0,
      preallocate: false,
      disk_format: 'qcow2',
      qcow2_compression: runtime.qcow2,
    },
    init: { mode: 'default' },
    mappings: [],
    plugin,
    manifest: template,
  };
}

/** [plugin.runtime]: type "oci" (default), source "Dockerfile" (default) or an image, qcow2_compression (default true). */
function checkRuntime(
  c: Checker,
  p: Table,
  dir: string,
): { source: { image?: string; dockerfile?: string; context?: string }; qcow2: boolean } | undefined {
  const at = ['plugin', 'runtime'];
  const r = c.table(p, 'runtime', ['plugin'], '[plugin.runtime] with type = "oci" and source = "Dockerfile"');
  if (p.runtime !== undefined && !r) return undefined;
  const t = r ?? {};
  if (r) c.keys(r, at, { allowed: RUNTIME_KEYS });
  c.oneOf(c.str(t, 'type', at), ['oci'] as const, [...at, 'type']);
  const source = c.str(t, 'source', at, { nonEmpty: true }) ?? 'Dockerfile';
  const qcow2 = c.bool(t, 'qcow2_compression', at) ?? true;
  if (!DOCKERFILE.test(source)) return { source: { image: source }, qcow2 };
  const dockerfile = path.resolve(dir, source);
  return { source: { dockerfile, context: path.dirname(dockerfile) }, qcow2 };
}

type ManifestPart = Omit<ManifestTemplate, 'file' | 'name' | 'version' | 'runtime'>;

/** [plugin.manifest]: workload.type (http), workload.port → base_url, resources.vcpu / memory_mb. */
function checkManifest(c: Checker, p: Table): ManifestPart | undefined {
  const mp: KeyPath = ['plugin', 'manifest'];
  const m = c.table(p, 'manifest', ['plugin'], '[plugin.manifest] with workload.port = 80') ?? {};
  c.keys(m, mp, { allowed: MANIFEST_KEYS, sections: MANIFEST_KEYS });
  const w = c.table(m, 'workload', mp, 'workload.port = 80') ?? {};
  const wp = [...mp, 'workload'];
  c.keys(w, wp, { allowed: WORKLOAD_KEYS });
  c.oneOf(c.str(w, 'type', wp), ['http'] as const, [...wp, 'type']);
  const port = c.int(w, 'port', wp, 1, 65535, 'workload.port = 80');
  let baseUrl = c.str(w, 'base_url', wp, { nonEmpty: true });
  if (baseUrl !== undefined && !isHttpUrl(baseUrl))
    c.report([...wp, 'base_url'], `must be an http:// or https:// URL (got ${JSON.stringify(baseUrl)})`);
  if (port !== undefined && w.base_url !== undefined)
    c.report([...wp, 'port'], 'cannot be combined with workload.base_url; keep one');
  if (port !== undefined) baseUrl = `http://127.0.0.1:${port}`;
  const entrypoint = c.strArray(w, 'entrypoint', wp, 'workload.entrypoint = ["/usr/sbin/nginx", "-g", "daemon off;"]');
  const r = c.table(m, 'resources', mp, 'resources.vcpu = 1') ?? {};
  const rp = [...mp, 'resources'];
  c.keys(r, rp, { allowed: RESOURCE_KEYS });
  const cpu = c.int(r, 'vcpu', rp, 1, 1024, 'resources.vcpu = 2') ?? 1;
  const mem = c.int(r, 'memory_mb', rp, 128, MAX_MEMORY_MB, 'resources.memory_mb = 512') ?? 256;
  const part: ManifestPart = {
    schema_version: 'v1',
    enabled: true,
    resources: { cpu_cores: cpu, memory_mb: mem },
    workload: { type: 'http', entrypoint: entrypoint ?? [], env: {} },
    network: { mode: 'bridged', expose: [] },
    actions: {},
    disks: [],
    labels: {},
  };
  if (baseUrl && isHttpUrl(baseUrl)) part.workload.base_url = baseUrl;
  else
    part.missingBaseUrl = deferred(
      c,
      [...wp, 'port'],
      'workload.port = 80 under [plugin.manifest] (or an image that EXPOSEs exactly one tcp port)',
    );
  if (!entrypoint?.length)
    part.missingEntrypoint = deferred(
      c,
      [...wp, 'entrypoint'],
      'workload.entrypoint = ["/usr/sbin/nginx"] under [plugin.manifest] (or an image with an Entrypoint or Cmd)',
    );
  return part;
}

/** A "required but missing" problem kept for the build, where the image may supply the value. */
function deferred(c: Checker, at: KeyPath, example: string): Problem {
  const before = c.problems.length;
  c.missing(at, example);
  return c.problems.splice(before, 1)[0];
}
