import { describe, expect, it } from 'vitest';
import { isPrivateAddress, privateHostReason } from './network.ts';

describe('private address detection', () => {
  it.each([
    '127.0.0.1',
    '10.0.0.1',
    '172.31.255.255',
    '192.168.0.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    '::',
    'fe80::1',
    'fd00:ec2::254',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:a9fe:a9fe',
    '64:ff9b::a00:1',
    '2002:7f00:1::',
    '::ffff:0:a9fe:a9fe',
    '::ffff:0:127.0.0.1',
    '64:ff9b:1::a9fe:a9fe',
    '64:ff9b:1:abcd::8.8.8.8',
    '::7f00:1',
    '255.255.255.255',
    '2001:0:4136:e378:8000:63bf:3fff:fdd2',
    'fe80::1%eth0',
  ])('refuses %s', (address) => {
    expect(isPrivateAddress(address)).toBe(true);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '172.32.0.1',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    // A public IPv4 address behind the NAT64 well-known prefix or 6to4 is public.
    '64:ff9b::808:808',
    '2002:808:808::1',
    // Names are checked when they are resolved.
    'api.openai.com',
  ])('allows %s', (address) => {
    expect(isPrivateAddress(address)).toBe(false);
  });

  it.each([
    'http://2130706433/',
    'http://0x7f.0.0.1/',
    'http://0177.0.0.01/',
    'http://127.1/',
    'http://[0:0:0:0:0:ffff:127.0.0.1]/',
    'http://LOCALHOST/',
    'http://api.localhost/',
    'http://metadata.google.internal/',
    // The root's trailing dot names the same host.
    'http://localhost./',
    'http://LOCALHOST../',
    'http://api.localhost./',
    'http://metadata.google.internal./',
    'http://127.0.0.1./',
  ])('sees through %s', (url) => {
    expect(privateHostReason(new URL(url))).toBeDefined();
  });

  it('leaves public names to the connect-time check', () => {
    expect(privateHostReason(new URL('https://api.openai.com/v1'))).toBeUndefined();
  });
});
