/**
 * Which audit store a command uses, decided one way for every command (gateways, reading
 * commands, evidence, doctor): the admin's `[gatehouse_audit] store` wins over `--audit`, which
 * wins over `GATEHOUSE_AUDIT`, which wins over the default (`$GATEHOUSE_HOME/audit.db`). A user
 * setting the admin's store overrides is reported, never silently dropped.
 */
export interface AuditStoreChoice {
  /** The store to open; undefined: the default. */
  spec: string | undefined;
  source: 'requirements' | '--audit' | 'GATEHOUSE_AUDIT' | 'default';
  /** A user setting that lost to the admin's store (for a warning), or null. */
  overridden: { source: '--audit' | 'GATEHOUSE_AUDIT'; spec: string } | null;
}

export function chooseAuditStore(settings: {
  admin: string | undefined;
  flag: string | undefined;
  env: string | undefined;
}): AuditStoreChoice {
  const env = settings.env === '' ? undefined : settings.env;
  const user =
    settings.flag !== undefined
      ? { source: '--audit' as const, spec: settings.flag }
      : env !== undefined
        ? { source: 'GATEHOUSE_AUDIT' as const, spec: env }
        : null;
  if (settings.admin !== undefined)
    return {
      spec: settings.admin,
      source: 'requirements',
      overridden: user && user.spec !== settings.admin ? user : null,
    };
  if (user) return { spec: user.spec, source: user.source, overridden: null };
  return { spec: undefined, source: 'default', overridden: null };
}
