// What a dynamically linked program needs to run elsewhere: its machine, its
// interpreter (PT_INTERP, the dynamic loader's path) and the libraries its dynamic
// section names (DT_NEEDED), read from the program headers as the loader does (no
// section headers: a stripped file may have none). Used for the tools of a build VM of
// another architecture, where the host's ldd cannot run them.
import { BuildError } from '../errors.js';
import {
  DT_NEEDED,
  DT_NULL,
  DT_STRTAB,
  Dyn,
  Ehdr,
  ELFCLASS64,
  ELFDATA2LSB,
  MAGIC,
  Phdr,
  PT_DYNAMIC,
  PT_INTERP,
  PT_LOAD,
} from './format.js';

export interface ElfInfo {
  machine: number;
  /** the loader's path (PT_INTERP); absent in a static program */
  interp?: string;
  /** DT_NEEDED names, in order */
  needed: string[];
}

const cString = (buf: Buffer, at: number): string => buf.toString('latin1', at, buf.indexOf(0, at));

export function readElf(buf: Buffer, where: string): ElfInfo {
  if (buf.length < Ehdr.size) throw new BuildError(`${where} is not an ELF file`);
  const h = Ehdr.decode(buf);
  if (h.magic !== MAGIC) throw new BuildError(`${where} is not an ELF file`);
  if (h.ei_class !== ELFCLASS64 || h.ei_data !== ELFDATA2LSB)
    throw new BuildError(`${where}: only 64-bit little-endian ELF files are read`);
  const phdrs = Array.from({ length: h.e_phnum }, (_, i) => Phdr.decode(buf, Number(h.e_phoff) + i * h.e_phentsize));
  const out: ElfInfo = { machine: h.e_machine, needed: [] };
  const interp = phdrs.find((p) => p.p_type === PT_INTERP);
  if (interp) out.interp = cString(buf, Number(interp.p_offset));
  const dynamic = phdrs.find((p) => p.p_type === PT_DYNAMIC);
  if (!dynamic) return out;
  const entries: Array<{ tag: bigint; val: bigint }> = [];
  for (let at = Number(dynamic.p_offset); at + Dyn.size <= buf.length; at += Dyn.size) {
    const d = Dyn.decode(buf, at);
    if (d.d_tag === DT_NULL) break;
    entries.push({ tag: d.d_tag, val: d.d_val });
  }
  const strtab = entries.find((e) => e.tag === DT_STRTAB);
  if (!strtab) return out;
  // DT_STRTAB is an address: the PT_LOAD segment holding it gives its file offset
  const seg = phdrs.find((p) => p.p_type === PT_LOAD && p.p_vaddr <= strtab.val && strtab.val < p.p_vaddr + p.p_filesz);
  if (!seg) throw new BuildError(`${where}: its string table is in no loaded segment`);
  const base = Number(strtab.val - seg.p_vaddr + seg.p_offset);
  out.needed = entries.filter((e) => e.tag === DT_NEEDED).map((e) => cString(buf, base + Number(e.val)));
  return out;
}
