import { describe, it, expect } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  checkManifestTemplate,
  loadManifestTemplate,
  renderManifest,
  manifestJson,
  splitCommand,
  MANIFEST_SCHEMA,
} from '../../src/config/manifest.js';
import { formatProblem, ConfigError } from '../../src/config/fledge.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fledge-manifest-'));
let n = 0;
function write(text: string): string {
  const dir = path.join(root, String(n++));
  fs.mkdirSync(dir);
  const file = path.join(dir, 'manifest.toml');
  fs.writeFileSync(file, text);
  return file;
}
function problems(text: string): string[] {
  const file = write(text);
  return checkManifestTemplate(file).problems.map((p) => formatProblem(p).replace(file, 'M'));
}

const SUM = 'sha256:' + 'ab'.repeat(32);
const HEAD = 'name = "app"\nversion = "1.0.0"\nruntime = "app"\n';

// README quick start (nginx)
const NGINX = `schema_version = "v1"
name = "nginx"
version = "1.0.0"
runtime = "nginx"

[resources]
cpu_cores = 2
memory_mb = 512

[workload]
entrypoint = "/usr/sbin/nginx"
args = ["-g", "daemon off;"]

[env]
NGINX_WORKER_PROCESSES = "auto"

[network]
mode = "bridged"

[[network.expose]]
port = 80
protocol = "tcp"
`;

