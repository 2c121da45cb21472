// ELF, 64-bit little-endian only (x86-64 and AArch64), as far as finding a program's
// interpreter and the shared libraries it names. Source: the System V ABI's "Object
// Files" chapter (gABI, "ELF Header", "Program Header", "Dynamic Section"), as
// /usr/include/elf.h (glibc) declares Elf64_Ehdr, Elf64_Phdr and Elf64_Dyn.
import { defineStruct } from '../struct.js';

/** e_ident: "\x7fELF" (EI_MAG0..3), EI_CLASS at 4, EI_DATA at 5. */
export const MAGIC = 0x7f454c46;
export const ELFCLASS64 = 2;
export const ELFDATA2LSB = 1;

/** e_machine values (elf.h): EM_X86_64, EM_AARCH64. */
export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;

/** p_type: PT_LOAD (a mapped segment), PT_DYNAMIC (the dynamic section), PT_INTERP (the loader's path). */
export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
export const PT_INTERP = 3;

/** d_tag: DT_NULL ends the array, DT_NEEDED (d_val: offset in the string table), DT_STRTAB (its address). */
export const DT_NULL = 0n;
export const DT_NEEDED = 1n;
export const DT_STRTAB = 5n;

/** Elf64_Ehdr. */
export const Ehdr = defineStruct('Elf64_Ehdr', 64, {
  magic: [0, 'be32'],
  ei_class: [4, 'u8'],
  ei_data: [5, 'u8'],
  e_type: [16, 'le16'],
  e_machine: [18, 'le16'],
  e_version: [20, 'le32'],
  e_entry: [24, 'le64'],
  e_phoff: [32, 'le64'],
  e_shoff: [40, 'le64'],
  e_flags: [48, 'le32'],
  e_ehsize: [52, 'le16'],
  e_phentsize: [54, 'le16'],
  e_phnum: [56, 'le16'],
  e_shentsize: [58, 'le16'],
  e_shnum: [60, 'le16'],
  e_shstrndx: [62, 'le16'],
});

/** Elf64_Phdr. */
export const Phdr = defineStruct('Elf64_Phdr', 56, {
  p_type: [0, 'le32'],
  p_flags: [4, 'le32'],
  p_offset: [8, 'le64'],
  p_vaddr: [16, 'le64'],
  p_paddr: [24, 'le64'],
  p_filesz: [32, 'le64'],
  p_memsz: [40, 'le64'],
  p_align: [48, 'le64'],
});

/** Elf64_Dyn. */
export const Dyn = defineStruct('Elf64_Dyn', 16, {
  d_tag: [0, 'le64'],
  d_val: [8, 'le64'],
});
