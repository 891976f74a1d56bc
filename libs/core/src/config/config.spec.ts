import { describe, expect, it } from 'vitest';
import { DEV_SECRETS, parseConfig } from './config.js';

const own = {
  OPERATOR_KEY: 'an-operator-key-of-our-own-0123',
  PLATFORM_SIGNING_KEY: '11'.repeat(32),
  DATA_ENCRYPTION_KEY: '22'.repeat(32),
};

describe('secrets in production', () => {
  it('refuses to start without the secrets, naming each one', () => {
    expect(() => parseConfig({ NODE_ENV: 'production' })).toThrow(/OPERATOR_KEY, PLATFORM_SIGNING_KEY, DATA_ENCRYPTION_KEY/);
  });

  it.each(Object.keys(DEV_SECRETS) as (keyof typeof DEV_SECRETS)[])('refuses the public default of %s', (name) => {
    expect(() => parseConfig({ NODE_ENV: 'production', ...own, [name]: DEV_SECRETS[name] })).toThrow(new RegExp(`production.*${name}`));
  });

  it('refuses the operator key docker-compose.yml used to default to', () => {
    expect(() => parseConfig({ NODE_ENV: 'production', ...own, OPERATOR_KEY: 'change-me-operator-key' })).toThrow(/OPERATOR_KEY/);
  });

  it('starts with secrets of its own', () => {
    const c = parseConfig({ NODE_ENV: 'production', ...own });
    expect(c.OPERATOR_KEY).toBe(own.OPERATOR_KEY);
    expect(c.DATA_ENCRYPTION_KEY).toBe(own.DATA_ENCRYPTION_KEY);
  });

  it('keeps the development defaults outside production', () => {
    expect(parseConfig({}).OPERATOR_KEY).toBe(DEV_SECRETS.OPERATOR_KEY);
    expect(parseConfig({ NODE_ENV: 'test' }).PLATFORM_SIGNING_KEY).toBe(DEV_SECRETS.PLATFORM_SIGNING_KEY);
  });
});