describe('manifest.toml → manifest.json', () => {
  it('README nginx example renders what Volant reads', () => {
    const file = write(NGINX);
    const t = loadManifestTemplate(file);
    expect(t.file).toBe(file);
    expect(t.network.expose).toEqual([{ port: 80, protocol: 'tcp' }]);
    const json = manifestJson(
      renderManifest(t, {
        kind: 'rootfs',
        url: 'https://example.com/nginx.squashfs',
        checksum: SUM,
        format: 'squashfs',
      }),
    );
    expect(json).toBe(
      JSON.stringify(
        {
          $schema: MANIFEST_SCHEMA,
          schema_version: 'v1',
          name: 'nginx',
          version: '1.0.0',
          runtime: 'nginx',
          enabled: true,
          rootfs: { url: 'https://example.com/nginx.squashfs', checksum: SUM, format: 'squashfs' },
          resources: { cpu_cores: 2, memory_mb: 512 },
          workload: {
            type: 'http',
            base_url: 'http://127.0.0.1:80',
            entrypoint: ['/usr/sbin/nginx', '-g', 'daemon off;'],
            env: { NGINX_WORKER_PROCESSES: 'auto' },
          },
          network: { mode: 'bridged', expose: [{ port: 80, protocol: 'tcp' }] },
        },
        null,
        2,
      ) + '\n',
    );
  });

  it('defaults: schema v1, enabled, 1 cpu / 256 MB, bridged', () => {
    const t = loadManifestTemplate(
      write(HEAD + '[workload]\nentrypoint = "/app"\nbase_url = "http://127.0.0.1:8080"\n'),
    );
    expect(renderManifest(t, { kind: 'initramfs', url: '/srv/app.cpio.gz', checksum: SUM, format: 'cpio.gz' })).toEqual(
      {
        $schema: MANIFEST_SCHEMA,
        schema_version: 'v1',
        name: 'app',
        version: '1.0.0',
        runtime: 'app',
        enabled: true,
        initramfs: { url: '/srv/app.cpio.gz', checksum: SUM, format: 'cpio.gz' },
        resources: { cpu_cores: 1, memory_mb: 256 },
        workload: { type: 'http', base_url: 'http://127.0.0.1:8080', entrypoint: ['/app'] },
        network: { mode: 'bridged' },
      },
    );
  });

  it('every optional section in Volant shape, key order fixed', () => {
    const t = loadManifestTemplate(
      write(`${HEAD}enabled = false

[resources]
cpu_cores = 4
memory_mb = 1024

[workload]
type = "http"
entrypoint = ["/bin/server", "--flag"]
args = ["--port", "8080"]
base_url = "http://127.0.0.1:8080"
workdir = "/srv"
env = { B = "workload", C = "3" }

[env]
A = "1"
B = "top"

[network]
mode = "bridged"
subnet = "10.1.0.0/24"
gateway = "10.1.0.1"

[health_check]
endpoint = "/healthz"
timeout_ms = 10000

[actions.reload]
method = "post"
path = "/reload"
timeout_ms = 5000
description = "Reload config"

[[disks]]
name = "data"
source = "https://example.com/data.qcow2"
checksum = "sha256:00ff"
format = "qcow2"
readonly = true
target = "vdb"

[cloud_init]
datasource = "NoCloud"
seed_mode = "vfat"
user_data = { content = "#cloud-config\\n" }
meta_data = { path = "/srv/meta.yaml" }

[devices]
pci_passthrough = ["0000:01:00.0"]
allowlist = ["10de:*"]

[labels]
team = "web"
`),
    );
    const out = renderManifest(
      t,
      { kind: 'rootfs', url: '/var/lib/app.img', checksum: SUM, format: 'ext4' },
      { kernelArgs: 'root=/dev/vda rootfstype=ext4' },
    );
    expect(manifestJson(out)).toBe(
      JSON.stringify(
        {
          $schema: MANIFEST_SCHEMA,
          schema_version: 'v1',
          name: 'app',
          version: '1.0.0',
          runtime: 'app',
          enabled: false,
          rootfs: { url: '/var/lib/app.img', checksum: SUM, format: 'ext4' },
          resources: { cpu_cores: 4, memory_mb: 1024 },
          workload: {
            type: 'http',
            base_url: 'http://127.0.0.1:8080',
            entrypoint: ['/bin/server', '--flag', '--port', '8080'],
            env: { A: '1', B: 'workload', C: '3' },
            workdir: '/srv',
          },
          network: { mode: 'bridged', subnet: '10.1.0.0/24', gateway: '10.1.0.1' },
          health_check: { endpoint: '/healthz', timeout_ms: 10000 },
          actions: { reload: { description: 'Reload config', method: 'POST', path: '/reload', timeout_ms: 5000 } },
          disks: [
            {
              name: 'data',
              source: 'https://example.com/data.qcow2',
              checksum: 'sha256:00ff',
              format: 'qcow2',
              readonly: true,
              target: 'vdb',
            },
          ],
          cloud_init: {
            datasource: 'NoCloud',
            seed_mode: 'vfat',
            user_data: { inline: true, content: '#cloud-config\n' },
            meta_data: { inline: false, path: '/srv/meta.yaml' },
          },
          devices: { pci_passthrough: ['0000:01:00.0'], allowlist: ['10de:*'] },
          labels: { team: 'web', 'fledge.kernel_args': 'root=/dev/vda rootfstype=ext4' },
        },
        null,
        2,
      ) + '\n',
    );
  });

  it('schema_version is written as given: "v1" or "1.0" (Volant never checks it; the seeds write both)', () => {
    const t = loadManifestTemplate(
      write('schema_version = "1.0"\n' + HEAD + '[workload]\nentrypoint = "/app"\nbase_url = "http://127.0.0.1:1"\n'),
    );
    expect(renderManifest(t, { kind: 'initramfs', url: '/a.cpio.gz', checksum: SUM, format: 'cpio.gz' })).toMatchObject(
      { $schema: MANIFEST_SCHEMA, schema_version: '1.0' },
    );
  });

  it('a missing base_url is kept for the build (the image may expose its port), with the line to report', () => {
    const file = write(
      HEAD + '[workload]\nentrypoint = "/app"\n[network]\nexpose = [{ port = 53, protocol = "udp" }]\n',
    );
    const { template, problems: found } = checkManifestTemplate(file);
    expect(found).toEqual([]);
    expect(template!.workload.base_url).toBeUndefined();
    expect(formatProblem(template!.missingBaseUrl!).replace(file, 'M')).toBe(
      'M:4: workload.base_url: required but missing; add base_url = "http://127.0.0.1:8080" under ' +
        '[workload] (Volant needs the address its agent reaches the workload at), a [[network.expose]] ' +
        'tcp port, or an image that EXPOSEs exactly one tcp port to derive it from',
    );
    expect(() =>
      renderManifest(template!, { kind: 'initramfs', url: '/a.cpio.gz', checksum: SUM, format: 'cpio.gz' }),
    ).toThrow(/workload.base_url is not set/);
  });

  it('base_url defaults to the first exposed tcp port', () => {
    const t = loadManifestTemplate(
      write(
        HEAD +
          '[workload]\nentrypoint = "/app"\n[network]\nexpose = [{ port = 53, protocol = "udp" }, { port = 8080 }]\n',
      ),
    );
    expect(t.workload.base_url).toBe('http://127.0.0.1:8080');
    expect(t.network.expose).toEqual([
      { port: 53, protocol: 'udp' },
      { port: 8080, protocol: 'tcp' },
    ]);
  });

  it('renderManifest takes an absolute path or http(s)://, and refuses relative paths, file://, other schemes and bad checksums', () => {
    const t = loadManifestTemplate(write(NGINX));
    expect(
      renderManifest(t, { kind: 'initramfs', url: '/srv/nginx.cpio.gz', checksum: SUM, format: 'cpio.gz' }),
    ).toMatchObject({
      initramfs: { url: '/srv/nginx.cpio.gz', checksum: SUM, format: 'cpio.gz' },
    });
    for (const url of ['nginx.cpio.gz', 'file:///srv/nginx.cpio.gz', 'ftp://h/nginx.img', '', 'http://'])
      expect(() => renderManifest(t, { kind: 'rootfs', url, checksum: SUM, format: 'ext4' })).toThrow(
        `artifact url ${JSON.stringify(url)} must be an absolute path or an http(s):// URL (what every Volant install path and its launcher accept)`,
      );
    expect(() =>
      renderManifest(t, { kind: 'rootfs', url: '/x.img', checksum: 'ab'.repeat(32), format: 'ext4' }),
    ).toThrow(/must be "sha256:<64 lowercase hex digits>"/);
  });
});

