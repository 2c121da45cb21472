// Test harness: serve fixed files over loopback HTTP.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";

export interface FileServer {
  /** e.g. http://127.0.0.1:PORT (no trailing slash) */
  url: string;
  /** "METHOD /path" of every request received, in order. */
  requests: string[];
  close(): Promise<void>;
}

/**
 * Serve `files` (keyed by URL path, e.g. "/v2/x/blobs/sha256:..."; a missing leading "/" is added).
 * A Buffer value is served as-is; a string value is a path on disk, read on each request.
 * Unknown paths get 404. HEAD is answered with headers only.
 */
export async function serveFiles(files: Record<string, Buffer | string>): Promise<FileServer> {
  const table = new Map<string, Buffer | string>();
  for (const [k, v] of Object.entries(files)) table.set(k.startsWith("/") ? k : `/${k}`, v);
  const requests: string[] = [];
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent((req.url ?? "/").split("?")[0]);
    requests.push(`${req.method} ${req.url}`);
    const entry = table.get(path);
    if (entry === undefined || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(entry === undefined ? 404 : 405).end();
      return;
    }
    try {
      const body = typeof entry === "string" ? await readFile(entry) : entry;
      res.writeHead(200, { "content-length": body.length, "content-type": "application/octet-stream" });
      res.end(req.method === "HEAD" ? undefined : body);
    } catch (e) {
      res.writeHead(500).end(String(e));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
