// How Volant reads the root filesystem type from a rootfs url (volantvm/volant): the
// `rootfstype=` it boots with comes from the url's extension, not from rootfs.format.
//   - internal/server/orchestrator/orchestrator.go detectRootFSType (52d6f5e): .squashfs,
//     .xfs, .btrfs, .img (ext4), anything else ext4; case-sensitive.
//   - pkg/fsdetect/fsdetect.go DetectFormat (97513f2, used by the orchestrator and the
//     launcher): lower-cased; .squashfs, .qcow2, .xfs, .btrfs, .ext4, .img (ext4), anything
//     else squashfs.
// v0.6.5 (f289af9) always boots rootfs disks as ext4 and takes rootfs.format raw/qcow2 only.

interface UrlRule {
  volant: string;
  lowerCase: boolean;
  suffixes: [string, string][];
  fallback: string;
}

const RULES: UrlRule[] = [
  {
    volant: 'orchestrator detectRootFSType (52d6f5e)',
    lowerCase: false,
    suffixes: [
      ['.squashfs', 'squashfs'],
      ['.xfs', 'xfs'],
      ['.btrfs', 'btrfs'],
      ['.img', 'ext4'],
    ],
    fallback: 'ext4',
  },
  {
    volant: 'fsdetect.DetectFormat (97513f2)',
    lowerCase: true,
    suffixes: [
      ['.squashfs', 'squashfs'],
      ['.qcow2', 'qcow2'],
      ['.xfs', 'xfs'],
      ['.btrfs', 'btrfs'],
      ['.ext4', 'ext4'],
      ['.img', 'ext4'],
    ],
    fallback: 'squashfs',
  },
];

/** The filesystem types newer Volant versions would boot `url` as, one per rule above. */
export function fsTypesVolantReads(url: string): string[] {
  return RULES.map((r) => {
    const u = r.lowerCase ? url.trim().toLowerCase() : url;
    return r.suffixes.find(([suffix]) => u.endsWith(suffix))?.[1] ?? r.fallback;
  });
}

/** The names that every newer Volant reads as `fsType`. */
const SAFE_SUFFIX: Record<string, string> = {
  ext4: '.img or .ext4',
  squashfs: '.squashfs',
  xfs: '.xfs',
  btrfs: '.btrfs',
};

/** A warning when some Volant version would mount the image at `url` as another type, else undefined. */
export function misreadWarning(url: string, fsType: string): string | undefined {
  const wrong = [...new Set(fsTypesVolantReads(url).filter((t) => t !== fsType))];
  if (!wrong.length) return undefined;
  return (
    `newer Volant picks the root filesystem type from the url's extension and would boot this ` +
    `${fsType} image as ${wrong.join(' or ')}; end the name in ${SAFE_SUFFIX[fsType] ?? `.${fsType}`}`
  );
}