describe('splitCommand', () => {
  it('splits plain words, quotes and escapes like sh', () => {
    expect(splitCommand('/usr/sbin/nginx -g "daemon off;"')).toEqual({
      words: ['/usr/sbin/nginx', '-g', 'daemon off;'],
    });
    expect(splitCommand(`  a  'b c'd "e\\"f" g\\ h ''`)).toEqual({ words: ['a', 'b cd', 'e"f', 'g h', ''] });
    expect(splitCommand('x=1 --opt=a#b a~b')).toEqual({ words: ['x=1', '--opt=a#b', 'a~b'] });
  });
  it('rejects what needs a shell', () => {
    for (const [cmd, ch] of [
      ['a | b', '|'],
      ['echo $HOME', '$'],
      ['ls *.txt', '*'],
      ['a > f', '>'],
      ['a "$X"', '$'],
      ['a #c', '#'],
      ['cd ~', '~'],
    ])
      expect(splitCommand(cmd)).toEqual({
        error: `uses shell syntax (${ch}) but no shell runs the entrypoint; wrap it as ["/bin/sh", "-c", "..."]`,
      });
    expect(splitCommand('a "b')).toEqual({ error: 'has an unterminated double quote' });
    expect(splitCommand("a 'b")).toEqual({ error: 'has an unterminated single quote' });
  });
});

