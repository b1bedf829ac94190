/** Secrets never reach logs, errors or `config show`: URLs lose their password. */

const USERINFO_RE = /^([a-z][a-z0-9+.-]*:\/\/)([^/@:]*):([^/@]*)@/i;

/** `mysql://root:s3cret@h:3306/db` → `mysql://root:****@h:3306/db`. Anything without a password is unchanged. */
export function maskUrl(url: string): string {
  return url.replace(USERINFO_RE, (_m, scheme: string, user: string, pass: string) =>
    pass.length > 0 ? `${scheme}${user}:****@` : `${scheme}${user}:@`,
  );
}

/** Masks every URL-with-password found inside a free text (error messages from drivers). */
export function maskSecrets(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)([^/@:\s]*):([^/@\s]+)@/gi, '$1$2:****@');
}
