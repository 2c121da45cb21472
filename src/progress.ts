// Progress on stderr: one live line rewritten in place on a terminal, plain lines
// otherwise (CI logs), nothing with --quiet. Warnings always get a line of their own.
export function progress(
  quiet: boolean,
  stream: NodeJS.WriteStream = process.stderr,
): { log: (line: string) => void; done: () => void } {
  if (quiet) return { log: () => {}, done: () => {} };
  if (!stream.isTTY) return { log: (line) => stream.write(`${line}\n`), done: () => {} };
  let live = false;
  return {
    log(line) {
      const width = (stream.columns || 80) - 1;
      if (line.startsWith('warning:')) {
        stream.write(`${live ? '\r\x1b[K' : ''}${line}\n`);
        live = false;
      } else {
        stream.write(`\r\x1b[K${line.slice(0, width)}`);
        live = true;
      }
    },
    done() {
      if (live) stream.write('\n');
      live = false;
    },
  };
}
