/** Secrets never reach logs, errors or `config show`: URLs lose their password. */

const SCHEME_RE = /^[a-z][a-z0-9+.-]*:(?:\/\/)?/i;

/**
 * `mysql://root:s3cret@h:3306/db` → `mysql://root:****@h:3306/db`. Anything without a password is unchanged.
 *
 * The user info ends at the last `@` of the authority, as URL parsers read it: a password may hold `@`
 * (`root:p@ss@h`). A URL a parser rejects may hold `/`, `?` or `#` in its password (`root:pa/ss@h`), so when the
 * authority has no `@` the last `@` of the whole text ends the user info: masking too much beats showing a password.
 */
export function maskUrl(url: string): string {
  const scheme = SCHEME_RE.exec(url)?.[0];
  if (scheme === undefined) return url;
  const rest = url.slice(scheme.length);
  const authority = /^[^/?#]*/.exec(rest)![0];
  let at = authority.lastIndexOf('@');
  if (at < 0) at = rest.lastIndexOf('@');
  const colon = rest.indexOf(':');
  if (at < 0 || colon < 0 || colon > at) return url;
  return `${scheme}${rest.slice(0, colon)}:${colon + 1 < at ? '****' : ''}${rest.slice(at)}`;
}

/** Masks every URL-with-password found inside a free text (error messages from drivers). */
export function maskSecrets(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]*/gi, (url) => maskUrl(url));
}
