// Proxies from the environment, read as curl reads them: https_proxy or HTTPS_PROXY for
// https URLs, http_proxy or HTTP_PROXY for http ones (lowercase first), all_proxy or
// ALL_PROXY for either when its own is not set; no_proxy or
// NO_PROXY lists what is reached directly, separated by commas or spaces: `*`, a host name
// (itself and its subdomains; a leading dot means the same), an IP address or CIDR block,
// each with an optional `:port`. Loopback goes through the proxy unless listed. An https
// URL goes through an HTTP CONNECT tunnel, an http one is sent to the proxy with its
// absolute URI. The proxy itself is spoken to over plain HTTP, or over TLS for an
// https:// proxy URL (checked against the system's CAs and NODE_EXTRA_CA_CERTS), with
// Basic Proxy-Authorization when its URL carries user:password.
import {
  Agent as HttpAgent,
  request,
  type ClientRequest,
  type ClientRequestArgs,
  type OutgoingHttpHeaders,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import { BlockList, connect as netConnect, isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { UsageError } from './errors.js';

/** The first of names set in the environment, with its name. */
function env(...names: string[]): { name: string; value: string } | undefined {
  for (const name of names) if (process.env[name]) return { name, value: process.env[name]! };
  return undefined;
}

const bare = (host: string) => host.replace(/^\[(.*)\]$/, '$1').toLowerCase();

/** Whether a NO_PROXY list names host (a name or IP address, IPv6 with or without brackets) at port. */
export function bypassesProxy(host: string, port: number, noProxy: string): boolean {
  const h = bare(host);
  const family = isIP(h) === 6 ? 'ipv6' : 'ipv4';
  for (const raw of noProxy.split(/[\s,]+/).filter(Boolean)) {
    if (raw === '*') return true;
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(raw) ?? /^([^:]+):(\d+)$/.exec(raw);
    const [entry, entryPort] = m ? [m[1].toLowerCase(), m[2]] : [raw.toLowerCase(), undefined];
    if (entryPort !== undefined && Number(entryPort) !== port) continue;
    const [net, prefix] = entry.split('/');
    if (isIP(net)) {
      if (!isIP(h)) continue;
      const list = new BlockList();
      const netFamily = isIP(net) === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) list.addAddress(net, netFamily);
      else list.addSubnet(net, Number(prefix), netFamily);
      if (list.check(h, family)) return true;
    } else {
      const name = entry.replace(/^\*?\./, '');
      if (h === name || h.endsWith(`.${name}`)) return true;
    }
  }
  return false;
}

/** The proxy for url from the environment, or undefined to go direct. */
export function proxyFor(url: URL): URL | undefined {
  const specific =
    url.protocol === 'https:'
      ? env('https_proxy', 'HTTPS_PROXY')
      : url.protocol === 'http:'
        ? env('http_proxy', 'HTTP_PROXY')
        : undefined;
  const set =
    specific ?? (url.protocol === 'https:' || url.protocol === 'http:' ? env('all_proxy', 'ALL_PROXY') : undefined);
  if (!set) return undefined;
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  if (bypassesProxy(url.hostname, port, env('no_proxy', 'NO_PROXY')?.value ?? '')) return undefined;
  const raw = set.value;
  let proxy: URL;
  try {
    proxy = new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    throw new UsageError(`proxy "${raw}" (from ${set.name}) is not a URL; write it like http://proxy.example:3128`);
  }
  if (proxy.protocol !== 'http:' && proxy.protocol !== 'https:')
    throw new UsageError(
      `proxy ${raw} (from ${set.name}): fledge-pure speaks to proxies over HTTP or HTTPS only; give an http:// or https:// proxy URL`,
    );
  return proxy;
}

function proxyHeaders(proxy: URL): OutgoingHttpHeaders {
  if (!proxy.username) return {};
  const creds = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return { 'proxy-authorization': `Basic ${Buffer.from(creds).toString('base64')}` };
}

const hostPart = (host: string) => (isIP(bare(host)) === 6 ? `[${bare(host)}]` : host);

/**
 * Where the proxy listens: its port defaults by scheme. Its TLS server name is its own host
 * name ('' for an address: no SNI, the address checked), never left for Node to take from
 * the CONNECT request's Host header, which names the target.
 */
function proxyAddress(proxy: URL): { host: string; port: number; tls: boolean; servername: string } {
  const tls = proxy.protocol === 'https:';
  const host = bare(proxy.hostname);
  return { host, port: Number(proxy.port || (tls ? 443 : 80)), tls, servername: isIP(host) ? '' : host };
}

type AddRequest = (req: ClientRequest, options: ClientRequestArgs) => void;
const addRequest = (HttpAgent.prototype as unknown as { addRequest: AddRequest }).addRequest;

/** Plain HTTP through the proxy: a connection to it, and the absolute URI as the request target. */
class AbsoluteUriAgent extends HttpAgent {
  constructor(private readonly proxy: URL) {
    super();
  }

  addRequest(req: ClientRequest, options: ClientRequestArgs): void {
    req.path = `http://${hostPart(options.host ?? 'localhost')}:${options.port ?? 80}${req.path}`;
    for (const [k, v] of Object.entries(proxyHeaders(this.proxy))) req.setHeader(k, v as string);
    addRequest.call(this, req, options);
  }

  createConnection(): Duplex {
    const a = proxyAddress(this.proxy);
    return a.tls ? tlsConnect({ host: a.host, port: a.port, servername: a.servername }) : netConnect(a.port, a.host);
  }
}

/** HTTPS through the proxy: CONNECT host:port, then TLS with the registry inside the tunnel. */
class TunnelAgent extends HttpsAgent {
  constructor(private readonly proxy: URL) {
    super();
  }

  createConnection(options: RequestOptions, callback?: (err: Error | null, stream: Duplex) => void): undefined {
    const host = bare(options.host ?? 'localhost');
    const authority = `${hostPart(host)}:${options.port ?? 443}`;
    const done = callback ?? (() => {});
    const a = proxyAddress(this.proxy);
    const connect = {
      host: a.host,
      port: a.port,
      method: 'CONNECT',
      path: authority,
      headers: { host: authority, ...proxyHeaders(this.proxy) },
      agent: false as const,
    };
    const req = a.tls ? httpsRequest({ ...connect, servername: a.servername }) : request(connect);
    req.once('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        done(
          new Error(`the proxy ${this.proxy.host} answered CONNECT ${authority} with HTTP ${res.statusCode}`),
          socket,
        );
        return;
      }
      const tls: ConnectionOptions = {
        ...(options as ConnectionOptions),
        socket,
        servername: options.servername ?? (isIP(host) ? undefined : host),
      };
      delete tls.host;
      delete tls.port;
      delete tls.path;
      done(null, tlsConnect(tls));
    });
    req.once('error', (e) => done(e, req.socket!));
    req.end();
    return undefined;
  }
}

const agents = new Map<string, HttpAgent>();

/** The agent that reaches url through the environment's proxy; undefined to go direct. */
export function proxyAgent(url: string | URL): HttpAgent | undefined {
  const u = typeof url === 'string' ? new URL(url) : url;
  const proxy = proxyFor(u);
  if (!proxy) return undefined;
  const key = `${u.protocol}${proxy.href}`;
  let agent = agents.get(key);
  if (!agent) agents.set(key, (agent = u.protocol === 'https:' ? new TunnelAgent(proxy) : new AbsoluteUriAgent(proxy)));
  return agent;
}
