// manifest.toml (runtime defaults) → validated template → <name>.manifest.json in the shape
// Volant's manifest reader (volant internal/pluginspec/spec.go) decodes and validates:
//   - workload: { type, base_url, entrypoint: []string, env: map, workdir } — no `args` field,
//     Volant execs entrypoint[0] with entrypoint[1:], so our `args` are appended to entrypoint.
//   - Workload.Validate accepts only type "http", which needs base_url and a non-empty
//     entrypoint; so type defaults to "http" and "exec"/"grpc" are rejected here rather than
//     at `volar plugins install`.
//   - there is no top-level env: [env] is merged into workload.env ([workload].env wins).
//   - network: { mode, subnet, gateway, auto_assign, expose } — `expose` ([{port, protocol,
//     host_port}]) is read by newer Volant (internal/imagespec/spec.go NetworkConfig.Expose,
//     279c12b; vmconfig maps it to host ports); v0.6.5's pluginspec ignores it (encoding/json
//     drops unknown keys). It also defaults workload.base_url.
//   - rootfs: { url, checksum, format }; initramfs: { url, checksum, format: "cpio.gz" } as
//     Fledge writes it (spec.go's Initramfs struct has no format field; Go's decoder ignores it).
//   - url: an absolute path or http(s)://. Volant's validator also takes file://, but its
//     launcher (streamFile) then os.Open()s the string as a path and fails; a relative path is
//     refused by volantd and made relative-to-the-manifest, not absolute, by volar.

import * as path from 'node:path';
import type { Problem } from './types.js';
import { Checker, ConfigError, isHttpUrl, readTomlFile, type KeyPath, type Table } from './toml-file.js';

export type NetworkMode = 'bridged' | 'vsock' | 'dhcp';

export interface CloudInitDoc {
  inline: boolean;
  content?: string;
  path?: string;
}

/** The schema the seeds' manifests name (seeds 000, 004). */
export const MANIFEST_SCHEMA =
  'https://raw.githubusercontent.com/volantvm/volant/main/docs/schemas/plugin-manifest-v1.json';
/** schema_version values written as given: Volant trims it and never checks it; the seeds write both. */
export const SCHEMA_VERSIONS = ['v1', '1.0'] as const;

export interface ManifestTemplate {
  /** absolute path of the manifest.toml */
  file: string;
  schema_version: string;
  name: string;
  version: string;
  runtime: string;
  enabled: boolean;
  resources: { cpu_cores: number; memory_mb: number };
  workload: {
    type: 'http';
    /** argv: entrypoint split like a shell would, then args appended */
    entrypoint: string[];
    /** undefined: derived from the image's one exposed tcp port at build time (see missingBaseUrl) */
    base_url?: string;
    workdir?: string;
    /** [env] merged with [workload].env */
    env: Record<string, string>;
  };
  network: {
    mode: NetworkMode;
    subnet?: string;
    gateway?: string;
    auto_assign?: boolean;
    expose: { port: number; protocol: 'tcp' | 'udp'; host_port?: number }[];
  };
  health_check?: { endpoint: string; timeout_ms: number };
  actions: Record<string, { description?: string; method: string; path: string; timeout_ms?: number }>;
  disks: { name: string; source: string; checksum?: string; format?: string; readonly: boolean; target?: string }[];
  cloud_init?: {
    datasource?: string;
    seed_mode?: string;
    user_data?: CloudInitDoc;
    meta_data?: CloudInitDoc;
    network_config?: CloudInitDoc;
  };
  devices?: { pci_passthrough?: string[]; allowlist?: string[] };
  labels: Record<string, string>;
  /** the error to give when base_url is missing and the image exposes no single tcp port */
  missingBaseUrl?: Problem;
  /** the error to give when the entrypoint is missing (empty) and the image has no Entrypoint or Cmd */
  missingEntrypoint?: Problem;
}

export interface ArtifactRef {
  kind: 'initramfs' | 'rootfs';
  url: string;
  /** "sha256:<64 hex>" */
  checksum: string;
  /** rootfs: the filesystem type (squashfs, ext4, …); initramfs: "cpio.gz" */
  format: string;
}

