// Who may sign in and who is an admin, from what the identity provider says about a person,
// and the namespace each person works in. The same rules decide for a browser sign-in and for a
// Bearer token of the provider, so a token never lets in someone the sign-in page would not.
import type { Identity } from '../identity.js';

export interface SignInRules {
  /** Groups (OIDC `groups` claim, GitHub organizations) whose members may sign in. */
  allowedGroups: readonly string[];
  /** Email domains (verified emails only) whose people may sign in. */
  allowedEmailDomains: readonly string[];
  /** People (email or GitHub login) who may sign in. */
  allowedUsers: readonly string[];
  /** Groups whose members are admins. */
  adminGroups: readonly string[];
  /** People (email or GitHub login) who are admins. */
  adminUsers: readonly string[];
}

export const NO_RULES: SignInRules = {
  allowedGroups: [],
  allowedEmailDomains: [],
  allowedUsers: [],
  adminGroups: [],
  adminUsers: [],
};

/** What a provider tells about a person, the same for OIDC and GitHub. */
export interface Person {
  /** The name shown and recorded: the email for OIDC (else preferred_username, else sub), the login for GitHub. */
  name: string;
  /** preferred_username or the GitHub login, when there is one. */
  username?: string | undefined;
  email?: string | undefined;
  emailVerified?: boolean | undefined;
  groups: readonly string[];
}

/** The person's identity, or why they may not sign in (a sentence naming them). */
export function admit(p: Person, rules: SignInRules): { identity: Identity } | { refused: string } {
  const lower = (xs: readonly string[]) => xs.map((x) => x.toLowerCase());
  const names = lower([p.name, ...(p.email ? [p.email] : []), ...(p.username ? [p.username] : [])]);
  const groups = lower(p.groups);
  const domain = p.email && p.emailVerified !== false ? p.email.split('@')[1]?.toLowerCase() : undefined;
  const anyRule = rules.allowedGroups.length + rules.allowedEmailDomains.length + rules.allowedUsers.length > 0;
  const admin =
    groups.some((g) => lower(rules.adminGroups).includes(g)) || names.some((n) => lower(rules.adminUsers).includes(n));
  const allowed =
    !anyRule ||
    admin ||
    groups.some((g) => lower(rules.allowedGroups).includes(g)) ||
    (domain !== undefined && lower(rules.allowedEmailDomains).includes(domain)) ||
    names.some((n) => lower(rules.allowedUsers).includes(n));
  if (!allowed)
    return {
      refused: `${p.name} may not use this Tidepool: not in an allowed group, email domain or user list (ask an admin to add you)`,
    };
  return { identity: { name: p.name, namespace: namespaceOf(p), admin, groups: [...p.groups], via: 'session' } };
}

/**
 * A person's own namespace: their username (preferred_username, the GitHub login), else the
 * local part of their email, else their name, made a DNS label: lower case, anything but
 * [a-z0-9] becomes '-', at most 63 characters, never empty.
 */
export function namespaceOf(p: Pick<Person, 'name' | 'username' | 'email'>): string {
  const from = p.username || p.email?.split('@')[0] || p.name;
  const label = from
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return label || 'user';
}
