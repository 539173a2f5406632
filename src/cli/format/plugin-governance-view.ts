import { maskUrl } from '../../masking/mask-text.js';
import { describeSource } from '../../requirements/model.js';
import type { StringMatcher } from '../../requirements/model.js';
import type { PluginGovernance } from '../../requirements/parse-plugins-table.js';
import { describeMatcher } from './server-view.js';

function matcherJson(m: StringMatcher): Record<string, string> {
  return m.match === 'regex'
    ? { match: 'regex', expression: m.expression }
    : { match: m.match, value: maskUrl(m.value) };
}

/** `[gatehouse_plugins]` as `requirements check --json` prints it; absent keys are null. */
export function pluginGovernanceJson(g: PluginGovernance): Record<string, unknown> {
  return {
    hooks_require_review: g.hooksRequireReview?.value ?? null,
    remote_servers_require_allowlist: g.remoteServersRequireAllowlist?.value ?? null,
    allowed_install_policies: g.allowedInstallPolicies?.value ?? null,
    allowed_auth_policies: g.allowedAuthPolicies?.value ?? null,
    allowed_sources: g.allowedSources
      ? Object.fromEntries(
          [...g.allowedSources].map(([name, r]) => [
            name,
            {
              type: r.type,
              url: r.url ? matcherJson(r.url) : null,
              host: r.host,
              path: r.path,
              source: describeSource(r.source),
            },
          ]),
        )
      : null,
    approved: g.approved
      ? Object.fromEntries(
          [...g.approved].map(([id, a]) => [
            id,
            { versions: a.versions, source: describeSource(a.source) },
          ]),
        )
      : null,
  };
}

/** The human lines of `requirements check` for `[gatehouse_plugins]`. */
export function pluginGovernanceLines(g: PluginGovernance): string[] {
  const set = <T>(s: { value: T } | null, show: (v: T) => string) =>
    s === null ? 'not set' : show(s.value);
  const lines = [
    `gatehouse_plugins: hooks_require_review = ${set(g.hooksRequireReview, String)}; remote_servers_require_allowlist = ${set(g.remoteServersRequireAllowlist, String)}; install policies ${set(g.allowedInstallPolicies, (v) => v.join(', '))}; auth policies ${set(g.allowedAuthPolicies, (v) => v.join(', '))}`,
  ];
  if (g.allowedSources === null) lines.push('  marketplace sources: any (no allowed_sources)');
  else if (g.allowedSources.size === 0)
    lines.push('  marketplace sources: EMPTY allowed_sources: every marketplace is a violation');
  for (const r of g.allowedSources?.values() ?? []) {
    const url = r.url
      ? r.url.match === 'regex'
        ? describeMatcher(r.url)
        : `${r.url.match} ${JSON.stringify(maskUrl(r.url.value))}`
      : null;
    const what = url ? `url ${url}` : r.host ? `host ${r.host}` : `path ${r.path}`;
    lines.push(`  source ${r.name}: ${r.type} ${what} (${describeSource(r.source)})`);
  }
  if (g.approved !== null)
    lines.push(
      `  approved: ${
        g.approved.size === 0
          ? 'none (every installed plugin is a violation)'
          : [...g.approved.values()]
              .map((a) => `${a.id} ${a.versions === '*' ? '*' : a.versions.join('|')}`)
              .join(', ')
      }`,
    );
  return lines;
}
