// The flags of sign-in: `--auth basic` (the default, nothing external) or `oidc` / `github`,
// the provider's client, and the rules of who may sign in and who is an admin. Read into
// settings here; server/signin.ts turns them into the API's sign-in options.
import { ServeError } from './errors.js';
import { httpUrl, oneOf, positiveDuration, text } from './flag-values.js';
import { defineFlags } from './flags.js';

const list = (values: string[]) => (values.length ? values : undefined);

export const SIGNIN_FLAGS = defineFlags([
  {
    name: '--auth',
    value: '<mode>',
    help: "how people sign in: basic (the local admin's password, the default), oidc (an OpenID Connect provider) or github; basic auth keeps working for the local admin in every mode",
    default: 'basic',
    setting: 'auth',
    parse: oneOf(['basic', 'oidc', 'github']),
  },
  {
    name: '--oidc-issuer',
    value: '<url>',
    help: 'the OpenID Connect issuer (discovery at <url>/.well-known/openid-configuration); the redirect URI to register is <app origin>/auth/callback',
    setting: 'oidcIssuer',
    parse: httpUrl,
  },
  { name: '--oidc-client-id', value: '<id>', help: 'the OIDC client id', setting: 'oidcClientId', parse: text },
  {
    name: '--oidc-client-secret-file',
    value: '<path>',
    help: 'a file holding the OIDC client secret (its first line)',
    setting: 'oidcClientSecretFile',
    parse: text,
  },
  {
    name: '--oidc-cli-client-id',
    value: '<id>',
    help: 'the public client (no secret) `tidepool login` signs in as, told to the CLI by GET /api/v1/auth/info; its ID tokens are accepted as Bearer',
    setting: 'oidcCliClientId',
    parse: text,
  },
  {
    name: '--oidc-audience',
    value: '<id>',
    repeatable: true,
    help: "another audience a Bearer ID token of the issuer may carry (the CLI's client id); repeatable",
    setting: 'oidcAudiences',
    parse: list,
  },
  {
    name: '--github-client-id',
    value: '<id>',
    help: 'the GitHub OAuth app client id',
    setting: 'githubClientId',
    parse: text,
  },
  {
    name: '--github-client-secret-file',
    value: '<path>',
    help: 'a file holding the GitHub OAuth app client secret (its first line)',
    setting: 'githubClientSecretFile',
    parse: text,
  },
  {
    name: '--github-url',
    value: '<url>',
    help: 'GitHub or a GitHub Enterprise server (its API at <url>/api/v3) (default https://github.com)',
    setting: 'githubUrl',
    parse: httpUrl,
  },
  {
    name: '--allowed-group',
    value: '<group>',
    repeatable: true,
    help: 'members of this OIDC group (groups claim) or GitHub organization may sign in; repeatable',
    setting: 'allowedGroups',
    parse: list,
  },
  {
    name: '--allowed-email-domain',
    value: '<domain>',
    repeatable: true,
    help: 'people with a verified email of this domain may sign in (OIDC); repeatable',
    setting: 'allowedEmailDomains',
    parse: list,
  },
  {
    name: '--allowed-user',
    value: '<name>',
    repeatable: true,
    help: 'this person (email, preferred_username or GitHub login) may sign in; repeatable',
    setting: 'allowedUsers',
    parse: list,
  },
  {
    name: '--admin-group',
    value: '<group>',
    repeatable: true,
    help: 'members of this OIDC group or GitHub organization are admins (they see every namespace); repeatable',
    setting: 'adminGroups',
    parse: list,
  },
  {
    name: '--admin-user',
    value: '<name>',
    repeatable: true,
    help: 'this person (email, preferred_username or GitHub login) is an admin; repeatable',
    setting: 'adminUsers',
    parse: list,
  },
  {
    name: '--session-ttl',
    value: '<duration>',
    help: 'how long a browser stays signed in, e.g. 8h (default 12h)',
    setting: 'sessionTtlMs',
    parse: positiveDuration,
  },
]);

/** The flags a mode needs, checked before anything starts. */
export function checkSignInFlags(s: {
  auth: string;
  oidcIssuer?: string | undefined;
  oidcClientId?: string | undefined;
  oidcClientSecretFile?: string | undefined;
  githubClientId?: string | undefined;
  githubClientSecretFile?: string | undefined;
  allowedGroups?: string[] | undefined;
  allowedEmailDomains?: string[] | undefined;
  allowedUsers?: string[] | undefined;
  adminGroups?: string[] | undefined;
  adminUsers?: string[] | undefined;
}): void {
  const need = (flag: string, v: unknown) => {
    if (!v) throw new ServeError(`--auth ${s.auth} needs ${flag}`);
  };
  if (s.auth === 'oidc') {
    need('--oidc-issuer <url>', s.oidcIssuer);
    need('--oidc-client-id <id>', s.oidcClientId);
    need('--oidc-client-secret-file <path>', s.oidcClientSecretFile);
  }
  if (s.auth === 'github') {
    need('--github-client-id <id>', s.githubClientId);
    need('--github-client-secret-file <path>', s.githubClientSecretFile);
    // Anyone with a GitHub account is nobody's team.
    const rules = [s.allowedGroups, s.allowedUsers, s.adminGroups, s.adminUsers].some((l) => l?.length);
    if (!rules)
      throw new ServeError(
        '--auth github needs --allowed-group <org> or --allowed-user <login> (otherwise every GitHub account could sign in)',
      );
  }
}
