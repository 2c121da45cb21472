// The instructions that change only the image config, or the config and one folder
// (WORKDIR), per the Dockerfile reference: ENV, ARG, LABEL, EXPOSE, USER, WORKDIR,
// ENTRYPOINT, CMD, SHELL, VOLUME, STOPSIGNAL, HEALTHCHECK, ONBUILD, MAINTAINER. Variables
// are expanded where the reference says ("Environment replacement"): ENV, ARG defaults,
// LABEL, EXPOSE, USER, WORKDIR, VOLUME, STOPSIGNAL — not CMD, ENTRYPOINT, SHELL, ONBUILD.
import { posix } from 'node:path';
import type { Time, Tree } from '../tree/tree.js';
import { mkdirDest } from './copy.js';
import { type ContainerConfig, envMap, type ImageConfig, setEnv } from './image-config.js';
import { type Env, expandWord, expandWords, rawWords } from './lex.js';
import type { Instruction } from './parse.js';
import { resolveOwner } from './users.js';

export interface StageState {
  tree: Tree;
  image: ImageConfig;
  /** ARGs declared in this stage: name → value (undefined: declared, no value) */
  args: Map<string, string | undefined>;
  /** CMD was set in this stage (ENTRYPOINT then keeps it) */
  cmdSet: boolean;
}

export interface Scope {
  escape: string;
  epoch: Time;
  /** --build-arg values */
  buildArgs: ReadonlyMap<string, string>;
  /** the global ARGs (before the first FROM) with their values */
  globals: ReadonlyMap<string, string | undefined>;
  /** names of build args some ARG declared */
  used: Set<string>;
}

/** What `$VAR` sees: the stage's ARGs, overridden by its ENV (BuildKit's order). */
export function stageEnv(s: StageState): Env {
  const m = new Map<string, string>();
  for (const [k, v] of s.args) if (v !== undefined) m.set(k, v);
  for (const [k, v] of envMap(s.image.config.Env)) m.set(k, v);
  return m;
}

/** `key=value ...` pairs, or the legacy `key value` form, raw (quotes kept). */
export function keyValues(rest: string, escape: string, legacy: boolean): Array<[string, string]> {
  const words = rawWords(rest, escape);
  if (legacy && words.length && !words[0].includes('=')) {
    const key = words[0];
    return [[key, rest.trim().slice(key.length).trim()]];
  }
  return words.map((w) => {
    const i = w.indexOf('=');
    if (i <= 0) throw new Error(`"${w}" is not key=value; write ${w}=<value>`);
    return [w.slice(0, i), w.slice(i + 1)];
  });
}

/** ARG name[=default]...: a build arg wins over the default; without both, the global value. */
export function declareArgs(
  inst: Instruction,
  env: Env,
  scope: Scope,
  into: Map<string, string | undefined>,
  global: boolean,
): void {
  for (const w of rawWords(inst.rest, scope.escape)) {
    const i = w.indexOf('=');
    const name = i < 0 ? w : w.slice(0, i);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      throw new Error(`"${name}" is not a valid ARG name; use letters, digits and _`);
    let value = i < 0 ? undefined : expandWord(w.slice(i + 1), env, scope.escape);
    if (i < 0 && !global) value = scope.globals.get(name);
    if (scope.buildArgs.has(name)) {
      value = scope.buildArgs.get(name);
      scope.used.add(name);
    }
    into.set(name, value);
  }
}

function shellForm(inst: Instruction, c: ContainerConfig): string[] {
  return inst.json ?? [...(c.Shell ?? ['/bin/sh', '-c']), inst.rest];
}

/** Go time.ParseDuration for HEALTHCHECK flags, in nanoseconds. */
export function parseDuration(v: string): number {
  const units: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(v))
    throw new Error(`"${v}" is not a duration; write e.g. 30s, 1m30s or 500ms`);
  let total = 0;
  for (const m of v.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * units[m[2]];
  return Math.round(total);
}

