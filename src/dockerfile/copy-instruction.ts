// COPY and ADD as instructions: flags, word expansion, here-document sources, the
// source tree (--from a stage or image, else the context), ADD's URLs and local
// archives; the copying itself is copy.ts.
import { statSync } from 'node:fs';
import { posix } from 'node:path';
import { download } from '../download.js';
import { bytesContent, fileContent } from '../tree/content.js';
import { makeNode, type Tree } from '../tree/tree.js';
import { archiveTree } from './archive.js';
import type { Builder } from './build.js';
import { type CopyOptions, type CopySource, copyChildren, copyInto, mkdirDest, resolveSources } from './copy.js';
import { type Env, expandHeredoc, expandWord, expandWords } from './lex.js';
import { type StageState, stageEnv } from './metadata.js';
import type { Flag, Instruction } from './parse.js';
import { findStage, type Stage } from './stages.js';
import { resolveOwner } from './users.js';

const FLAGS: Record<string, string[]> = {
  COPY: ['from', 'chown', 'chmod', 'link'],
  ADD: ['from', 'chown', 'chmod', 'link', 'checksum', 'keep-git-dir'],
};

function flagValue(flags: Flag[], name: string, env: Env, escape: string): string | undefined {
  const f = flags.find((x) => x.name === name);
  if (!f) return undefined;
  if (f.value === undefined || f.value === '') throw new Error(`--${name} needs a value, e.g. --${name}=...`);
  return expandWord(f.value, env, escape);
}

function checkFlags(inst: Instruction): void {
  for (const f of inst.flags) {
    if (f.name === 'parents' || f.name === 'exclude')
      throw new Error(`--${f.name} is not supported by fledge-pure yet; list the sources without it`);
    if (!FLAGS[inst.cmd].includes(f.name))
      throw new Error(
        `${inst.cmd} has no --${f.name}; its flags are ${FLAGS[inst.cmd].map((n) => `--${n}`).join(', ')}`,
      );
  }
}

function parseChmod(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[0-7]{3,4}$/.test(v))
    throw new Error(`--chmod=${v}: write the mode in octal, e.g. --chmod=755 or --chmod=0644`);
  return parseInt(v, 8);
}

/** The words (sources and dest), expanded; here-document markers kept as they are. */
function copyWords(inst: Instruction, env: Env, escape: string): string[] {
  const words = inst.json ? inst.json.map((w) => expandWord(w, env, escape)) : expandWords(inst.rest, env, escape);
  if (words.length < 2)
    throw new Error(`${inst.cmd} needs at least one source and a destination: ${inst.cmd} <src>... <dest>`);
  return words;
}

function heredocSource(inst: Instruction, word: string, env: Env, o: CopyOptions): CopySource | undefined {
  const name = /^<<-?([A-Za-z_][A-Za-z0-9_]*)$/.exec(word)?.[1];
  const doc = name === undefined ? undefined : inst.heredocs.find((h) => h.name === name);
  if (!doc) return undefined;
  const text = doc.expand ? expandHeredoc(doc.content, env) : doc.content;
  return {
    name: name!,
    node: makeNode('file', { mode: 0o644, mtime: o.epoch }, { content: bytesContent(Buffer.from(text)) }),
  };
}

async function urlSource(
  url: string,
  checksum: string | undefined,
  o: CopyOptions,
  cacheDir: string,
): Promise<CopySource> {
  const hex = checksum?.replace(/^sha256:/, '');
  if (checksum !== undefined && !/^[0-9a-f]{64}$/.test(hex!))
    throw new Error(`--checksum=${checksum}: write sha256:<64 hex digits>`);
  const path = await download(
    url,
    hex,
    `ADD ${url}`,
    'check the URL, or download the file into the context and COPY it',
    {},
    cacheDir,
  );
  const name = posix.basename(new URL(url).pathname) || 'index.html';
  return {
    name,
    node: makeNode('file', { mode: 0o600, mtime: o.epoch }, { content: fileContent(path, statSync(path).size) }),
  };
}

