// What the PAX tar `export` writes can hold so that GNU tar extracts the same tree.
import type { FormatLimits } from '../tree/limits.js';

export const TAR_LIMITS: FormatLimits = {
  format: 'tar export',
  // pax `path` has no limit, but the names are extracted on Linux: NAME_MAX 255
  // (include/uapi/linux/limits.h)
  name: 255,
  // symlink(2) takes at most PATH_MAX (4096) with the NUL
  symlink: 4095,
  links: Number.MAX_SAFE_INTEGER,
  // pax `size` is decimal without a limit; this writer counts in JS numbers
  fileSize: Number.MAX_SAFE_INTEGER,
  // GNU tar reads pax uid/gid into a 32-bit uid_t/gid_t
  id: 2 ** 32 - 1,
  // devmajor/devminor are 8-byte octal fields (7 digits and a NUL; POSIX ustar) and
  // pax has no record for them
  major: 0o7777777,
  minor: 0o7777777,
};