describe('rejected manifest.toml', () => {
  it('missing file says how to fix', () => {
    const r = checkManifestTemplate(path.join(root, 'none', 'manifest.toml'));
    expect(r.template).toBeUndefined();
    expect(r.problems.map((p) => p.message)).toEqual([
      'file not found; pass --manifest <path to manifest.toml>, or create manifest.toml in this folder (see the README for an example)',
    ]);
  });

  it('syntax error', () => {
    expect(problems('name = "x"\n[workload\n')).toEqual([
      'M:2: TOML syntax error at column 10: unexpected end of line; fix the TOML syntax on this line (see https://toml.io)',
    ]);
  });

  it('required fields, schema_version and name shape', () => {
    expect(problems('schema_version = "2"\nname = "my app"\n')).toEqual([
      'M: version: required but missing; add version = "1.0.0" at the top of the file',
      'M: runtime: required but missing; add runtime = "myapp" at the top of the file (usually the same as name)',
      'M: workload: required but missing; add a [workload] section with entrypoint = "/usr/bin/myapp" (the command the agent starts)',
      'M:1: schema_version: unsupported "2"; use schema_version = "v1" or "1.0" (or leave it out)',
      'M:2: name: must be a simple name of letters, digits, ".", "_" and "-" (it names the output files), got "my app"; e.g. name = "nginx"',
    ]);
  });

  it('unknown keys with suggestions, in sections and [[arrays]]', () => {
    expect(
      problems(`${HEAD}
[resources]
cpu_core = 2

[workload]
entrypoint = "/app"
base_url = "http://127.0.0.1:1"
arg = ["x"]

[[network.expose]]
port = 80

[[network.expose]]
port = 81
protocl = "tcp"

[helth_check]
endpoint = "/"
`),
    ).toEqual([
      'M:6: resources.cpu_core: unknown key in [resources]; did you mean cpu_cores?',
      'M:11: workload.arg: unknown key in [workload]; did you mean args?',
      'M:18: network.expose[1].protocl: unknown key in [network.expose[1]]; did you mean protocol?',
      'M:20: helth_check: unknown section [helth_check]; did you mean [health_check]?',
    ]);
  });

  it('types and ranges', () => {
    expect(
      problems(`${HEAD}enabled = "yes"
[resources]
cpu_cores = 0
memory_mb = 64
[workload]
entrypoint = 5
args = "--x"
base_url = "127.0.0.1:8080"
[env]
PORT = 8080
[network]
mode = "nat"
[[network.expose]]
port = 70000
protocol = "sctp"
`),
    ).toEqual([
      'M:4: enabled: must be true or false, not a string ("yes"); write true or false without quotes',
      'M:6: resources.cpu_cores: must be between 1 and 1024 (got 0); e.g. cpu_cores = 2',
      'M:7: resources.memory_mb: must be between 128 and 1048576 (got 64); e.g. memory_mb = 512',
      'M:9: workload.entrypoint: must be an array of strings, not an integer (5); write it as entrypoint = ["/usr/sbin/nginx", "-g", "daemon off;"]',
      'M:10: workload.args: must be an array of strings, not a string ("--x"); write it as args = ["--port", "8080"]',
      'M:11: workload.base_url: must be an http:// or https:// URL (got "127.0.0.1:8080"); e.g. base_url = "http://127.0.0.1:8080"',
      'M:13: env.PORT: must be a string, not an integer (8080); put the value in double quotes, e.g. [env] with LOG_LEVEL = "info"',
      'M:15: network.mode: must be one of "bridged", "vsock", "dhcp" (got "nat"); e.g. mode = "bridged"',
      'M:17: network.expose[0].port: must be between 1 and 65535 (got 70000); e.g. port = 8080',
      'M:18: network.expose[0].protocol: must be one of "tcp", "udp" (got "sctp"); did you mean "tcp"?',
    ]);
  });

  it('workload: only type "http"; entrypoint needed and not shell syntax; base_url needed', () => {
    expect(problems(HEAD + '[workload]\ntype = "exec"\nentrypoint = "run.sh && x"\n')).toEqual([
      'M:5: workload.type: "exec" is not supported: Volant\'s manifest reader accepts only type = "http" ' +
        '(the agent starts the entrypoint and talks HTTP to base_url); set type = "http" or remove the key',
      'M:6: workload.entrypoint: uses shell syntax (&) but no shell runs the entrypoint; wrap it as ' +
        '["/bin/sh", "-c", "..."]; or write it as an array, e.g. entrypoint = ["/usr/sbin/nginx", "-g", "daemon off;"]',
    ]);
    expect(problems(HEAD + '[workload]\nargs = ["x"]\n[network]\nmode = "vsock"\n')).toEqual([
      'M:4: workload.entrypoint: required but missing; add entrypoint = "/usr/bin/myapp" under [workload] (Volant requires a command to start)',
    ]);
    expect(problems(HEAD + '[workload]\nentrypoint = ""\nbase_url = "http://h:1"\nworkdir = "srv"\n')).toEqual([
      'M:5: workload.entrypoint: is empty; give the command to start, e.g. entrypoint = "/usr/bin/myapp"',
      'M:7: workload.workdir: must be an absolute path inside the VM (got "srv")',
    ]);
  });

  it('health_check, actions, disks, cloud_init, devices rules', () => {
    expect(
      problems(`${HEAD}
[workload]
entrypoint = "/app"
base_url = "http://127.0.0.1:1"

[health_check]
endpoint = "healthz"
timeout_ms = -1

[actions.start]
path = "start"

[[disks]]
source = "/d.img"
format = "vhd"
checksum = "abc"

[cloud_init]
seed_mode = "iso"
user_data = { content = "x", path = "/y" }
meta_data = { content = "x", inline = false }

[devices]
pci_passthrough = ["01:00.0"]
`),
    ).toEqual([
      'M:10: health_check.endpoint: must be a path starting with / (got "healthz"); it is resolved against workload.base_url',
      'M:11: health_check.timeout_ms: must be between 0 and 86400000 (got -1); e.g. timeout_ms = 10000',
      'M:13: actions.start.method: required but missing; add method = "POST" under [actions.start]',
      'M:14: actions.start.path: must start with / (got "start")',
      'M:16: disks[0].name: required but missing; add name = "data"',
      'M:18: disks[0].format: must be one of "raw", "qcow2", "squashfs", "ext4", "xfs", "btrfs" (got "vhd"); e.g. format = "raw"',
      'M:19: disks[0].checksum: must be "<algorithm>:<hex>", e.g. "sha256:<64 hex digits>" (got "abc")',
      'M:22: cloud_init.seed_mode: must be one of "vfat" (got "iso"); e.g. seed_mode = "vfat"',
      'M:23: cloud_init.user_data.path: cannot be combined with content; keep content = "..." (inline) or path = "..." (a file), not both',
      'M:24: cloud_init.meta_data.inline: must be true (or left out) when content is given',
      'M:27: devices.pci_passthrough[0]: must be a PCI address like "0000:01:00.0" (got "01:00.0"); see lspci -D',
    ]);
  });

  it('bridged subnet needs a gateway', () => {
    expect(
      problems(HEAD + '[workload]\nentrypoint = "/a"\nbase_url = "http://h:1"\n[network]\nsubnet = "10.0.0.0/24"\n'),
    ).toEqual([
      'M:8: network.subnet: in bridged mode a subnet needs a gateway; add gateway = "10.1.0.1" or auto_assign = true',
    ]);
  });

  it('loadManifestTemplate throws ConfigError with every problem', () => {
    const file = write('name = 1\n[resources]\nmemory_mb = 1\n');
    expect(() => loadManifestTemplate(file)).toThrow(ConfigError);
    try {
      loadManifestTemplate(file);
    } catch (e) {
      const ce = e as ConfigError;
      expect(ce.exitCode).toBe(2);
      expect(ce.problems.map((p) => [p.line, p.key])).toEqual([
        [undefined, 'version'],
        [undefined, 'runtime'],
        [undefined, 'workload'],
        [1, 'name'],
        [3, 'resources.memory_mb'],
      ]);
    }
  });
});
