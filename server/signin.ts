// The API's sign-in options from serve's settings: the provider (its secret read from its
// file), the rules, the sessions and tokens kept under the data directory, and Tidepool's own
// origins (the proxy's three ports, --workspace-url) for return URLs and the sign-in redirect.
import { readFile } from 'node:fs/promises';
import { parseListen } from '../api/config.js';
import type { SignInOptions } from '../api/server.js';
import type { AuthInfo } from '../specs/index.js';
import { GitHubProvider } from '../api/signin/github.js';
import { OIDC_SCOPES, OidcProvider } from '../api/signin/oidc.js';
import { SessionStore, sessionsPath } from '../api/signin/sessions.js';
import { TokenStore, tokensPath } from '../api/signin/tokens.js';
import { errorMessage } from '../specs/errors.js';
import { ServeError } from './errors.js';
import type { ServeSettings } from './serve-flags.js';

async function secretFrom(path: string, flag: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ServeError(`${flag} ${path}: cannot read it (${errorMessage(err)})`);
  }
  const secret = text.split('\n')[0]!.trim();
  if (!secret) throw new ServeError(`${flag} ${path}: the file is empty; put the client secret on its first line`);
  return secret;
}

export async function signInOptions(s: ServeSettings): Promise<SignInOptions> {
  const ports = [s.appListen, s.workspaceListen, s.previewListen].map((l) => parseListen(l).port);
  let sessions: SessionStore;
  let tokens: TokenStore;
  try {
    sessions = await SessionStore.open(sessionsPath(s.dataDir), s.sessionTtlMs);
    tokens = await TokenStore.open(tokensPath(s.dataDir));
  } catch (err) {
    throw new ServeError(errorMessage(err));
  }
  const base: SignInOptions = {
    mode: s.auth,
    sessions,
    tokens,
    own: { appPort: ports[0], ports, extra: s.workspaceBaseUrl ? [s.workspaceBaseUrl] : [] },
    rules: {
      allowedGroups: s.allowedGroups ?? [],
      allowedEmailDomains: s.allowedEmailDomains ?? [],
      allowedUsers: s.allowedUsers ?? [],
      adminGroups: s.adminGroups ?? [],
      adminUsers: s.adminUsers ?? [],
    },
  };
  if (s.auth === 'oidc')
    return {
      ...base,
      provider: new OidcProvider({
        issuer: s.oidcIssuer!.replace(/\/+$/, ''),
        clientId: s.oidcClientId!,
        clientSecret: await secretFrom(s.oidcClientSecretFile!, '--oidc-client-secret-file'),
        audiences: [...(s.oidcCliClientId ? [s.oidcCliClientId] : []), ...(s.oidcAudiences ?? [])],
      }),
    };
  if (s.auth === 'github')
    return {
      ...base,
      provider: new GitHubProvider({
        clientId: s.githubClientId!,
        clientSecret: await secretFrom(s.githubClientSecretFile!, '--github-client-secret-file'),
        ...(s.githubUrl ? { baseUrl: s.githubUrl } : {}),
      }),
    };
  return base;
}

/**
 * What GET /api/v1/auth/info tells a client (`tidepool login`) about signing in here: the
 * scopes of the browser's sign-in (without `groups` an ID token has no groups claim, and a
 * server that admits by group would refuse the CLI) and a refresh token's `offline_access`.
 */
export function authInfoOf(s: ServeSettings): AuthInfo {
  const oidc =
    s.auth === 'oidc' && s.oidcIssuer && s.oidcCliClientId
      ? {
          oidc: {
            issuer: s.oidcIssuer.replace(/\/+$/, ''),
            cliClientId: s.oidcCliClientId,
            scopes: [...OIDC_SCOPES, 'offline_access'],
          },
        }
      : {};
  return { mode: s.auth, tokens: true, ...oidc };
}
