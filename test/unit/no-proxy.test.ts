// NO_PROXY matching: pure, moved out of test/proxy.test.ts (where it waited for a real
// registry and a proxy to start).
import { describe, expect, it } from 'vitest';
import { bypassesProxy } from '../../src/proxy.js';

describe('NO_PROXY matching (as curl)', () => {
  it('matches names with their subdomains, IPs, CIDR blocks, ports and *', () => {
    const cases: [string, number, string, boolean][] = [
      ['registry.example.com', 443, 'example.com', true],
      ['registry.example.com', 443, '.example.com', true],
      ['example.com', 443, '.example.com', true],
      ['badexample.com', 443, 'example.com', false],
      ['registry.example.com', 443, 'other.org, example.com:443', true],
      ['registry.example.com', 5000, 'example.com:443', false],
      ['127.0.0.1', 5000, 'localhost', false],
      ['127.0.0.1', 5000, '', false],
      ['127.0.0.1', 5000, '127.0.0.1', true],
      ['127.3.4.5', 80, '127.0.0.0/8', true],
      ['10.1.2.3', 80, '127.0.0.0/8', false],
      ['[::1]', 5000, '::1', true],
      ['::1', 5000, '[::1]:5000', true],
      ['::1', 5001, '[::1]:5000', false],
      ['anything.at.all', 1, '*', true],
      ['REGISTRY.Example.COM', 443, 'example.com', true],
    ];
    for (const [host, p, list, want] of cases)
      expect([host, p, list, bypassesProxy(host, p, list)]).toEqual([host, p, list, want]);
  });
});
