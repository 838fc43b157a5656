import { afterEach, describe, expect, it } from '@jest/globals';
import { DEFAULT_SERVER_LIMITS, parseServerOptions } from './options.js';

describe(parseServerOptions, () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('should apply the default limits when no flag or variable sets them', () => {
    expect(parseServerOptions([]).limits).toEqual(DEFAULT_SERVER_LIMITS);
  });

  it('should read every limit from its flag, and from its ENIGMA_* variable', () => {
    const flags = parseServerOptions([
      '--max-connections',
      '100',
      '--max-connections-per-address',
      '0',
      '--handshake-timeout',
      '5000',
      '--login-timeout',
      '30000',
      '--max-sessions-per-user',
      '3',
      '--max-buffered-bytes',
      '1048576',
      '--allowed-origins',
      'https://chat.example, http://10.0.0.5:8080',
    ]);
    const expected = {
      maxConnections: 100,
      maxConnectionsPerAddress: 0,
      handshakeTimeoutMs: 5000,
      loginTimeoutMs: 30000,
      maxSessionsPerUser: 3,
      maxBufferedBytes: 1048576,
      allowedOrigins: ['https://chat.example', 'http://10.0.0.5:8080'],
    };
    expect(flags.limits).toEqual(expected);

    Object.assign(process.env, {
      ENIGMA_MAX_CONNECTIONS: '100',
      ENIGMA_MAX_CONNECTIONS_PER_ADDRESS: '0',
      ENIGMA_HANDSHAKE_TIMEOUT_MS: '5000',
      ENIGMA_LOGIN_TIMEOUT_MS: '30000',
      ENIGMA_MAX_SESSIONS_PER_USER: '3',
      ENIGMA_MAX_BUFFERED_BYTES: '1048576',
      ENIGMA_ALLOWED_ORIGINS: 'https://chat.example,http://10.0.0.5:8080',
    });
    expect(parseServerOptions([]).limits).toEqual(expected);
  });

  it('should have no metrics listener unless asked, on loopback by default, from flags or ENIGMA_METRICS_*', () => {
    expect(parseServerOptions([])).toMatchObject({ metricsPort: undefined, metricsHost: '127.0.0.1' });
    expect(parseServerOptions(['--metrics-port', '0'])).toMatchObject({ metricsPort: 0, metricsHost: '127.0.0.1' });
    Object.assign(process.env, { ENIGMA_METRICS_PORT: '9464', ENIGMA_METRICS_HOST: '10.0.0.5' });
    expect(parseServerOptions([])).toMatchObject({ metricsPort: 9464, metricsHost: '10.0.0.5' });
  });

  it('should take the registration policy from --registration or ENIGMA_REGISTRATION, open by default', () => {
    expect(parseServerOptions([]).registration).toBe('open');
    expect(parseServerOptions(['--registration', 'invite']).registration).toBe('invite');
    process.env['ENIGMA_REGISTRATION'] = 'closed';
    expect(parseServerOptions([]).registration).toBe('closed');
  });

  it('should take the account quota as a size from --account-quota or ENIGMA_ACCOUNT_QUOTA, 256 MiB by default, 0 for none', () => {
    expect(parseServerOptions([]).accountQuotaBytes).toBe(256 * 1024 * 1024);
    expect(parseServerOptions(['--account-quota', '64MiB']).accountQuotaBytes).toBe(64 * 1024 * 1024);
    expect(parseServerOptions(['--account-quota', '0']).accountQuotaBytes).toBe(0);
    process.env['ENIGMA_ACCOUNT_QUOTA'] = '1GiB';
    expect(parseServerOptions([]).accountQuotaBytes).toBe(1024 ** 3);
  });

  it.each([
    ['--account-quota', 'lots', /expected a size such as 256MiB/],
    ['--metrics-port', '70000', /whole number from 0 to 65535/],
    ['--registration', 'sometimes', /Allowed choices are open, invite, closed/],
    ['--max-sessions-per-user', '0', /whole number from 1/],
    ['--max-buffered-bytes', '1000', /whole number from 65536/],
    ['--login-timeout', 'soon', /whole number/],
    ['--allowed-origins', 'https://chat.example/path', /not an origin/],
    ['--allowed-origins', 'chat.example', /not an origin/],
  ])('should refuse %s %s with a clear message', (flag, value, message) => {
    const stderr = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      expect(() => parseServerOptions([flag, value])).toThrow(message);
    } finally {
      process.stderr.write = stderr;
    }
  });

  it('should read --retention as a duration (keep everything without it, or with off) and refuse nonsense', () => {
    expect(parseServerOptions([]).retentionMs).toBeUndefined();
    expect(parseServerOptions(['--retention', '90d']).retentionMs).toBe(90 * 86_400_000);
    expect(parseServerOptions(['--retention', '2s']).retentionMs).toBe(2000);
    expect(parseServerOptions(['--retention', 'off']).retentionMs).toBeUndefined();
    process.env['ENIGMA_RETENTION'] = '12h';
    expect(parseServerOptions([]).retentionMs).toBe(12 * 3_600_000);
    const stderr = process.stderr.write;
    process.stderr.write = () => true; // commander prints its own line
    try {
      for (const bad of ['90', '0d', '1y', 'forever']) expect(() => parseServerOptions(['--retention', bad])).toThrow(/unit|zero|ten years/);
    } finally {
      process.stderr.write = stderr;
    }
  });
});