const TOP = [
  'schema_version',
  'name',
  'version',
  'runtime',
  'enabled',
  'resources',
  'workload',
  'network',
  'env',
  'health_check',
  'actions',
  'disks',
  'cloud_init',
  'devices',
  'labels',
] as const;
const SECTIONS = [
  'resources',
  'workload',
  'network',
  'env',
  'health_check',
  'actions',
  'disks',
  'cloud_init',
  'devices',
  'labels',
];
const WORKLOAD_KEYS = ['type', 'entrypoint', 'args', 'base_url', 'workdir', 'env'];
const NETWORK_KEYS = ['mode', 'expose', 'subnet', 'gateway', 'auto_assign'];
const EXPOSE_KEYS = ['port', 'protocol', 'host_port'];
const ACTION_KEYS = ['method', 'path', 'timeout_ms', 'description'];
const DISK_KEYS = ['name', 'source', 'checksum', 'format', 'readonly', 'target'];
const CLOUD_INIT_KEYS = ['datasource', 'seed_mode', 'user_data', 'meta_data', 'network_config'];
const DOC_KEYS = ['inline', 'content', 'path'];
/** 1 TiB of guest memory */
export const MAX_MEMORY_MB = 1 << 20;
/** a day */
const MAX_TIMEOUT_MS = 86_400_000;
const DISK_FORMATS = ['raw', 'qcow2', 'squashfs', 'ext4', 'xfs', 'btrfs'] as const;

const MISSING_FIX =
  'pass --manifest <path to manifest.toml>, or create manifest.toml in this folder (see the README for an example)';

export function loadManifestTemplate(file: string): ManifestTemplate {
  const { template, problems } = checkManifestTemplate(file);
  if (!template) throw new ConfigError(problems);
  return template;
}

export function checkManifestTemplate(file: string): { template?: ManifestTemplate; problems: Problem[] } {
  const read = readTomlFile(file, MISSING_FIX);
  if (!read.source) return { problems: read.problems };
  const c = new Checker(read.source);
  const d = read.source.data;
  c.keys(d, [], { allowed: TOP, sections: SECTIONS });
  const top = checkTop(c, d);
  const resources = checkResources(c, d);
  const network = checkNetwork(c, d); // before [workload]: the first exposed tcp port defaults base_url
  const workload = checkWorkload(c, d, network.expose);
  const health = checkHealthCheck(c, d);
  const actions = checkActions(c, d);
  const disks = checkDisks(c, d);
  const cloudInit = checkCloudInit(c, d);
  const devices = checkDevices(c, d);
  const labels = c.strMap(d, 'labels', [], '[labels] with team = "web"') ?? {};

  const problems = c.sorted();
  const { name, version, runtime } = top;
  const { entrypoint, baseUrl, missingBaseUrl } = workload;
  if (problems.length || !name || !version || !runtime || !entrypoint || (!baseUrl && !missingBaseUrl))
    return { problems };
  const template: ManifestTemplate = {
    file: path.resolve(file),
    schema_version: top.schema,
    name,
    version,
    runtime,
    enabled: top.enabled,
    resources,
    workload: { type: 'http', entrypoint, env: workload.env },
    network,
    actions,
    disks,
    labels,
  };
  if (baseUrl) template.workload.base_url = baseUrl;
  else template.missingBaseUrl = missingBaseUrl;
  if (workload.workdir) template.workload.workdir = workload.workdir;
  if (health) template.health_check = health;
  if (cloudInit) template.cloud_init = cloudInit;
  if (devices) template.devices = devices;
  return { template, problems };
}

const RULES = { topLevel: TOP };

/** The top-level keys: schema_version, name, version, runtime, enabled. */
function checkTop(c: Checker, d: Table) {
  const schema = c.str(d, 'schema_version', []) ?? 'v1';
  if (!(SCHEMA_VERSIONS as readonly string[]).includes(schema))
    c.report(
      ['schema_version'],
      `unsupported ${JSON.stringify(schema)}; use schema_version = "v1" or "1.0" (or leave it out)`,
    );
  const name = c.str(d, 'name', [], { required: 'name = "myapp" at the top of the file' });
  if (name && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name))
    c.report(
      ['name'],
      `must be a simple name of letters, digits, ".", "_" and "-" (it names the output files), got ${JSON.stringify(name)}; e.g. name = "nginx"`,
    );
  const version = c.str(d, 'version', [], { required: 'version = "1.0.0" at the top of the file' });
  const runtime = c.str(d, 'runtime', [], {
    required: 'runtime = "myapp" at the top of the file (usually the same as name)',
  });
  const enabled = c.bool(d, 'enabled', []) ?? true;
  return { schema, name, version, runtime, enabled };
}

