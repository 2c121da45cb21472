// The library: what `npx fledge-pure` does, callable from code.
export { build, validate, type BuildOptions, type BuildResult } from './build.js';
export type { FledgeConfig, Problem } from './config/types.js';
export { BuildError, FormatLimitError, ImageError, NetworkError, UsageError } from './errors.js';
export { ConfigError } from './config/toml-file.js';
export { DockerfileError } from './dockerfile/errors.js';
export {
  Tree,
  makeNode,
  setXattr,
  NO_XATTRS,
  type Node,
  type NodeType,
  type FileNode,
  type DirNode,
  type SymlinkNode,
  type DeviceNode,
  type SpecialNode,
  type Time,
} from './tree/tree.js';
export { bytesContent, fileContent, readContent, type Content, type Piece } from './tree/content.js';
export { writeNewc } from './cpio/newc.js';
