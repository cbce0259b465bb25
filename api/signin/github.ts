// GitHub sign-in (an OAuth app): the authorization code flow with state and PKCE through
// openid-client against GitHub's endpoints, then /user and /user/orgs with the access token.
// A person's organizations are their groups (so --allowed-group and --admin-group name orgs).
// The base URL is github.com or a GitHub Enterprise server (its API under /api/v3), or in tests
// a fake that follows the same contract.
import * as client from 'openid-client';
import { reasonOf, SignInError, type Pending, type SignInProvider } from './provider.js';
import type { Person } from './rules.js';

export interface GitHubOptions {
  clientId: string;
  clientSecret: string;
  /** https://github.com (default) or a GitHub Enterprise server's URL. */
  baseUrl?: string;
}

export const GITHUB_URL = 'https://github.com';

/** Where GitHub's REST API is for a base URL: api.github.com for github.com, /api/v3 for an Enterprise server. */
export function githubApiUrl(baseUrl: string): string {
  const base = baseUrl.replace(/\/+$/, '');
  return base === GITHUB_URL ? 'https://api.github.com' : `${base}/api/v3`;
}

export class GitHubProvider implements SignInProvider {
  readonly kind = 'github';
  readonly label = 'GitHub';
  readonly #config: client.Configuration;
  readonly #api: string;

  constructor(o: GitHubOptions) {
    const base = (o.baseUrl ?? GITHUB_URL).replace(/\/+$/, '');
    this.#api = githubApiUrl(base);
    this.#config = new client.Configuration(
      {
        issuer: base,
        authorization_endpoint: `${base}/login/oauth/authorize`,
        token_endpoint: `${base}/login/oauth/access_token`,
      },
      o.clientId,
      { client_secret: o.clientSecret },
      client.ClientSecretPost(o.clientSecret),
    );
    if (base.startsWith('http:')) client.allowInsecureRequests(this.#config);
  }

  async start(redirectUri: string) {
    const verifier = client.randomPKCECodeVerifier();
    const pending: Pending = { state: client.randomState(), verifier, redirectUri };
    const url = client.buildAuthorizationUrl(this.#config, {
      redirect_uri: redirectUri,
      scope: 'read:user user:email read:org',
      state: pending.state,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    return { url: url.href, pending };
  }

  async finish(query: URLSearchParams, pending: Pending): Promise<Person> {
    const current = new URL(pending.redirectUri);
    current.search = query.toString();
    let accessToken: string;
    try {
      const tokens = await client.authorizationCodeGrant(this.#config, current, {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
      });
      accessToken = tokens.access_token;
    } catch (err) {
      throw new SignInError(400, `the sign-in with GitHub did not check out: ${reasonOf(err)}`);
    }
    const user = (await this.#get('/user', accessToken)) as { login?: unknown; email?: unknown };
    const orgs = (await this.#get('/user/orgs', accessToken)) as { login?: unknown }[];
    if (typeof user.login !== 'string' || !Array.isArray(orgs))
      throw new SignInError(502, `GitHub's /user or /user/orgs answered something else than a user and a list`);
    return {
      name: user.login,
      username: user.login,
      email: typeof user.email === 'string' ? user.email : undefined,
      // GitHub's public email is not a verified claim: domain rules do not apply to it.
      emailVerified: false,
      groups: orgs.map((o) => o.login).filter((l): l is string => typeof l === 'string'),
    };
  }

  async #get(path: string, token: string): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${this.#api}${path}`, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/vnd.github+json' },
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      throw new SignInError(502, `GitHub's API at ${this.#api} did not answer: ${reasonOf(err)}`);
    }
    if (!res.ok) throw new SignInError(502, `GitHub's ${path} answered ${res.status}`);
    return res.json();
  }
}
