// What a server tells a client before it signs in (GET AUTH_INFO_PATH, no credentials needed):
// how it checks who you are, and for OpenID Connect where `tidepool login` signs in. The CLI
// reads it to pick a flow; nothing in it is a secret.

/** The unauthenticated endpoint that answers an AuthInfo. */
export const AUTH_INFO_PATH = '/api/v1/auth/info';

export type AuthMode = 'basic' | 'oidc' | 'github';

export interface AuthInfo {
  /** How the server checks requests: `basic` (a user and password, the default), `oidc`, or `github`. */
  mode: AuthMode;
  /** Personal access tokens (`Authorization: Bearer tp_...`) are accepted. */
  tokens?: boolean;
  /** OpenID Connect only: where the CLI signs in. */
  oidc?: {
    /** The issuer URL (its /.well-known/openid-configuration is discovered). */
    issuer: string;
    /** The public client the CLI signs in as (no secret: device flow and loopback redirect with PKCE). */
    cliClientId: string;
    /** Scopes to ask for. Defaults to `openid profile email offline_access`. */
    scopes?: string[];
  };
}
