// A Dockerfile's stages (Dockerfile reference, "FROM", "Understand how ARG and FROM
// interact", multi-stage builds): the ARGs before the first FROM are global; each FROM
// starts a stage, named by `AS name` (case-insensitive) or known by its index.
import { DockerfileError } from './errors.js';
import type { Dockerfile, Instruction } from './parse.js';

export interface Stage {
  index: number;
  /** lower case, when the FROM has `AS name` */
  name?: string;
  from: Instruction;
  /** the image (or stage name) as written, before expansion */
  base: string;
  body: Instruction[];
}

export interface Stages {
  globals: Instruction[];
  stages: Stage[];
}

const NAME = /^[a-z][a-z0-9._-]*$/;

function stageOf(inst: Instruction, index: number, file: string): Stage {
  const words = inst.rest.split(/\s+/).filter(Boolean);
  if (words.length !== 1 && !(words.length === 3 && words[1].toUpperCase() === 'AS')) {
    throw new DockerfileError(
      file,
      inst.line,
      'FROM takes an image and an optional "AS name": FROM [--platform=...] image[:tag] [AS name]',
    );
  }
  for (const f of inst.flags)
    if (f.name !== 'platform')
      throw new DockerfileError(file, inst.line, `FROM has no --${f.name}; the only flag is --platform`);
  const name = words[2]?.toLowerCase();
  if (name !== undefined && !NAME.test(name))
    throw new DockerfileError(
      file,
      inst.line,
      `"${words[2]}" is not a valid stage name; use letters, digits, ".", "_" and "-", starting with a letter`,
    );
  return { index, name, from: inst, base: words[0], body: [] };
}

export function splitStages(df: Dockerfile, file: string): Stages {
  const globals: Instruction[] = [];
  const stages: Stage[] = [];
  for (const inst of df.instructions) {
    if (inst.cmd === 'FROM') {
      const s = stageOf(inst, stages.length, file);
      if (s.name && stages.some((o) => o.name === s.name))
        throw new DockerfileError(
          file,
          inst.line,
          `stage name "${s.name}" is used twice; give each stage its own name`,
        );
      stages.push(s);
    } else if (!stages.length) {
      if (inst.cmd !== 'ARG')
        throw new DockerfileError(file, inst.line, `${inst.cmd} before the first FROM; only ARG may come before FROM`);
      globals.push(inst);
    } else {
      stages[stages.length - 1].body.push(inst);
    }
  }
  if (!stages.length)
    throw new DockerfileError(
      file,
      df.instructions.length ? df.instructions[df.instructions.length - 1].line : 1,
      'no FROM instruction; a Dockerfile starts with FROM image (or FROM scratch)',
    );
  return { globals, stages };
}

/** The stage a name or index refers to, among those before `before`. */
export function findStage(stages: Stage[], ref: string, before: number): Stage | undefined {
  const lower = ref.toLowerCase();
  const byName = stages.find((s) => s.name === lower && s.index < before);
  if (byName) return byName;
  return /^\d+$/.test(ref) && Number(ref) < before ? stages[Number(ref)] : undefined;
}
