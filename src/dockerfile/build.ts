// Builds a Dockerfile into an image (config + tree) without a daemon: every stage the
// target needs — and only those — is built once, in order of need (Dockerfile
// reference, multi-stage builds; BuildKit skips unused stages too). A stage starts from
// its base (an earlier stage, scratch, or an image through the existing sources), runs
// its base image's ONBUILD triggers, then its instructions.
import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { defaultCacheDir } from '../cache.js';
import { BuildError, relocated, UsageError } from '../errors.js';
import { flatten } from '../oci/image.js';
import { openImage } from '../oci/sources/open.js';
import { cloneTree } from '../tree/clone.js';
import { Tree, type Time } from '../tree/tree.js';
import { contextIgnore, loadContext } from './context.js';
import { dispatchCopy } from './copy-instruction.js';
import { DockerfileError } from './errors.js';
import { baseConfig, configJson, type ImageConfig, scratchConfig } from './image-config.js';
import { expandWord } from './lex.js';
import { applyMetadata, declareArgs, type Scope, type StageState } from './metadata.js';
import { type Dockerfile, type Instruction, parseDockerfile } from './parse.js';
import { platformArgs, splitPlatform } from './platform.js';
import { dispatchRun } from './run.js';
import { findStage, type Stage, splitStages, type Stages } from './stages.js';

export interface DockerfileOptions {
  /** absolute path of the Dockerfile */
  dockerfile: string;
  /** absolute path of the context folder */
  context: string;
  target?: string;
  buildArgs: Record<string, string>;
  /** os/arch[/variant] of the built image; default linux/amd64 */
  platform?: string;
  insecure?: string[];
  /** where relative image paths (oci:, docker-archive:) in FROM resolve */
  cwd: string;
  epoch: Time;
  /** SOURCE_DATE_EPOCH, when set: times in RUN layers newer than it become it (BuildKit's rewrite-timestamp) */
  clamp?: Time;
  log: (line: string) => void;
  /** run every RUN step in a VM, even when the step cache has it */
  noCache?: boolean;
  /** the cache folder (src/cache.ts): images, ADD downloads and archives, RUN steps, the VM's kernel; default defaultCacheDir() */
  cacheDir?: string;
}

export interface BuiltImage {
  /** the Dockerfile's folder name (Fledge's direct mode names the artifact after it) */
  name: string;
  image: ImageConfig;
  /** the config JSON (/etc/fsify-entrypoint) */
  config: Buffer;
  tree: Tree;
}

export class Builder {
  readonly file: string;
  readonly df: Dockerfile;
  readonly plan: Stages;
  readonly scope: Scope;
  private built = new Map<number, Promise<StageState>>();
  private images = new Map<string, Promise<{ tree: Tree; config: Buffer }>>();
  private contextTree?: Tree;

  readonly o: DockerfileOptions & { cacheDir: string };
  constructor(o: DockerfileOptions) {
    this.o = { ...o, cacheDir: o.cacheDir ?? defaultCacheDir() };
    this.file = basename(o.dockerfile);
    let text: string;
    try {
      text = readFileSync(o.dockerfile, 'utf8');
    } catch {
      throw new UsageError(`${o.dockerfile}: no such Dockerfile; give the path of an existing file`);
    }
    this.df = parseDockerfile(text, this.file);
    for (const w of this.df.warnings) o.log(`warning: ${w}`);
    this.plan = splitStages(this.df, this.file);
    const globals = new Map<string, string | undefined>(platformArgs(o.platform));
    this.scope = {
      escape: this.df.escape,
      epoch: o.epoch,
      buildArgs: new Map(Object.entries(o.buildArgs)),
      globals,
      used: new Set(),
    };
    for (const inst of this.plan.globals)
      this.wrap(inst, () => declareArgs(inst, defined(globals), this.scope, globals, true));
  }

