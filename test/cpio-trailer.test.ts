// A file named TRAILER!!! in the image must not end the initramfs: GNU cpio and bsdtar
// stop at the first entry of that exact name, and the kernel skips it and forgets the
// hard links seen before it. The writer stores it as "./TRAILER!!!". Checked with GNU
// cpio, bsdtar, and the kernel (one QEMU boot).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gzipStream } from '../src/compress.js';
import { writeNewc } from '../src/cpio/newc.js';
import { bytesContent } from '../src/tree/content.js';
import { makeNode, Tree } from '../src/tree/tree.js';
import { bootInitramfs } from './helpers/qemu.js';

const scratch = mkdtempSync(join(tmpdir(), 'fp-trailer-'));

const file = (data: string | Buffer, mode = 0o644) =>
  makeNode('file', { mode }, { content: bytesContent(Buffer.from(data)) });

/** A tree whose names sort around TRAILER!!!: "A" before it, everything lowercase after, a hard link across it. */
function trailerTree(): Tree {
  const t = new Tree();
  const shared = file('shared\n');
  t.set('A', shared);
  t.set('TRAILER!!!', file('not the end\n'));
  t.set('sub/TRAILER!!!', file('nested\n'));
  t.set('z', shared);
  t.set('zz/last', file('last\n'));
  return t;
}

function newc(tree: Tree): Buffer {
  const parts: Buffer[] = [];
  writeNewc(tree, (c) => parts.push(Buffer.from(c)));
  return Buffer.concat(parts);
}

describe('a file named TRAILER!!!', () => {
  const archive = join(scratch, 'trailer.cpio');
  writeFileSync(archive, newc(trailerTree()));

  it('GNU cpio lists and extracts every entry after it, with the hard link', () => {
    const names = execFileSync('cpio', ['-it', '--quiet', '-F', archive], { encoding: 'utf8' }).trim().split('\n');
    expect(names).toEqual(['.', 'A', './TRAILER!!!', 'sub', 'sub/TRAILER!!!', 'z', 'zz', 'zz/last']);
    const out = join(scratch, 'gnu');
    mkdirSync(out);
    execFileSync('cpio', ['-id', '--quiet', '-F', archive], { cwd: out });
    expect(readFileSync(join(out, 'TRAILER!!!'), 'utf8')).toBe('not the end\n');
    expect(readFileSync(join(out, 'zz/last'), 'utf8')).toBe('last\n');
    expect(statSync(join(out, 'z')).ino).toBe(statSync(join(out, 'A')).ino);
  });

  it('bsdtar lists and extracts every entry after it', () => {
    const out = join(scratch, 'bsd');
    mkdirSync(out);
    execFileSync('bsdtar', ['-xf', archive], { cwd: out });
    expect(readFileSync(join(out, 'TRAILER!!!'), 'utf8')).toBe('not the end\n');
    expect(readFileSync(join(out, 'sub/TRAILER!!!'), 'utf8')).toBe('nested\n');
    expect(readFileSync(join(out, 'zz/last'), 'utf8')).toBe('last\n');
    expect(statSync(join(out, 'z')).ino).toBe(statSync(join(out, 'A')).ino);
  });

  it('the kernel unpacks it, keeps the hard link across it, and boots', async () => {
    const t = trailerTree();
    t.set('bin/busybox', file(readFileSync('/bin/busybox'), 0o755));
    const init = [
      '#!/bin/busybox sh',
      'B=/bin/busybox',
      'echo "T trailer=$($B cat "/TRAILER!!!") nested=$($B cat "/sub/TRAILER!!!") last=$($B cat /zz/last)"',
      'echo "T links=$($B stat -c %h:%i /A)/$($B stat -c %h:%i /z) z=$($B cat /z)"',
      '$B poweroff -f',
    ].join('\n');
    t.set('init', file(init + '\n', 0o755));
    const gz: Buffer[] = [];
    const stream = gzipStream(1, (c) => gz.push(Buffer.from(c)));
    writeNewc(t, (c) => stream.write(c));
    stream.end();
    const initrd = join(scratch, 'trailer.cpio.gz');
    writeFileSync(initrd, Buffer.concat(gz));
    const boot = await bootInitramfs(initrd, { until: /T links=.*\n/ });
    expect(boot.output).toContain('T trailer=not the end nested=nested last=last');
    const links = /T links=(\d+:\d+)\/(\d+:\d+) z=(\w+)/.exec(boot.output);
    expect(links?.[1]).toMatch(/^2:/);
    expect(links?.[2]).toBe(links?.[1]);
    expect(links?.[3]).toBe('shared');
  }, 180_000);
});
