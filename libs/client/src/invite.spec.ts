import { describe, expect, it } from '@jest/globals';
import { generateKey } from '@enigma/crypto';
import fc from 'fast-check';
import { ClientError } from './errors.js';
import { formatInvite, normalizeFingerprint, parseInvite } from './invite.js';

const fp = 'AB:'.repeat(31) + 'CD';

describe('invites', () => {
  it('should round-trip server, fingerprint and chat key', () => {
    const chatKey = generateKey();
    const link = formatInvite({ url: 'https://192.168.1.5:7777', fingerprint: fp, chatKey });
    expect(link).toMatch(/^enigma:\/\/192\.168\.1\.5:7777\/#fp=[0-9A-F]{64}&key=/);
    expect(parseInvite(link)).toEqual({ url: 'https://192.168.1.5:7777', fingerprint: fp, chatKey });
  });

  it('should carry an operator invite token, as the server console prints it', () => {
    const chatKey = generateKey();
    const inviteToken = 'q2Xc-9_ZtJr0bQm1pLk4aw';
    const link = formatInvite({ url: 'https://chat.example:7777', fingerprint: fp, inviteToken, chatKey });
    expect(link).toBe(`enigma://chat.example:7777/#fp=${fp.replace(/:/g, '')}&invite=${inviteToken}&key=${chatKey.replace(/=/g, '%3D')}`);
    expect(parseInvite(link)).toEqual({ url: 'https://chat.example:7777', fingerprint: fp, inviteToken, chatKey });
    // The console's own form: the chat key appended after a trailing key=.
    expect(parseInvite(`enigma://10.0.0.7:7777/#fp=${fp.replace(/:/g, '')}&invite=${inviteToken}&key=${chatKey}`)).toEqual({
      url: 'https://10.0.0.7:7777',
      fingerprint: fp,
      inviteToken,
      chatKey,
    });
    expect(parseInvite(`enigma://10.0.0.7:7777/#invite=${inviteToken}&key=`)).toEqual({ url: 'https://10.0.0.7:7777', inviteToken });
  });

  it('should accept fingerprints with or without colons, in any case', () => {
    expect(normalizeFingerprint(fp.toLowerCase())).toBe(fp);
    expect(normalizeFingerprint(fp.replace(/:/g, ''))).toBe(fp);
    expect(normalizeFingerprint('nope')).toBeUndefined();
  });

  it('should round-trip any generated key (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom('chat.example.org', '10.0.0.7', 'localhost'), fc.integer({ min: 1, max: 65535 }), (host, port) => {
        const chatKey = generateKey();
        const parsed = parseInvite(formatInvite({ url: `https://${host}:${port}`, chatKey }));
        expect(parsed.chatKey).toBe(chatKey);
        expect(new URL(parsed.url).hostname).toBe(host);
      }),
      { numRuns: 100 },
    );
  });

  it.each([
    ['another scheme', 'https://host:1/#key=x'],
    ['no port', 'enigma://host/#fp=AA'],
    ['a short fingerprint', 'enigma://host:7777/#fp=ABCD'],
    ['a bad key', 'enigma://host:7777/#key=SECRET-NOT-A-KEY'],
    ['a bad invite token', 'enigma://host:7777/#invite=SECRET!'],
  ])('should refuse an invite with %s, without echoing the key', (_name, link) => {
    try {
      parseInvite(link);
      throw new Error('accepted');
    } catch (error) {
      expect(ClientError.is(error, 'invalidInvite')).toBe(true);
      expect((error as Error).message).not.toContain('SECRET');
    }
  });
});
