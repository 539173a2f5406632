import type { PolicySettings } from '../pipeline/stages/policy.js';
import { policyRevision } from '../policy/revision.js';
import type { World } from './world.js';

/** The tool policy of the loaded world and each server's user approval modes (its config). */
export function policySettingsFor(
  world: World,
  onWarning?: (message: string) => void,
): PolicySettings {
  const policy = world.requirements.requirements.policy;
  return {
    policy,
    revision: policyRevision(policy),
    ...(onWarning ? { onWarning } : {}),
    userModes: (name) => {
      const server = world.decisions.find((d) => d.server.name === name)?.server;
      return server ? { defaultMode: server.defaultToolsApprovalMode, tools: server.tools } : null;
    },
  };
}
