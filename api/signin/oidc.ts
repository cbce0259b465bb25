// OpenID Connect sign-in through openid-client (discovery, the authorization code flow with PKCE,
// state and nonce, the ID token's checks) and the provider's own tokens as Bearer credentials
// (jose: signature against the provider's JWKS, issuer, audience, expiry). Discovery happens on
// first use, not at start, so `serve` starts while the provider is away; a failed discovery is
// tried again on the next sign-in.
import * as client from 'openid-client';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { reasonOf, SignInError, type Pending, type SignInProvider } from './provider.js';
import type { Person } from './rules.js';

export interface OidcOptions {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Audiences a Bearer token may carry besides clientId (the CLI's own client id). */
  audiences?: readonly string[];
}

/**
 * What a sign-in asks the provider for: the claims the sign-in rules read (email, the groups).
 * `tidepool login` is told these too (GET /api/v1/auth/info), so that the CLI's ID token carries
 * the same claims and the same rules let in the same people.
 */
export const OIDC_SCOPES: readonly string[] = ['openid', 'email', 'profile', 'groups'];
const SCOPE = OIDC_SCOPES.join(' ');

export class OidcProvider implements SignInProvider {
  readonly kind = 'oidc';
  readonly label: string;
  #config: Promise<{ config: client.Configuration; jwks: ReturnType<typeof createRemoteJWKSet> }> | undefined;

  constructor(private readonly o: OidcOptions) {
    this.label = `the identity provider at ${o.issuer}`;
  }

  #discover() {
    this.#config ??= (async () => {
      // Plain http only for a provider on this host's loopback (tests, a provider beside Tidepool).
      const url = new URL(this.o.issuer);
      const insecure = url.protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : {};
      const config = await client.discovery(url, this.o.clientId, this.o.clientSecret, undefined, insecure);
      const jwksUri = config.serverMetadata().jwks_uri;
      if (!jwksUri) throw new Error(`${this.o.issuer} publishes no jwks_uri`);
      return { config, jwks: createRemoteJWKSet(new URL(jwksUri)) };
    })().catch((err) => {
      this.#config = undefined;
      throw new SignInError(502, `${this.label} did not answer its discovery: ${reasonOf(err)}`);
    });
    return this.#config;
  }

  async start(redirectUri: string) {
    const { config } = await this.#discover();
    const verifier = client.randomPKCECodeVerifier();
    const pending: Pending = { state: client.randomState(), nonce: client.randomNonce(), verifier, redirectUri };
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: SCOPE,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce!,
    });
    return { url: url.href, pending };
  }

  async finish(query: URLSearchParams, pending: Pending): Promise<Person> {
    const { config } = await this.#discover();
    const current = new URL(pending.redirectUri);
    current.search = query.toString();
    let claims: client.IDToken | undefined;
    try {
      const tokens = await client.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce!,
        idTokenExpected: true,
      });
      claims = tokens.claims();
    } catch (err) {
      throw new SignInError(400, `the sign-in with ${this.label} did not check out: ${reasonOf(err)}`);
    }
    if (!claims) throw new SignInError(400, `${this.label} sent no ID token`);
    return personOf(claims);
  }

  async verifyBearer(token: string): Promise<Person> {
    const { jwks } = await this.#discover();
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer: this.o.issuer,
        audience: [this.o.clientId, ...(this.o.audiences ?? [])],
        requiredClaims: ['exp', 'sub'],
      });
      return personOf(payload);
    } catch (err) {
      throw new SignInError(401, `Unauthorized: the Bearer token was refused: ${reasonOf(err)}`);
    }
  }
}

function personOf(c: JWTPayload): Person {
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  const email = str(c.email);
  const username = str(c.preferred_username);
  const groups = Array.isArray(c.groups) ? c.groups.filter((g): g is string => typeof g === 'string') : [];
  return {
    name: email ?? username ?? String(c.sub),
    username,
    email,
    emailVerified: c.email_verified === undefined ? undefined : c.email_verified === true,
    groups,
  };
}
