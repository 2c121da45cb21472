// A v3 inode (xfs_format.h struct xfs_dinode; XFS book "On-disk Inode"): the 176-byte core,
// then the data fork and, from di_forkoff * 8, the attribute fork. Times are bigtime:
// nanoseconds since 1901-12-13 (XFS_BIGTIME_EPOCH_OFFSET) in one be64. v3 inodes keep the
// link count in di_nlink (di_onlink stays 0), their own number and the filesystem UUID,
// and a CRC over all 512 bytes.
import type { Time } from '../tree/tree.js';
import { sealCrc } from './crc.js';
import { BIGTIME_EPOCH_OFFSET, DIFLAG2_BIGTIME, DINODE, DINODE_MAGIC, FMT, INODE_SIZE, NULLAGINO } from './format.js';

export interface InodeFields {
  ino: number;
  uuid: Uint8Array;
  mode: number;
  format: number;
  uid: number;
  gid: number;
  nlink: number;
  time: Time;
  size: number;
  nblocks: number;
  nextents: number;
  flags?: number;
  dataFork: Uint8Array;
  /** the attribute fork and its offset in 8-byte units; none when absent */
  attr?: { forkoff: number; format: number; nextents: number; fork: Uint8Array };
}

export function bigtime(t: Time): bigint {
  return (BigInt(t.sec) + BIGTIME_EPOCH_OFFSET) * 1_000_000_000n + BigInt(t.nsec);
}

export function encodeInode(f: InodeFields): Buffer {
  const b = Buffer.alloc(INODE_SIZE);
  const t = bigtime(f.time);
  DINODE.encode(
    {
      magic: DINODE_MAGIC,
      mode: f.mode,
      version: 3,
      format: f.format,
      uid: f.uid,
      gid: f.gid,
      nlink: f.nlink,
      atime: t,
      mtime: t,
      ctime: t,
      crtime: t,
      size: f.size,
      nblocks: f.nblocks,
      nextents: f.nextents,
      anextents: f.attr?.nextents ?? 0,
      forkoff: f.attr?.forkoff ?? 0,
      aformat: f.attr?.format ?? FMT.extents,
      flags: f.flags ?? 0,
      next_unlinked: NULLAGINO,
      changecount: 1,
      flags2: DIFLAG2_BIGTIME,
      ino: f.ino,
      uuid: f.uuid,
    },
    b,
  );
  b.set(f.dataFork, DINODE.size);
  if (f.attr) b.set(f.attr.fork, DINODE.size + f.attr.forkoff * 8);
  sealCrc(b, DINODE.fields.crc[0]);
  return b;
}

/** A never-used inode of an allocated chunk, as xfs_ialloc_inode_init writes it. */
export function freeInode(ino: number, uuid: Uint8Array): Buffer {
  const b = Buffer.alloc(INODE_SIZE);
  DINODE.encode({ magic: DINODE_MAGIC, version: 3, next_unlinked: NULLAGINO, ino, uuid }, b);
  sealCrc(b, DINODE.fields.crc[0]);
  return b;
}
