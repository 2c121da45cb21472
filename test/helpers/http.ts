// Test harness: serve fixed files over loopback HTTP; a forward proxy on loopback.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type AddressInfo, type Socket } from 'node:net';

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
  for (const [k, v] of Object.entries(files)) table.set(k.startsWith('/') ? k : `/${k}`, v);
  const requests: string[] = [];
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]);
    requests.push(`${req.method} ${req.url}`);
    const entry = table.get(path);
    if (entry === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(entry === undefined ? 404 : 405).end();
      return;
    }
    try {
      const body = typeof entry === 'string' ? await readFile(entry) : entry;
      res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (e) {
      res.writeHead(500).end(String(e));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
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

export interface ForwardProxy {
  /** http://127.0.0.1:PORT, or https:// when it speaks TLS */
  url: string;
  /** "CONNECT host:port" or "GET http://host:port/path", in order; " +auth" when Proxy-Authorization came */
  requests: string[];
  close(): Promise<void>;
}

/**
 * A forward HTTP proxy on loopback: absolute-URI requests are forwarded, CONNECT opens a
 * tunnel. Names in `hosts` (name → address) resolve only here, so a client can reach them
 * through this proxy and nowhere else. With `tls`, clients speak to it over HTTPS.
 */
export async function startForwardProxy(
  hosts: Record<string, string> = {},
  tls?: { cert: string; key: string },
): Promise<ForwardProxy> {
  const requests: string[] = [];
  const note = (line: string, headers: IncomingHttpHeaders) =>
    requests.push(`${line}${headers['proxy-authorization'] ? ' +auth' : ''}`);
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    note(`${req.method} ${req.url}`, req.headers);
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('not an absolute URI');
      return;
    }
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    const up = request(
      {
        host: hosts[target.hostname] ?? target.hostname,
        port: target.port || 80,
        method: req.method,
        path: target.pathname + target.search,
        headers,
      },
      (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      },
    );
    up.on('error', (e) => res.writeHead(502).end(String(e)));
    req.pipe(up);
  };
  const server = tls
    ? createHttpsServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, handle)
    : createServer(handle);
  const tunnels = new Set<Socket>();
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    note(`CONNECT ${req.url}`, req.headers);
    tunnels.add(client);
    client.on('close', () => tunnels.delete(client));
    const [name, port] = [(req.url ?? '').replace(/:\d+$/, ''), Number(/:(\d+)$/.exec(req.url ?? '')?.[1] ?? 443)];
    const up = connect(port, hosts[name] ?? name, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    up.on('error', () => client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'));
    client.on('error', () => up.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        for (const t of tunnels) t.destroy();
        server.close(() => resolve());
      }),
  };
}
