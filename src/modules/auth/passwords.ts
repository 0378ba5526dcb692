import argon2 from 'argon2';

export type PasswordHashProfile = 'owasp' | 'test-fast';

/**
 * argon2id costs. `owasp` is OWASP's second recommended profile (19 MiB, 2 passes): about 20 ms
 * here, which bounds a login flood's CPU cost while keeping offline guessing expensive.
 * `test-fast` (1 MiB, 1 pass) lets test suites register thousands of users through the real
 * registration path; the configuration refuses it outside NODE_ENV=test. A hash records its own
 * parameters, so hashes made under either profile verify under both.
 */
const PROFILES = {
  owasp: { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 },
  'test-fast': { type: argon2.argon2id, memoryCost: 1024, timeCost: 1, parallelism: 1 },
} as const;

export function createPasswordHasher(profile: PasswordHashProfile = 'owasp') {
  const options = PROFILES[profile];
  let dummyHash: Promise<string> | undefined;
  return {
    hash(password: string): Promise<string> {
      return argon2.hash(password, options);
    },

    /**
     * Verifies a password. With no stored hash (unknown user, guest) it still runs one verification
     * against a throwaway hash, so the answer takes the same time either way.
     */
    async verify(storedHash: string | null | undefined, password: string): Promise<boolean> {
      if (!storedHash) {
        dummyHash ??= argon2.hash('parley-timing-equaliser', options);
        await argon2.verify(await dummyHash, password).catch(() => false);
        return false;
      }
      return argon2.verify(storedHash, password).catch(() => false);
    },
  };
}

export type PasswordHasher = ReturnType<typeof createPasswordHasher>;
