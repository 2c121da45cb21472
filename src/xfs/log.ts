// A clean internal log, as mkfs.xfs leaves it (xfsprogs libxfs/rdwr.c libxfs_log_clear
// with cycle 1; xfs_log_format.h): one log record at the log's first basic block —
// header, then one data sector holding an unmount record (an op header with
// XLOG_UNMOUNT_TRANS and the 8-byte xfs_unmount_log_format) — and zeros after it, so the
// kernel finds head and tail at that record and mounts without recovery. As in mkfs the
// record's CRC is 0 (the kernel accepts a zero CRC: xlog_recover_process); the first
// word of the data sector is replaced by the cycle number and kept in h_cycle_data[0].
import { LOG_MAGIC, LOG_OP_HDR, LOG_REC_HDR, SECTOR } from './format.js';

const CYCLE = 1;
/** XFS_TRANSACTION 0x69 is the transaction client; XFS_LOG 0xaa the log's own */
const XFS_LOG = 0xaa;
const XLOG_UNMOUNT_TRANS = 0x20;
const XLOG_UNMOUNT_TYPE = 0x556e;
/** the tid mkfs writes (libxfs_log_header: 0xb0c0d0d0) */
const TID = 0xb0c0d0d0;
/** XLOG_FMT_LINUX_LE */
const FMT_LINUX_LE = 1;
/** XLOG_HEADER_CYCLE_SIZE (h_size: the largest record size, 32 KiB) */
const RECORD_SIZE = 32768;

/** The log's first two sectors; the rest of the log stays zero. */
export function cleanLog(uuid: Uint8Array): Buffer {
  const b = Buffer.alloc(2 * SECTOR);
  const data = b.subarray(SECTOR);
  LOG_OP_HDR.encode({ tid: TID, len: 8, clientid: XFS_LOG, flags: XLOG_UNMOUNT_TRANS }, data);
  data.writeUInt16LE(XLOG_UNMOUNT_TYPE, LOG_OP_HDR.size); // xfs_unmount_log_format.magic, host order
  const firstWord = data.readUInt32BE(0);
  data.writeUInt32BE(CYCLE, 0);
  const lsn = BigInt(CYCLE) << 32n; // cycle 1, block 0
  LOG_REC_HDR.encode(
    {
      magicno: LOG_MAGIC,
      cycle: CYCLE,
      version: 2,
      len: SECTOR,
      lsn,
      tail_lsn: lsn,
      prev_block: 0xffffffff,
      num_logops: 1,
      cycle_data0: firstWord,
      fmt: FMT_LINUX_LE,
      fs_uuid: uuid,
      size: RECORD_SIZE,
    },
    b,
  );
  return b;
}