/** [resources] */
function checkResources(c: Checker, d: Table): ManifestTemplate['resources'] {
  const res = c.table(d, 'resources', [], '[resources] with cpu_cores = 1 and memory_mb = 256') ?? {};
  c.keys(res, ['resources'], { allowed: ['cpu_cores', 'memory_mb'], ...RULES });
  const cpu = c.int(res, 'cpu_cores', ['resources'], 1, 1024, 'cpu_cores = 2') ?? 1;
  const mem = c.int(res, 'memory_mb', ['resources'], 128, MAX_MEMORY_MB, 'memory_mb = 512') ?? 256;
  return { cpu_cores: cpu, memory_mb: mem };
}

/** [network] and its [[network.expose]] ports */
function checkNetwork(c: Checker, d: Table): ManifestTemplate['network'] {
  const net = c.table(d, 'network', [], '[network] with mode = "bridged"') ?? {};
  c.keys(net, ['network'], { allowed: NETWORK_KEYS, ...RULES });
  const np = ['network'];
  const mode = c.oneOf(c.str(net, 'mode', np), ['bridged', 'vsock', 'dhcp'] as const, ['network', 'mode']) ?? 'bridged';
  const subnet = c.str(net, 'subnet', np, { nonEmpty: true });
  const gateway = c.str(net, 'gateway', np, { nonEmpty: true });
  const autoAssign = c.bool(net, 'auto_assign', np);
  if (mode === 'bridged' && subnet && !gateway && !autoAssign)
    c.report(
      ['network', 'subnet'],
      'in bridged mode a subnet needs a gateway; add gateway = "10.1.0.1" or auto_assign = true',
    );
  const expose: ManifestTemplate['network']['expose'] = [];
  (c.tables(net, 'expose', np, '[[network.expose]] port = 80') ?? []).forEach((e, i) => {
    const ep: KeyPath = ['network', 'expose', i];
    c.keys(e, ep, { allowed: EXPOSE_KEYS });
    const port = c.int(e, 'port', ep, 1, 65535, 'port = 8080');
    if (e.port === undefined) c.missing([...ep, 'port'], 'port = 8080');
    const protocol = c.oneOf(c.str(e, 'protocol', ep), ['tcp', 'udp'] as const, [...ep, 'protocol']) ?? 'tcp';
    const hostPort = c.int(e, 'host_port', ep, 1, 65535, 'host_port = 8080');
    if (port !== undefined)
      expose.push(hostPort !== undefined ? { port, protocol, host_port: hostPort } : { port, protocol });
  });
  const network: ManifestTemplate['network'] = { mode, expose };
  if (subnet) network.subnet = subnet;
  if (gateway) network.gateway = gateway;
  if (autoAssign !== undefined) network.auto_assign = autoAssign;
  return network;
}

/** [workload] (and the top-level [env] merged under it); base_url defaults to the first exposed tcp port. */
function checkWorkload(c: Checker, d: Table, expose: ManifestTemplate['network']['expose']) {
  const wp = ['workload'];
  const w = c.table(d, 'workload', [], '[workload] with entrypoint = "/usr/bin/myapp"');
  if (d.workload === undefined)
    c.missing(wp, 'a [workload] section with entrypoint = "/usr/bin/myapp" (the command the agent starts)');
  const wl = w ?? {};
  if (w) c.keys(w, wp, { allowed: WORKLOAD_KEYS, ...RULES });
  const typeRaw = c.str(wl, 'type', wp);
  if (typeRaw !== undefined && typeRaw !== 'http')
    c.report(
      ['workload', 'type'],
      `${JSON.stringify(typeRaw)} is not supported: Volant's manifest reader accepts only type = "http" ` +
        '(the agent starts the entrypoint and talks HTTP to base_url); set type = "http" or remove the key',
    );
  const entrypoint = workloadArgv(c, wl, w !== undefined);
  let baseUrl = c.str(wl, 'base_url', wp, { nonEmpty: true });
  let missingBaseUrl: Problem | undefined;
  if (baseUrl !== undefined && !isHttpUrl(baseUrl)) {
    c.report(
      ['workload', 'base_url'],
      `must be an http:// or https:// URL (got ${JSON.stringify(baseUrl)}); e.g. base_url = "http://127.0.0.1:8080"`,
    );
    baseUrl = undefined;
  } else if (baseUrl === undefined && wl.base_url === undefined && w) {
    const tcp = expose.find((e) => e.protocol === 'tcp');
    if (tcp) baseUrl = `http://127.0.0.1:${tcp.port}`;
    else missingBaseUrl = missingBaseUrlProblem(c);
  }
  const workdir = c.str(wl, 'workdir', wp, { nonEmpty: true });
  if (workdir !== undefined && !workdir.startsWith('/'))
    c.report(['workload', 'workdir'], `must be an absolute path inside the VM (got ${JSON.stringify(workdir)})`);
  const topEnv = c.strMap(d, 'env', [], '[env] with LOG_LEVEL = "info"') ?? {};
  const wEnv = c.strMap(wl, 'env', wp, 'env = { LOG_LEVEL = "info" }') ?? {};
  return { entrypoint, baseUrl, missingBaseUrl, workdir, env: { ...topEnv, ...wEnv } };
}