  /** Runs fn for inst; errors become one line naming the Dockerfile line. */
  wrap<T>(inst: Instruction, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw this.located(inst, e);
    }
  }

  located(inst: Instruction, e: unknown): Error {
    if (e instanceof DockerfileError) return e;
    const msg = `${this.file}:${inst.line}: ${inst.cmd}: ${(e as Error).message}`;
    return e instanceof BuildError && !(e instanceof UsageError)
      ? relocated(e, msg)
      : new DockerfileError(this.file, inst.line, `${inst.cmd}: ${(e as Error).message}`, { cause: e });
  }

  targetStage(): Stage {
    const { stages } = this.plan;
    if (!this.o.target) return stages[stages.length - 1];
    const s = stages.find((st) => st.name === this.o.target!.toLowerCase());
    const names = stages.flatMap((st) => (st.name ? [st.name] : []));
    if (!s)
      throw new UsageError(
        `--target ${this.o.target}: no stage has that name in ` +
          `${this.file}${names.length ? ` (stages: ${names.join(', ')})` : ' (no stage is named: add AS name to a FROM)'}`,
      );
    return s;
  }

  stage(s: Stage): Promise<StageState> {
    let p = this.built.get(s.index);
    if (!p) {
      p = this.runStage(s);
      this.built.set(s.index, p);
    }
    return p;
  }

  async runStage(s: Stage): Promise<StageState> {
    const state = await this.from(s);
    const triggers = state.image.config.OnBuild ?? [];
    state.image.config.OnBuild = null;
    for (const t of triggers) {
      const inst = parseDockerfile(t, this.file).instructions[0];
      if (inst) await this.dispatch(s, state, { ...inst, line: s.from.line });
    }
    for (const inst of s.body) await this.dispatch(s, state, inst);
    return state;
  }

  async dispatch(s: Stage, state: StageState, inst: Instruction): Promise<void> {
    this.o.log(`[${s.name ?? s.index}] ${this.file}:${inst.line} ${inst.cmd} ${inst.rest.split('\n')[0].slice(0, 80)}`);
    try {
      if (applyMetadata(state, inst, this.scope)) return;
      if (inst.cmd === 'COPY' || inst.cmd === 'ADD') return await dispatchCopy(this, s, state, inst);
      if (inst.cmd === 'RUN') return await dispatchRun(this, s, state, inst);
      throw new DockerfileError(
        this.file,
        inst.line,
        `unknown instruction ${inst.cmd}; see the Dockerfile reference for the instructions`,
      );
    } catch (e) {
      throw this.located(inst, e);
    }
  }

  async from(s: Stage): Promise<StageState> {
    const env = defined(this.scope.globals);
    const base = this.wrap(s.from, () => expandWord(s.base, env, this.scope.escape));
    const platformFlag = s.from.flags.find((f) => f.name === 'platform')?.value;
    const platform =
      platformFlag === undefined
        ? this.o.platform
        : this.wrap(s.from, () => expandWord(platformFlag, env, this.scope.escape));
    this.o.log(`[${s.name ?? s.index}] ${this.file}:${s.from.line} FROM ${base}`);
    const earlier = findStage(this.plan.stages, base, s.index);
    if (earlier && !/^\d+$/.test(base)) {
      const st = await this.stage(earlier);
      return { tree: cloneTree(st.tree), image: structuredClone(st.image), args: new Map(), cmdSet: false };
    }
    if (base.toLowerCase() === 'scratch') {
      return {
        tree: new Tree({ mode: 0o755, mtime: this.o.epoch }),
        image: scratchConfig(splitPlatform(platform)),
        args: new Map(),
        cmdSet: false,
      };
    }
    const img = await this.image(s.from, base, platform);
    return {
      tree: cloneTree(img.tree),
      image: baseConfig(img.config, splitPlatform(platform)),
      args: new Map(),
      cmdSet: false,
    };
  }

  /** An image's flattened tree and config, opened once per reference and platform. */
  image(inst: Instruction, ref: string, platform: string | undefined): Promise<{ tree: Tree; config: Buffer }> {
    const key = `${ref}\n${platform ?? ''}`;
    let p = this.images.get(key);
    if (!p) {
      p = (async () => {
        const local = await openImage(ref, {
          cwd: this.o.cwd,
          log: this.o.log,
          platform,
          insecure: this.o.insecure,
          cacheDir: this.o.cacheDir,
        });
        return { tree: await flatten(local, this.o.log, this.o.epoch), config: local.config };
      })().catch((e: unknown) => {
        throw this.located(inst, e);
      });
      this.images.set(key, p);
    }
    return p;
  }

  /** The context as a tree, loaded on first use. */
  context(): Tree {
    this.contextTree ??= loadContext(this.o.context, contextIgnore(this.o.context, this.o.dockerfile));
    return this.contextTree;
  }
}

/** The variables that have values. */
export function defined(m: ReadonlyMap<string, string | undefined>): Map<string, string> {
  return new Map([...m].filter((e): e is [string, string] => e[1] !== undefined));
}

export async function buildDockerfile(o: DockerfileOptions): Promise<BuiltImage> {
  const b = new Builder(o);
  const target = b.targetStage();
  const state = await b.stage(target);
  const unused = [...b.scope.buildArgs.keys()].filter((k) => !b.scope.used.has(k));
  if (unused.length) o.log(`warning: build args not used by any ARG: ${unused.join(', ')}`);
  return {
    name: basename(dirname(o.dockerfile)),
    image: state.image,
    config: configJson(state.image),
    tree: state.tree,
  };
}
