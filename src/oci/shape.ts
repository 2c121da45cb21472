// The JSON documents of an image, checked against the shapes their specs give before
// anything reads them: the image manifest and index (image-spec manifest.md,
// image-index.md, descriptor.md; Docker's schema2 manifest and manifest list have the
// same fields), the image config's rootfs (config.md), and `docker save`'s manifest.json
// (an array of {Config, RepoTags, Layers}; moby image/tarexport). A bad document is one
// line naming it, the field and what is wrong; its bytes are never quoted (a blob may be
// any file).
import { ImageError } from '../errors.js';
import type { Descriptor, ImageIndex, ImageManifest } from './manifest.js';

type Obj = Record<string, unknown>;

/** descriptor.md: algorithm ":" encoded, algorithm = component ([+._-] component)* */
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

export class DocumentError extends ImageError {}

function fail(where: string, doc: string, what: string): never {
  throw new DocumentError(`${where}: ${doc}: ${what}; the image is malformed — rebuild it, or pull or save it again`);
}

/** JSON.parse whose error names the document, never its bytes. */
export function parseDocument(bytes: Buffer, where: string, doc: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return fail(where, doc, `is not valid JSON (${bytes.length} bytes)`);
  }
}

function str(o: Obj, key: string, at: string, where: string, doc: string, optional = false): void {
  if (optional && o[key] === undefined) return;
  if (typeof o[key] !== 'string') fail(where, doc, `${at}${key} must be a string, not ${kind(o[key])}`);
}

function strings(v: unknown, at: string, where: string, doc: string): void {
  if (!Array.isArray(v)) fail(where, doc, `${at} must be an array of strings, not ${kind(v)}`);
  const bad = v.findIndex((s) => typeof s !== 'string');
  if (bad >= 0) fail(where, doc, `${at}[${bad}] must be a string, not ${kind(v[bad])}`);
}

function stringMap(v: unknown, at: string, where: string, doc: string): void {
  if (!isObject(v)) fail(where, doc, `${at} must be an object of strings, not ${kind(v)}`);
  for (const [k, s] of Object.entries(v))
    if (typeof s !== 'string') fail(where, doc, `${at}.${k} must be a string, not ${kind(s)}`);
}

/** A descriptor at `at` (e.g. "layers[2]"). */
export function checkDescriptor(v: unknown, at: string, where: string, doc: string): Descriptor {
  if (!isObject(v)) fail(where, doc, `${at} must be a descriptor object, not ${kind(v)}`);
  str(v, 'mediaType', `${at}.`, where, doc);
  str(v, 'digest', `${at}.`, where, doc);
  if (!DIGEST.test(v.digest as string)) fail(where, doc, `${at}.digest is not a digest (algorithm:hex)`);
  if (typeof v.size !== 'number' || !Number.isSafeInteger(v.size) || v.size < 0)
    fail(where, doc, `${at}.size must be a whole number of bytes ≥ 0`);
  if (v.urls !== undefined) strings(v.urls, `${at}.urls`, where, doc);
  if (v.annotations !== undefined) stringMap(v.annotations, `${at}.annotations`, where, doc);
  if (v.platform !== undefined) {
    if (!isObject(v.platform)) fail(where, doc, `${at}.platform must be an object, not ${kind(v.platform)}`);
    str(v.platform, 'os', `${at}.platform.`, where, doc);
    str(v.platform, 'architecture', `${at}.platform.`, where, doc);
    str(v.platform, 'variant', `${at}.platform.`, where, doc, true);
  }
  return v as unknown as Descriptor;
}

function descriptors(v: unknown, key: string, where: string, doc: string): void {
  if (!Array.isArray(v))
    fail(where, doc, `${key} must be an array of descriptors, not ${v === undefined ? 'missing' : kind(v)}`);
  v.forEach((d, i) => checkDescriptor(d, `${key}[${i}]`, where, doc));
}

function schemaV2(json: unknown, where: string, doc: string): Obj {
  if (!isObject(json)) fail(where, doc, `must be a JSON object, not ${kind(json)}`);
  if (json.schemaVersion !== 2)
    fail(where, doc, `schemaVersion must be 2, not ${JSON.stringify(json.schemaVersion) ?? 'missing'}`);
  str(json, 'mediaType', '', where, doc, true);
  return json;
}

export function checkManifest(json: unknown, where: string, doc = 'image manifest'): ImageManifest {
  const m = schemaV2(json, where, doc);
  if (m.config === undefined) fail(where, doc, 'has no config descriptor');
  checkDescriptor(m.config, 'config', where, doc);
  descriptors(m.layers, 'layers', where, doc);
  return m as unknown as ImageManifest;
}

export function checkIndex(json: unknown, where: string, doc = 'image index'): ImageIndex {
  const x = schemaV2(json, where, doc);
  descriptors(x.manifests, 'manifests', where, doc);
  return x as unknown as ImageIndex;
}

/** The config's rootfs.diff_ids (config.md: rootfs.type "layers", diff_ids digests). */
export function configDiffIds(json: unknown, where: string, doc = 'image config'): string[] {
  if (!isObject(json)) fail(where, doc, `must be a JSON object, not ${kind(json)}`);
  if (!isObject(json.rootfs))
    fail(where, doc, `rootfs must be an object, not ${json.rootfs === undefined ? 'missing' : kind(json.rootfs)}`);
  strings(json.rootfs.diff_ids, 'rootfs.diff_ids', where, doc);
  const ids = json.rootfs.diff_ids as string[];
  const bad = ids.findIndex((d) => !DIGEST.test(d));
  if (bad >= 0) fail(where, doc, `rootfs.diff_ids[${bad}] is not a digest (algorithm:hex)`);
  if (json.config !== undefined && json.config !== null && !isObject(json.config))
    fail(where, doc, `config must be an object, not ${kind(json.config)}`);
  return ids;
}

export interface SaveEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

/** `docker save`'s manifest.json: a non-empty array of {Config, RepoTags?, Layers}. */
export function checkDockerSave(json: unknown, where: string, doc = 'manifest.json'): SaveEntry[] {
  if (!Array.isArray(json) || json.length === 0)
    fail(
      where,
      doc,
      `must be a non-empty array of images, not ${Array.isArray(json) ? 'empty' : kind(json)} (is this a docker save archive?)`,
    );
  json.forEach((e: unknown, i) => {
    if (!isObject(e)) fail(where, doc, `[${i}] must be an object, not ${kind(e)}`);
    str(e, 'Config', `[${i}].`, where, doc);
    strings(e.Layers, `[${i}].Layers`, where, doc);
    if (e.RepoTags !== undefined && e.RepoTags !== null) strings(e.RepoTags, `[${i}].RepoTags`, where, doc);
  });
  return json as SaveEntry[];
}
