// Its own module so that naming a store in a message does not load the PostgreSQL driver.
/** A PostgreSQL URL as it may be printed: the password masked. */
export function safePostgresUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '*****';
    u.searchParams.delete('password');
    return u.toString().replace('%2A%2A%2A%2A%2A', '*****');
  } catch {
    return 'postgres://(unparseable URL)';
  }
}
