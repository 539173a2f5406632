import { describeAuditSpec } from '../audit/open-store.js';
import { chooseAuditStore } from '../audit/store-choice.js';
import { loadRequirements } from '../requirements/load-requirements.js';
import { resolve } from 'node:path';
import type { CliIo } from './io.js';
import type { GlobalOptions, World } from './world.js';

/**
 * The audit store a command opens, chosen one way (store-choice.ts) by gateways, reading
 * commands, evidence and doctor. Kept apart from audit-runtime.ts so a reading command does not
 * load the gateway's stages to learn which file to read.
 */
/** The store a gateway or evidence uses (the admin's wins), with a warning when it overrides. */
export function auditSpec(world: World, io: CliIo, flag: string | undefined): string | undefined {
  return chosenStore(
    world.requirements.requirements.audit.store?.value,
    flag,
    io,
    world.gatehouseHome,
  );
}

/** chooseAuditStore, saying on stderr which user setting lost to the admin's store. */
export function chosenStore(
  admin: string | undefined,
  flag: string | undefined,
  io: CliIo,
  home: string,
): string | undefined {
  const choice = chooseAuditStore({ admin, flag, env: io.env.GATEHOUSE_AUDIT });
  if (choice.overridden && admin !== undefined)
    io.stderr(
      `warning: the requirements fix the audit store to ${describeAuditSpec(admin, home)}; ${choice.overridden.source} ${describeAuditSpec(choice.overridden.spec, home)} is ignored\n`,
    );
  return choice.spec;
}

/** The admin's `[gatehouse_audit] store` in the requirement layers a command sees, if any. */
export function adminAuditStore(global: GlobalOptions, io: CliIo): string | undefined {
  return loadRequirements({
    requirementFiles: global.requirements.map((f) => resolve(io.cwd, f)),
    env: io.env,
  }).requirements.audit.store?.value;
}
