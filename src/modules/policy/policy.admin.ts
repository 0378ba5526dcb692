import { AppError } from '../../shared/errors.js';

/**
 * Who holds the instance `admin` role: the accounts named in ADMIN_USERNAMES (by username, any
 * case) and those another admin granted it to. Everything under /admin asks `requireAdmin` first.
 *
 * A non-admin gets NOT_FOUND from every admin route, the answer an unknown route gets, rather than
 * FORBIDDEN: the admin surface tells a normal user nothing (not even which ids exist), the same
 * rule as for a stranger's resources (policy.access.ts).
 */
export interface AdminPolicyDeps {
  /** Lower-cased usernames from ADMIN_USERNAMES. */
  configured: readonly string[];
  usernameLowerOf: (userId: string) => Promise<string | undefined>;
  isGranted: (userId: string) => Promise<boolean>;
}

export type AdminRoleSource = 'config' | 'granted' | null;

export function createAdminPolicy(deps: AdminPolicyDeps) {
  const configured = new Set(deps.configured);

  /** Where the user's admin role comes from, or null for a user without it. */
  async function adminSource(userId: string): Promise<AdminRoleSource> {
    const name = await deps.usernameLowerOf(userId);
    if (name === undefined) return null;
    if (configured.has(name)) return 'config';
    return (await deps.isGranted(userId)) ? 'granted' : null;
  }

  return {
    adminSource,
    /** True when the username is one of ADMIN_USERNAMES. */
    isConfiguredAdmin: (usernameLower: string): boolean => configured.has(usernameLower),
    configuredUsernames: (): string[] => [...configured],
    async isAdmin(userId: string): Promise<boolean> {
      return (await adminSource(userId)) !== null;
    },
    /** Throws NOT_FOUND (as if the route did not exist) unless the user is an admin. */
    async requireAdmin(userId: string, notFoundMessage = 'not found'): Promise<void> {
      if ((await adminSource(userId)) === null) throw new AppError('NOT_FOUND', notFoundMessage);
    },
  };
}

export type AdminPolicy = ReturnType<typeof createAdminPolicy>;