/** [health_check] */
function checkHealthCheck(c: Checker, d: Table): ManifestTemplate['health_check'] {
  const hc = c.table(d, 'health_check', [], '[health_check] with endpoint = "/healthz"');
  if (!hc) return undefined;
  const hp = ['health_check'];
  c.keys(hc, hp, { allowed: ['endpoint', 'timeout_ms'], ...RULES });
  const endpoint = c.str(hc, 'endpoint', hp, { required: 'endpoint = "/healthz" under [health_check]' });
  if (endpoint && !endpoint.startsWith('/'))
    c.report(
      ['health_check', 'endpoint'],
      `must be a path starting with / (got ${JSON.stringify(endpoint)}); it is resolved against workload.base_url`,
    );
  // 0 = the agent's default wait (it waits at least 2 minutes anyway)
  const timeout = c.int(hc, 'timeout_ms', hp, 0, MAX_TIMEOUT_MS, 'timeout_ms = 10000') ?? 0;
  return endpoint ? { endpoint, timeout_ms: timeout } : undefined;
}

/** [actions.NAME] */
function checkActions(c: Checker, d: Table): ManifestTemplate['actions'] {
  const actions: ManifestTemplate['actions'] = Object.create(null); // an action may be named __proto__
  const at = c.table(d, 'actions', [], '[actions.NAME] with method = "POST" and path = "/do"') ?? {};
  for (const an of Object.keys(at)) {
    const ap: KeyPath = ['actions', an];
    const a = c.table(at, an, ['actions'], `[actions.${an}] with method = "POST" and path = "/do"`);
    if (!a) continue;
    c.keys(a, ap, { allowed: ACTION_KEYS });
    const method = c.str(a, 'method', ap, { required: `method = "POST" under [actions.${an}]` });
    const p = c.str(a, 'path', ap, { required: `path = "/${an}" under [actions.${an}]` });
    if (p && !p.startsWith('/')) c.report([...ap, 'path'], `must start with / (got ${JSON.stringify(p)})`);
    const timeout = c.int(a, 'timeout_ms', ap, 0, MAX_TIMEOUT_MS, 'timeout_ms = 30000');
    const description = c.str(a, 'description', ap);
    if (!method || !p) continue;
    actions[an] = { method: method.toUpperCase(), path: p };
    if (description !== undefined) actions[an].description = description;
    if (timeout !== undefined) actions[an].timeout_ms = timeout;
  }
  return actions;
}

/** [[disks]] */
function checkDisks(c: Checker, d: Table): ManifestTemplate['disks'] {
  const disks: ManifestTemplate['disks'] = [];
  (c.tables(d, 'disks', [], '[[disks]] name = "data" source = "https://.../data.img"') ?? []).forEach((t, i) => {
    const dp: KeyPath = ['disks', i];
    c.keys(t, dp, { allowed: DISK_KEYS });
    const dn = c.str(t, 'name', dp, { required: 'name = "data"' });
    const source = c.str(t, 'source', dp, { required: 'source = "https://.../data.img"' });
    const checksum = c.str(t, 'checksum', dp, { nonEmpty: true });
    if (checksum && !/^[a-z0-9]+:[0-9a-fA-F]+$/.test(checksum))
      c.report(
        [...dp, 'checksum'],
        `must be "<algorithm>:<hex>", e.g. "sha256:<64 hex digits>" (got ${JSON.stringify(checksum)})`,
      );
    const format = c.oneOf(c.str(t, 'format', dp), DISK_FORMATS, [...dp, 'format']);
    const readonly = c.bool(t, 'readonly', dp) ?? false;
    const target = c.str(t, 'target', dp, { nonEmpty: true });
    if (!dn || !source) return;
    const disk: ManifestTemplate['disks'][number] = { name: dn, source, readonly };
    if (checksum) disk.checksum = checksum;
    if (format) disk.format = format;
    if (target) disk.target = target;
    disks.push(disk);
  });
  return disks;
}

