// What a newc initramfs can hold so that the kernel unpacks the same tree (the kernel
// is its reader: init/initramfs.c).
import type { FormatLimits } from '../tree/limits.js';

const PATH_MAX = 4096; // include/uapi/linux/limits.h, with the NUL

export const NEWC_LIMITS: FormatLimits = {
  format: 'initramfs (newc cpio)',
  // the rootfs (tmpfs/ramfs) takes names of at most NAME_MAX (255) bytes
  name: 255,
  // do_header() skips an entry whose name_len (with its NUL) is over PATH_MAX
  path: PATH_MAX - 1,
  // do_symlink() → init_symlink(): symlink(2) takes at most PATH_MAX with the NUL
  symlink: PATH_MAX - 1,
  // newc fields are 8 hex digits (Documentation/driver-api/early-userspace/buffer-format.rst)
  links: 2 ** 32 - 1,
  fileSize: 2 ** 32 - 1,
  id: 2 ** 32 - 1,
  // the fields hold 32 bits, but parse_header() makes the device with
  // new_encode_dev(MKDEV(major, minor)) (include/linux/kdev_t.h: MINORBITS 20, a
  // 32-bit dev_t): a wider major or minor would become another device
  major: 0xfff,
  minor: 0xfffff,
};