export async function sourceTree(
  b: Builder,
  s: Stage,
  from: string | undefined,
  inst: Instruction,
): Promise<{ tree: Tree; fromContext: boolean; where: string }> {
  if (from === undefined) return { tree: b.context(), fromContext: true, where: 'the build context' };
  const stage = findStage(b.plan.stages, from, s.index);
  if (stage) return { tree: (await b.stage(stage)).tree, fromContext: false, where: `stage ${from}` };
  if (findStage(b.plan.stages, from, Infinity))
    throw new Error(`--from=${from} names a later stage (or this one); a stage can only copy from stages above it`);
  return { tree: (await b.image(inst, from, b.o.platform)).tree, fromContext: false, where: `image ${from}` };
}

export async function dispatchCopy(b: Builder, s: Stage, state: StageState, inst: Instruction): Promise<void> {
  checkFlags(inst);
  const { escape } = b.scope;
  const env = stageEnv(state);
  const chown = flagValue(inst.flags, 'chown', env, escape);
  const from = flagValue(inst.flags, 'from', env, escape);
  const checksum = flagValue(inst.flags, 'checksum', env, escape);
  const words = copyWords(inst, env, escape);
  const destWord = words.pop()!;
  const dest = posix.isAbsolute(destWord)
    ? destWord
    : posix.join(state.image.config.WorkingDir || '/', destWord) + (destWord.endsWith('/') ? '/' : '');
  const src = await sourceTree(b, s, from, inst);
  const o: CopyOptions = {
    src: src.tree,
    fromContext: src.fromContext,
    chown: chown === undefined ? undefined : resolveOwner(state.tree, chown),
    chmod: parseChmod(flagValue(inst.flags, 'chmod', env, escape)),
    epoch: b.o.epoch,
  };
  if (checksum !== undefined && !words.every((w) => /^https?:\/\//.test(w)))
    throw new Error('--checksum is only for URL sources');
  const sources: CopySource[] = [];
  const archives: Tree[] = [];
  for (const w of words) {
    const doc = heredocSource(inst, w, env, o);
    if (doc) sources.push(doc);
    else if (inst.cmd === 'ADD' && /^https?:\/\//.test(w)) sources.push(await urlSource(w, checksum, o, b.o.cacheDir));
    else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(w) || (inst.cmd === 'ADD' && /^git@/.test(w)))
      throw new Error(
        `${w}: ${inst.cmd} takes local paths${inst.cmd === 'ADD' ? ' and http(s) URLs' : ''}; git sources are not supported`,
      );
    else await localSources(inst, src, w, { sources, archives, cacheDir: b.o.cacheDir });
  }
  if (sources.length + archives.length > 1 && !dest.endsWith('/')) {
    const existing = state.tree.get(state.tree.resolve(dest, true).join('/'));
    if (existing?.type !== 'dir')
      throw new Error(`with more than one source the destination must be a folder ending in "/": write ${destWord}/`);
  }
  copyInto(state.tree, dest, sources, o);
  for (const a of archives)
    copyChildren(
      state.tree,
      mkdirDest(state.tree, dest, o.chown, o.epoch),
      a.root,
      { ...o, fromContext: false },
      new Map(),
    );
}

async function localSources(
  inst: Instruction,
  src: { tree: Tree; fromContext: boolean; where: string },
  word: string,
  into: { sources: CopySource[]; archives: Tree[]; cacheDir: string },
): Promise<void> {
  const { sources, archives } = into;
  for (const found of resolveSources(src.tree, [word], src.where)) {
    const archive =
      inst.cmd === 'ADD' && src.fromContext && found.node.type === 'file'
        ? await archiveTree(found.node.content, word, into.cacheDir)
        : undefined;
    if (archive) archives.push(archive);
    else sources.push(found);
  }
}
