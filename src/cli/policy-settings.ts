import type { PolicySettings } from '../pipeline/stages/policy.js';
import { policyRevision } from '../policy/revision.js';
import type { World } from './world.js';
import { identityAliases } from '../requirements/identity-overlap.js';

/**
 * The tool policy of the loaded world, each server's user approval modes (its config), and the
 * other allowlisted names each server's identity satisfies (their tool rules apply to it too).
 */
export function policySettingsFor(
  world: World,
  onWarning?: (message: string) => void,
): PolicySettings {
  const policy = world.requirements.requirements.policy;
  const aliases = new Map<string, string[]>();
  return {
    policy,
    revision: policyRevision(policy),
    ...(onWarning ? { onWarning } : {}),
    aliasesOf: (name) => {
      let found = aliases.get(name);
      if (!found) {
        const server = world.decisions.find((d) => d.server.name === name)?.server;
        found = server
          ? identityAliases(name, server.transport, world.requirements.requirements)
          : [];
        aliases.set(name, found);
      }
      return found;
    },
    userModes: (name) => {
      const server = world.decisions.find((d) => d.server.name === name)?.server;
      return server ? { defaultMode: server.defaultToolsApprovalMode, tools: server.tools } : null;
    },
  };
}
