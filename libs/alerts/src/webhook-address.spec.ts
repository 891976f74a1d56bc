import { describe, expect, it } from 'vitest';
import { ipv6Groups, isPublicAddress } from './webhook-address.js';
import { assertWebhookUrlAllowed, WebhookForbiddenError } from './webhook-target.js';

describe('isPublicAddress', () => {
  it.each([
    '127.0.0.1',
    '127.255.255.254',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '198.18.0.1',
    '192.0.2.10',
    '::',
    '::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.0.0.1',
    '::127.0.0.1',
    '::ffff:0:127.0.0.1',
    '::ffff:0:8.8.8.8',
    '::ffff:0:7f00:1',
    'fe80::1',
    'fe80::1%eth0',
    'fc00::1',
    'fd12:3456::1',
    'ff02::1',
    '64:ff9b::a00:1',
    '2002:a00:1::1',
    '2001:db8::1',
    'not-an-ip',
    '',
  ])('refuses %s', (ip) => {
    expect(isPublicAddress(ip)).toBe(false);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '93.184.216.34',
    '172.32.0.1',
    '192.169.0.1',
    '2606:4700:4700::1111',
    '2a00:1450:4001:82a::200e',
    '::ffff:8.8.8.8',
  ])('allows %s', (ip) => {
    expect(isPublicAddress(ip)).toBe(true);
  });
});

describe('ipv6Groups', () => {
  it('expands compressed forms and embedded IPv4', () => {
    expect(ipv6Groups('::1')).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    expect(ipv6Groups('fe80::1%lo')).toEqual([0xfe80, 0, 0, 0, 0, 0, 0, 1]);
    expect(ipv6Groups('::ffff:127.0.0.1')).toEqual([0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]);
    expect(ipv6Groups('1:2:3:4:5:6:7:8')).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(ipv6Groups('10.0.0.1')).toBeNull();
  });
});

describe('webhook URLs with an IPv4-translated address (::ffff:0:0:0/96)', () => {
  it.each(['http://[::ffff:0:127.0.0.1]/', 'http://[::ffff:0:a9fe:a9fe]/latest/meta-data', 'https://[0:0:0:0:ffff:0:a00:1]:8443/'])(
    'refuses %s',
    async (url) => {
      await expect(assertWebhookUrlAllowed(url, false)).rejects.toBeInstanceOf(WebhookForbiddenError);
    },
  );

  it('still allows a public address', async () => {
    await expect(assertWebhookUrlAllowed('http://[2606:4700:4700::1111]/hook', false)).resolves.toBeUndefined();
  });
});