/** [cloud_init] */
function checkCloudInit(c: Checker, d: Table): ManifestTemplate['cloud_init'] {
  const ci = c.table(d, 'cloud_init', [], '[cloud_init] with datasource = "NoCloud"');
  if (!ci) return undefined;
  const cp = ['cloud_init'];
  c.keys(ci, cp, { allowed: CLOUD_INIT_KEYS, ...RULES });
  const cloudInit: NonNullable<ManifestTemplate['cloud_init']> = {};
  const ds = c.str(ci, 'datasource', cp, { nonEmpty: true });
  if (ds) cloudInit.datasource = ds;
  const seed = c.oneOf(c.str(ci, 'seed_mode', cp), ['vfat'] as const, ['cloud_init', 'seed_mode']);
  if (seed) cloudInit.seed_mode = seed;
  for (const doc of ['user_data', 'meta_data', 'network_config'] as const) {
    const parsed = cloudInitDoc(c, ci, doc);
    if (parsed) cloudInit[doc] = parsed;
  }
  return cloudInit;
}

/** [devices] */
function checkDevices(c: Checker, d: Table): ManifestTemplate['devices'] {
  const dv = c.table(d, 'devices', [], '[devices] with pci_passthrough = ["0000:01:00.0"]');
  if (!dv) return undefined;
  c.keys(dv, ['devices'], { allowed: ['pci_passthrough', 'allowlist'], ...RULES });
  const devices: NonNullable<ManifestTemplate['devices']> = {};
  const pci = c.strArray(dv, 'pci_passthrough', ['devices'], 'pci_passthrough = ["0000:01:00.0"]');
  pci?.forEach((a, i) => {
    if (!/^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$/.test(a))
      c.report(
        ['devices', 'pci_passthrough', i],
        `must be a PCI address like "0000:01:00.0" (got ${JSON.stringify(a)}); see lspci -D`,
      );
  });
  if (pci?.length) devices.pci_passthrough = pci;
  const allow = c.strArray(dv, 'allowlist', ['devices'], 'allowlist = ["10de:*"]');
  if (allow?.length) devices.allowlist = allow;
  return devices;
}

/** The problem a missing base_url is, reported only when the image cannot supply it either. */
function missingBaseUrlProblem(c: Checker): Problem {
  const before = c.problems.length;
  c.missing(
    ['workload', 'base_url'],
    'base_url = "http://127.0.0.1:8080" under [workload] (Volant needs the address its agent reaches the workload at), ' +
      'a [[network.expose]] tcp port, or an image that EXPOSEs exactly one tcp port to derive it from',
  );
  return c.problems.splice(before, 1)[0];
}

/** entrypoint (string split like a shell, or an array) + args → argv; undefined when invalid. */
function workloadArgv(c: Checker, w: Table, present: boolean): string[] | undefined {
  const wp = ['workload'];
  const ex = 'entrypoint = ["/usr/sbin/nginx", "-g", "daemon off;"]';
  let argv: string[] | undefined;
  const e = w.entrypoint;
  if (e === undefined) {
    if (present)
      c.missing(
        ['workload', 'entrypoint'],
        'entrypoint = "/usr/bin/myapp" under [workload] (Volant requires a command to start)',
      );
  } else if (typeof e === 'string') {
    const r = splitCommand(e);
    if ('error' in r) c.report(['workload', 'entrypoint'], `${r.error}; or write it as an array, e.g. ${ex}`);
    else argv = r.words;
  } else {
    argv = c.strArray(w, 'entrypoint', wp, ex);
  }
  if (argv && (argv.length === 0 || argv[0].trim() === '')) {
    c.report(['workload', 'entrypoint'], 'is empty; give the command to start, e.g. entrypoint = "/usr/bin/myapp"');
    argv = undefined;
  }
  const args = c.strArray(w, 'args', wp, 'args = ["--port", "8080"]');
  if (w.args !== undefined && !args) return undefined;
  return argv ? [...argv, ...(args ?? [])] : undefined;
}

