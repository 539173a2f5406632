import { maskArgs } from '../masking/mask-text.js';
import type { InventoryHook } from './model.js';

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The hooks a plugin bundles, from a hooks file (`{"hooks": {"PreToolUse": [{"matcher": "*",
 * "hooks": [{"type": "command", "command": "./check.sh"}]}]}}`, Claude Code's and Codex's
 * shape; the outer `hooks` wrapper is optional). Pure. Every hook is listed — an entry that
 * cannot be understood is still a hook (type `unknown`), so it is never hidden from review.
 */
export function parseHooksDocument(
  value: unknown,
  file: string,
): { hooks: InventoryHook[]; problems: string[] } {
  const problems: string[] = [];
  const hooks: InventoryHook[] = [];
  const events = isObj(value) && isObj(value.hooks) ? value.hooks : value;
  if (!isObj(events)) {
    problems.push('expected {"hooks": {"<Event>": [ … ]}}');
    return { hooks, problems };
  }
  for (const [event, groups] of Object.entries(events)) {
    if (!Array.isArray(groups)) {
      problems.push(`"${event}" is not a list; counted as one hook of unknown type`);
      hooks.push({ event, matcher: null, command: null, type: 'unknown', file });
      continue;
    }
    groups.forEach((group: unknown, i) => {
      const matcher = isObj(group) && typeof group.matcher === 'string' ? group.matcher : null;
      const inner = isObj(group) && Array.isArray(group.hooks) ? (group.hooks as unknown[]) : null;
      if (!inner) {
        problems.push(`"${event}"[${i}] has no "hooks" list; counted as one hook of unknown type`);
        hooks.push({ event, matcher, command: null, type: 'unknown', file });
        return;
      }
      for (const h of inner) {
        const type = isObj(h) && typeof h.type === 'string' ? h.type : 'unknown';
        const command = isObj(h) && typeof h.command === 'string' ? h.command : null;
        hooks.push({
          event,
          matcher,
          command: command === null ? null : maskArgs(command.split(' ')).join(' '),
          type,
          file,
        });
      }
    });
  }
  return { hooks, problems };
}
