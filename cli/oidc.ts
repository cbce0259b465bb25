// `tidepool login` with OpenID Connect, as kubectl's oidc-login does, through openid-client
// (discovery, PKCE, state and nonce checks, ID token validation: none of it hand-written):
//   - the device authorization flow, for a terminal without a browser: prints the URL and the
//     code, and polls the provider until the person has signed in elsewhere;
//   - the browser flow: a one-shot HTTP server on 127.0.0.1 on a random port is the redirect
//     URI (RFC 8252: a native app's loopback redirect, any port), with PKCE, state and nonce.
// The CLI is a public client (no secret). Both flows end in an ID token (sent as the Bearer)
// and a refresh token, which `refreshed()` trades for a new ID token once the old one expires.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oidc from 'openid-client';
import { errorMessage } from '../specs/errors.js';
import { CliError } from './errors.js';
import type { OidcAuth } from './contexts-file.js';

export const DEFAULT_SCOPES = ['openid', 'profile', 'email', 'offline_access'];

/** How long a browser sign-in may take before the CLI gives up. */
const BROWSER_TIMEOUT_MS = 5 * 60_000;

const LOOPBACK = new Set(['127.0.0.1', '::1', '[::1]', 'localhost']);

/** The provider's configuration for the CLI's public client. Plain http only on loopback (tests, a laptop). */
export async function discover(issuer: string, clientId: string): Promise<oidc.Configuration> {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new CliError(`the server names an issuer that is not a URL: "${issuer}"`);
  }
  const insecure = url.protocol === 'http:';
  if (insecure && !LOOPBACK.has(url.hostname))
    throw new CliError(`refusing to sign in over plain http to ${issuer}: an issuer other than loopback must be https`);
  try {
    return await oidc.discovery(
      url,
      clientId,
      undefined,
      oidc.None(),
      insecure ? { execute: [oidc.allowInsecureRequests] } : {},
    );
  } catch (err) {
    throw new CliError(`cannot discover the OpenID Connect issuer ${issuer}: ${describe(err)}`);
  }
}

/** The fields the CLI keeps of a token response. */
export function toStored(
  issuer: string,
  clientId: string,
  tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers,
  previousRefresh?: string,
): OidcAuth & { who: string } {
  const claims = tokens.claims();
  if (!tokens.id_token || !claims)
    throw new CliError(
      `the issuer ${issuer} answered without an ID token: is the scope "openid" allowed for ${clientId}?`,
    );
  const refreshToken = tokens.refresh_token ?? previousRefresh;
  const who = String(claims.preferred_username ?? claims.email ?? claims.sub);
  return {
    issuer,
    clientId,
    idToken: tokens.id_token,
    ...(refreshToken ? { refreshToken } : {}),
    expiresAt: claims.exp,
    who,
  };
}

export type Say = (line: string) => void;

/** The device flow: prints where to go and the code, then waits for the person to finish there. */
export async function deviceLogin(
  config: oidc.Configuration,
  scopes: string[],
  say: Say,
  signal?: AbortSignal,
): Promise<oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers> {
  let started: oidc.DeviceAuthorizationResponse;
  try {
    started = await oidc.initiateDeviceAuthorization(config, { scope: scopes.join(' ') });
  } catch (err) {
    throw new CliError(`the issuer refused the device sign-in: ${describe(err)}`);
  }
  say(`To sign in, open ${started.verification_uri} and enter the code ${started.user_code}`);
  if (started.verification_uri_complete) say(`(or open ${started.verification_uri_complete})`);
  try {
    return await oidc.pollDeviceAuthorizationGrant(config, started, undefined, signal ? { signal } : {});
  } catch (err) {
    throw new CliError(`the device sign-in did not complete: ${describe(err)}`);
  }
}

/**
 * The browser flow: listens on 127.0.0.1 on a random port, hands `open` the authorization URL
 * (and prints it), and trades the code the provider redirects back with for tokens.
 */
export async function browserLogin(
  config: oidc.Configuration,
  scopes: string[],
  say: Say,
  open: (url: string) => void,
): Promise<oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  try {
    const redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: scopes.join(' '),
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    say(`Opening ${url.href} in your browser to sign in (open it yourself if nothing happens)`);
    open(url.href);
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new CliError(`no sign-in came back within ${BROWSER_TIMEOUT_MS / 60_000} minutes`)),
        BROWSER_TIMEOUT_MS,
      );
      server.on('request', (req, res) => {
        const current = new URL(req.url ?? '/', redirectUri);
        if (current.pathname !== '/callback') {
          res.writeHead(404).end();
          return;
        }
        oidc
          .authorizationCodeGrant(config, current, {
            pkceCodeVerifier: verifier,
            expectedState: state,
            expectedNonce: nonce,
          })
          .then((tokens) => {
            res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
            res.end('Signed in to Tidepool. You can close this tab.\n');
            clearTimeout(timer);
            resolve(tokens);
          })
          .catch((err: unknown) => {
            res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
            res.end(`Tidepool sign-in failed: ${describe(err)}\n`);
            clearTimeout(timer);
            reject(new CliError(`the browser sign-in failed: ${describe(err)}`));
          });
      });
    });
  } finally {
    server.close();
    server.closeAllConnections();
  }
}

/** A new ID token for an expired one, through the refresh token. */
export async function refreshed(auth: OidcAuth): Promise<OidcAuth> {
  if (!auth.refreshToken)
    throw new CliError(`the ID token from ${auth.issuer} expired and there is no refresh token: run tidepool login`);
  const config = await discover(auth.issuer, auth.clientId);
  try {
    const tokens = await oidc.refreshTokenGrant(config, auth.refreshToken);
    const { who: _who, ...stored } = toStored(auth.issuer, auth.clientId, tokens, auth.refreshToken);
    return stored;
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(
      `the sign-in at ${auth.issuer} expired and could not be refreshed (${describe(err)}): run tidepool login`,
    );
  }
}

/** Ends the sign-in at the provider too, where it can revoke (best effort: the tokens are dropped anyway). */
export async function revoke(auth: OidcAuth): Promise<void> {
  if (!auth.refreshToken) return;
  const config = await discover(auth.issuer, auth.clientId);
  if (!config.serverMetadata().revocation_endpoint) return;
  await oidc.tokenRevocation(config, auth.refreshToken, { token_type_hint: 'refresh_token' });
}

/** An OAuth error's code and description, or the error's message. */
function describe(err: unknown): string {
  const e = err as {
    error?: string;
    error_description?: string;
    cause?: { error?: string; error_description?: string };
  };
  const code = e.error ?? e.cause?.error;
  const text = e.error_description ?? e.cause?.error_description;
  if (code) return text ? `${code}: ${text}` : code;
  return errorMessage(err);
}