/**
 * Split a command line into words the way sh would for plain words, '…' and "…" quoting and
 * backslash escapes. Anything that needs a real shell (pipes, $vars, globs, redirects…) is an
 * error: Volant execs the words directly, no shell is involved.
 */
export function splitCommand(s: string): { words: string[] } | { error: string } {
  const words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === ' ' || ch === '\t' || ch === '\n') {
      if (word !== null) words.push(word);
      word = null;
    } else if (ch === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) return { error: 'has an unterminated single quote' };
      word = (word ?? '') + s.slice(i + 1, end);
      i = end;
    } else if (ch === '"') {
      const quoted = doubleQuoted(s, i);
      if ('error' in quoted) return quoted;
      word = (word ?? '') + quoted.text;
      i = quoted.end;
    } else if (ch === '\\') {
      if (i + 1 >= s.length) return { error: 'ends with a lone backslash' };
      word = (word ?? '') + s[++i];
    } else if ('|&;<>()$`*?['.includes(ch) || ((ch === '#' || ch === '~') && word === null)) {
      return shellSyntax(ch);
    } else {
      word = (word ?? '') + ch;
    }
  }
  if (word !== null) words.push(word);
  return { words };
}

function shellSyntax(ch: string): { error: string } {
  return {
    error: `uses shell syntax (${ch}) but no shell runs the entrypoint; wrap it as ["/bin/sh", "-c", "..."]`,
  };
}

/** The text of the "…" starting at s[start] (a backslash escapes only " \\ $ and `) and the index of its closing quote. */
function doubleQuoted(s: string, start: number): { text: string; end: number } | { error: string } {
  let j = start + 1;
  let text = '';
  for (; j < s.length && s[j] !== '"'; j++) {
    if (s[j] === '\\' && j + 1 < s.length && '"\\$`'.includes(s[j + 1])) text += s[++j];
    else if (s[j] === '$' || s[j] === '`') return shellSyntax(s[j]);
    else text += s[j];
  }
  if (j >= s.length) return { error: 'has an unterminated double quote' };
  return { text, end: j };
}

function cloudInitDoc(
  c: Checker,
  ci: Table,
  key: 'user_data' | 'meta_data' | 'network_config',
): CloudInitDoc | undefined {
  const t = c.table(ci, key, ['cloud_init'], `[cloud_init.${key}] with content = "..." or path = "..."`);
  if (!t) return undefined;
  const p: KeyPath = ['cloud_init', key];
  c.keys(t, p, { allowed: DOC_KEYS });
  const content = c.str(t, 'content', p, { nonEmpty: true });
  const file = c.str(t, 'path', p, { nonEmpty: true });
  const inline = c.bool(t, 'inline', p);
  if (content !== undefined && file !== undefined) {
    c.report(
      [...p, 'path'],
      'cannot be combined with content; keep content = "..." (inline) or path = "..." (a file), not both',
    );
    return undefined;
  }
  if (content !== undefined && inline === false)
    c.report([...p, 'inline'], 'must be true (or left out) when content is given');
  if (file !== undefined && inline === true)
    c.report([...p, 'inline'], 'must be false (or left out) when path is given');
  // Volant: inline must be true with content and false with path
  const doc: CloudInitDoc = { inline: content !== undefined };
  if (content !== undefined) doc.content = content;
  if (file !== undefined) doc.path = file;
  return doc;
}

/**
 * The manifest.json object for `t` plus the built artifact, keys in a fixed order.
 * `extra.kernelArgs` has no field in Volant's manifest; it is recorded as the label
 * "fledge.kernel_args" so the user can see what to pass (Volant itself ignores labels).
 */