function healthcheck(inst: Instruction, c: ContainerConfig): void {
  const words = inst.rest.split(/\s+/);
  if (words[0].toUpperCase() === 'NONE') {
    if (inst.flags.length || words.length > 1) throw new Error('HEALTHCHECK NONE takes no flags or arguments');
    c.Healthcheck = { Test: ['NONE'] };
    return;
  }
  if (words[0].toUpperCase() !== 'CMD') throw new Error('HEALTHCHECK needs CMD <command> or NONE');
  const cmd = inst.rest.replace(/^\S+\s*/, '');
  let json: string[] | undefined;
  try {
    json = cmd.startsWith('[') ? (JSON.parse(cmd) as string[]) : undefined;
  } catch {
    json = undefined;
  }
  const hc: ContainerConfig['Healthcheck'] = { Test: json ? ['CMD', ...json] : ['CMD-SHELL', cmd] };
  const names: Record<string, 'Interval' | 'Timeout' | 'StartPeriod' | 'StartInterval'> = {
    interval: 'Interval',
    timeout: 'Timeout',
    'start-period': 'StartPeriod',
    'start-interval': 'StartInterval',
  };
  for (const f of inst.flags) {
    if (f.name === 'retries') hc.Retries = Number(f.value);
    else if (names[f.name]) hc[names[f.name]] = parseDuration(f.value ?? '');
    else
      throw new Error(
        `HEALTHCHECK has no --${f.name}; use --interval, --timeout, --start-period, --start-interval or --retries`,
      );
    if (f.name === 'retries' && !/^\d+$/.test(f.value ?? ''))
      throw new Error(`--retries=${f.value} is not a whole number`);
  }
  c.Healthcheck = hc;
}

function expose(words: string[], c: ContainerConfig): void {
  c.ExposedPorts ??= {};
  for (const w of words) {
    const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(w);
    if (!m) throw new Error(`"${w}" is not a port; write 80, 80/udp or 8000-8010/tcp`);
    const [from, to] = [Number(m[1]), Number(m[2] ?? m[1])];
    for (let p = from; p <= to; p++) c.ExposedPorts[`${p}/${(m[3] ?? 'tcp').toLowerCase()}`] = {};
  }
}

function workdir(s: StageState, dir: string, scope: Scope): void {
  const c = s.image.config;
  const path = posix.normalize(posix.isAbsolute(dir) ? dir : posix.join(c.WorkingDir || '/', dir));
  c.WorkingDir = path;
  let owner;
  try {
    owner = c.User ? resolveOwner(s.tree, c.User) : undefined;
  } catch {
    owner = undefined;
  }
  mkdirDest(s.tree, path, owner, scope.epoch);
}

/** Applies a metadata instruction; false when inst is not one. */
export function applyMetadata(s: StageState, inst: Instruction, scope: Scope): boolean {
  const c = s.image.config;
  const env = stageEnv(s);
  const word = () => expandWord(inst.rest, env, scope.escape);
  switch (inst.cmd) {
    case 'ENV':
      for (const [k, v] of keyValues(inst.rest, scope.escape, true))
        setEnv(c, expandWord(k, env, scope.escape), expandWord(v, env, scope.escape));
      return true;
    case 'ARG':
      declareArgs(inst, env, scope, s.args, false);
      return true;
    case 'LABEL':
      c.Labels ??= {};
      for (const [k, v] of keyValues(inst.rest, scope.escape, true))
        c.Labels[expandWord(k, env, scope.escape)] = expandWord(v, env, scope.escape);
      return true;
    case 'EXPOSE':
      expose(expandWords(inst.rest, env, scope.escape), c);
      return true;
    case 'USER':
      c.User = word();
      return true;
    case 'WORKDIR':
      workdir(s, word(), scope);
      return true;
    case 'CMD':
      c.Cmd = shellForm(inst, c);
      s.cmdSet = true;
      return true;
    case 'ENTRYPOINT':
      c.Entrypoint = shellForm(inst, c);
      if (!s.cmdSet) c.Cmd = null;
      return true;
    case 'SHELL':
      if (!inst.json?.length) throw new Error('SHELL needs the JSON form, e.g. SHELL ["/bin/bash", "-c"]');
      c.Shell = inst.json;
      return true;
    case 'VOLUME':
      c.Volumes ??= {};
      for (const v of inst.json ?? expandWords(inst.rest, env, scope.escape))
        c.Volumes[inst.json ? expandWord(v, env, scope.escape) : v] = {};
      return true;
    case 'STOPSIGNAL':
      c.StopSignal = word();
      return true;
    case 'HEALTHCHECK':
      healthcheck(inst, c);
      return true;
    case 'ONBUILD':
      if (/^(ONBUILD|FROM|MAINTAINER)\b/i.test(inst.rest))
        throw new Error(`ONBUILD cannot trigger ${inst.rest.split(/\s/)[0].toUpperCase()}`);
      c.OnBuild = [...(c.OnBuild ?? []), inst.rest];
      return true;
    case 'MAINTAINER':
      s.image.author = inst.rest;
      return true;
  }
  return false;
}
