// xfs_da_hashname (fs/xfs/libxfs/xfs_da_btree.c; XFS book "Directories"): the name hash
// of directory leaves and attribute leaves, seven bits of rotation per byte.

function rol32(x: number, n: number): number {
  return ((x << n) | (x >>> (32 - n))) >>> 0;
}

export function daHash(name: Uint8Array): number {
  let h = 0;
  let i = 0;
  for (; name.length - i >= 4; i += 4)
    h = ((name[i] << 21) ^ (name[i + 1] << 14) ^ (name[i + 2] << 7) ^ name[i + 3] ^ rol32(h, 28)) >>> 0;
  switch (name.length - i) {
    case 3:
      return ((name[i] << 14) ^ (name[i + 1] << 7) ^ name[i + 2] ^ rol32(h, 21)) >>> 0;
    case 2:
      return ((name[i] << 7) ^ name[i + 1] ^ rol32(h, 14)) >>> 0;
    case 1:
      return (name[i] ^ rol32(h, 7)) >>> 0;
    default:
      return h;
  }
}