/** extra.bundled: the manifest.json of a plugin bundle, whose url is the artifact's bare file name beside it. */
export function renderManifest(
  t: ManifestTemplate,
  artifact: ArtifactRef,
  extra: { kernelArgs?: string; bundled?: boolean } = {},
): object {
  checkArtifactRef(artifact, extra.bundled);
  if (!t.workload.base_url)
    throw new Error(`${t.file}: workload.base_url is not set (resolve it from the image before rendering)`);
  const out: Record<string, unknown> = {
    $schema: MANIFEST_SCHEMA,
    schema_version: t.schema_version,
    name: t.name,
    version: t.version,
    runtime: t.runtime,
    enabled: t.enabled,
  };
  out[artifact.kind] = { url: artifact.url, checksum: artifact.checksum, format: artifact.format };
  out.resources = { cpu_cores: t.resources.cpu_cores, memory_mb: t.resources.memory_mb };
  const workload: Record<string, unknown> = {
    type: t.workload.type,
    base_url: t.workload.base_url,
    entrypoint: [...t.workload.entrypoint],
  };
  if (Object.keys(t.workload.env).length) workload.env = { ...t.workload.env };
  if (t.workload.workdir) workload.workdir = t.workload.workdir;
  out.workload = workload;
  const network: Record<string, unknown> = { mode: t.network.mode };
  if (t.network.subnet) network.subnet = t.network.subnet;
  if (t.network.gateway) network.gateway = t.network.gateway;
  if (t.network.auto_assign !== undefined) network.auto_assign = t.network.auto_assign;
  if (t.network.expose.length) network.expose = t.network.expose.map((e) => ({ ...e }));
  out.network = network;
  if (t.health_check) out.health_check = { endpoint: t.health_check.endpoint, timeout_ms: t.health_check.timeout_ms };
  if (Object.keys(t.actions).length) {
    const actions: Record<string, unknown> = Object.create(null);
    for (const [n, a] of Object.entries(t.actions)) {
      actions[n] = {
        ...(a.description !== undefined ? { description: a.description } : {}),
        method: a.method,
        path: a.path,
        ...(a.timeout_ms !== undefined ? { timeout_ms: a.timeout_ms } : {}),
      };
    }
    out.actions = actions;
  }
  if (t.disks.length)
    out.disks = t.disks.map((d) => ({
      name: d.name,
      source: d.source,
      ...(d.checksum ? { checksum: d.checksum } : {}),
      ...(d.format ? { format: d.format } : {}),
      readonly: d.readonly,
      ...(d.target ? { target: d.target } : {}),
    }));
  if (t.cloud_init) {
    const ci: Record<string, unknown> = {};
    if (t.cloud_init.datasource) ci.datasource = t.cloud_init.datasource;
    if (t.cloud_init.seed_mode) ci.seed_mode = t.cloud_init.seed_mode;
    for (const k of ['user_data', 'meta_data', 'network_config'] as const) {
      const doc = t.cloud_init[k];
      if (doc)
        ci[k] = {
          inline: doc.inline,
          ...(doc.content !== undefined ? { content: doc.content } : {}),
          ...(doc.path !== undefined ? { path: doc.path } : {}),
        };
    }
    out.cloud_init = ci;
  }
  if (t.devices && (t.devices.pci_passthrough || t.devices.allowlist)) {
    const dev: Record<string, unknown> = {};
    if (t.devices.pci_passthrough) dev.pci_passthrough = [...t.devices.pci_passthrough];
    if (t.devices.allowlist) dev.allowlist = [...t.devices.allowlist];
    out.devices = dev;
  }
  const labels = { ...t.labels };
  if (extra.kernelArgs) labels['fledge.kernel_args'] = extra.kernelArgs;
  if (Object.keys(labels).length) out.labels = labels;
  return out;
}

/**
 * The url forms every Volant install path and its launcher take: an absolute path or
 * http(s)://. file:// passes Volant's validator but its launcher then fails to open it;
 * a relative path is refused by volantd (pluginspec RootFS/Initramfs.Validate).
 */
function checkArtifactRef(artifact: ArtifactRef, bundled = false): void {
  const u = artifact.url;
  if (bundled) {
    if (!u || u.includes('/'))
      throw new Error(
        `artifact url ${JSON.stringify(u)}: a bundle's manifest names the artifact by its bare file name`,
      );
    return;
  }
  if (!u.startsWith('/') && !/^https?:\/\/[^/]/i.test(u))
    throw new Error(
      `artifact url ${JSON.stringify(u)} must be an absolute path or an http(s):// URL (what every Volant install path and its launcher accept)`,
    );
  if (!/^sha256:[0-9a-f]{64}$/.test(artifact.checksum))
    throw new Error(
      `artifact checksum ${JSON.stringify(artifact.checksum)} must be "sha256:<64 lowercase hex digits>"`,
    );
}

/** 2-space JSON with a trailing newline; key order is the object's (renderManifest fixes it). */
export function manifestJson(obj: object): string {
  return JSON.stringify(obj, null, 2) + '\n';
}
