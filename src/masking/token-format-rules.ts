import type { DetectorRule } from './rules.js';

// Provider token formats (gitleaks' facts, reference §6) and the structured ones with a shape of
// their own (PEM keys, JWTs, service-account JSON). The order is part of the rules: on overlaps
// the earlier rule wins (detect.ts).

const B = '(?<![A-Za-z0-9_])'; // start boundary (no lookbehind-heavy constructs beyond this)
const E = '(?![A-Za-z0-9_])';

function token(
  id: string,
  kind: string,
  keywords: string[],
  body: string,
  entropy?: number,
): DetectorRule {
  return {
    id,
    kind,
    keywords,
    pattern: new RegExp(`${B}${body}${E}`, 'g'),
    keywordStarts: true,
    precheck: atWordStart,
    ...(entropy ? { entropy } : {}),
  };
}

/**
 * `B` as code: no word character before `at`. Short prefixes (`b_`, `sk_`, `api-`) occur inside
 * identifiers thousands of times; this skips the regex call there.
 */
function atWordStart(text: string, at: number): boolean {
  if (at === 0) return true;
  const c = text.charCodeAt(at - 1);
  return !((c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) || c === 0x5f);
}

/** A start before the anchor, when the text has room for it. */
function pushStart(out: number[], start: number): void {
  if (start >= 0) out.push(start);
}

/** Where a pattern that starts at the anchor matches, as its only start. */
function startsAtAnchor(_text: string, at: number, out: number[]): void {
  out.push(at);
}

/**
 * For a pattern that starts `\\?"` at a quoted key (the anchor's `"`): at the backslash before
 * it when there is one (JSON inside a JSON string), and at the quote.
 */
export function atQuoteOrItsBackslash(text: string, at: number, out: number[]): void {
  if (text.charCodeAt(at - 1) === 0x5c) out.push(at - 1);
  out.push(at);
}

/** `https://canary.discord`, `https://ptb.discord` or `https://discord`: where each starts. */
function discordWebhookStarts(text: string, at: number, out: number[]): void {
  for (const prefix of ['https://canary.', 'https://ptb.', 'https://']) {
    if (at >= prefix.length && text.startsWith(prefix, at - prefix.length))
      out.push(at - prefix.length);
  }
}

/** `https://hooks.slack.com` or `http://hooks.slack.com`. */
function slackWebhookStarts(text: string, at: number, out: number[]): void {
  if (at >= 8 && text.startsWith('https://', at - 8)) out.push(at - 8);
  else if (at >= 7 && text.startsWith('http://', at - 7)) out.push(at - 7);
}

/** `https://` and one label of 1–60 `[a-z0-9-]` before `.webhook.office.com`. */
function teamsWebhookStarts(text: string, at: number, out: number[]): void {
  let start = at;
  while (start > 0 && at - start <= 60 && isTeamsLabelCharacter(text.charCodeAt(start - 1)))
    start -= 1;
  if (start < at && at - start <= 60 && start >= 8 && text.startsWith('https://', start - 8))
    out.push(start - 8);
}

function isTeamsLabelCharacter(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || c === 0x2d;
}

/** `[A-Za-z0-9_-]` */
function isTokenCharacter(c: number): boolean {
  return isAlphanumeric(c) || c === 0x5f || c === 0x2d;
}

/** `[A-Za-z0-9]` */
function isAlphanumeric(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a);
}

/** Secrets recognisable by their own shape, wherever they stand. */
export const TOKEN_FORMAT_RULES: readonly DetectorRule[] = [
  {
    ...token(
      'aws-access-key-id',
      'aws_access_key',
      ['akia', 'asia', 'abia', 'acca', 'a3t'],
      '(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}',
      3,
    ),
    // AWS's documentation key (AKIAIOSFODNN7EXAMPLE) is everywhere in docs and samples.
    validate: (s) => !s.endsWith('EXAMPLE'),
  },
  {
    id: 'aws-secret-access-key',
    kind: 'aws_secret_key',
    keywords: ['aws', 'secret_access', 'secretaccess'],
    pattern:
      /(?:aws)?[_ ]?secret[_ ]?(?:access)?[_ ]?key\\?["']?(?:\s{0,5}[:=]\s{0,5}|\s{1,5})\\?["']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])/gi,
    // `secret` is everywhere in tool output, `secret key` and `secret_access_key` are not.
    anchored: { anchor: 'secret', starts: awsSecretKeyStarts },
    group: 1,
    entropy: 3.5,
  },
  token('aws-bedrock-key', 'aws_bedrock_key', ['absk'], 'ABSK[A-Za-z0-9+/]{109,269}={0,2}', 3),
  token('github-pat', 'github_token', ['ghp_'], 'ghp_[A-Za-z0-9]{36}', 3),
  token('github-oauth', 'github_token', ['gho_'], 'gho_[A-Za-z0-9]{36}', 3),
  token('github-refresh', 'github_token', ['ghr_'], 'ghr_[A-Za-z0-9]{36,76}', 3),
  token('github-app', 'github_token', ['ghu_', 'ghs_'], '(?:ghu|ghs)_[A-Za-z0-9]{36}', 3),
  token(
    'github-fine-grained-pat',
    'github_token',
    ['github_pat_'],
    'github_pat_[A-Za-z0-9_]{82}',
    3,
  ),
  token(
    'gitlab-pat',
    'gitlab_token',
    ['glpat-'],
    'glpat-[A-Za-z0-9_-]{20,300}(?:\\.[A-Za-z0-9]{2,10})?',
    3,
  ),
  token('gitlab-runner', 'gitlab_token', ['glrt-'], 'glrt-[A-Za-z0-9_-]{20,64}', 3),
  token('gitlab-trigger', 'gitlab_token', ['glptt-'], 'glptt-[0-9a-f]{40}', 3),
  token('gitlab-deploy', 'gitlab_token', ['gldt-'], 'gldt-[A-Za-z0-9_-]{20,64}', 3),
  token(
    'slack-bot',
    'slack_token',
    ['xoxb-'],
    'xoxb-[0-9]{10,13}-[0-9]{10,13}-?[A-Za-z0-9-]{0,40}',
    3,
  ),
  token(
    'slack-user',
    'slack_token',
    ['xoxp-', 'xoxe-'],
    'xox[pe](?:-[0-9]{10,13}){3}-[A-Za-z0-9-]{28,40}',
    2,
  ),
  token(
    'slack-app',
    'slack_token',
    ['xapp-'],
    'xapp-[0-9]-[A-Z0-9]{9,12}-[0-9]{10,14}-[a-f0-9]{60,70}',
    2,
  ),
  token(
    'slack-legacy',
    'slack_token',
    ['xoxo-', 'xoxs-', 'xoxa-', 'xoxr-'],
    'xox[osar]-[0-9A-Za-z-]{10,100}',
    2,
  ),
  {
    id: 'slack-webhook',
    kind: 'slack_webhook',
    keywords: ['hooks.slack.com'],
    anchored: { anchor: 'hooks.slack.com', starts: slackWebhookStarts },
    pattern: /https?:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9+/]{40,60}/g,
  },
  {
    id: 'teams-webhook',
    kind: 'teams_webhook',
    keywords: ['webhook.office.com'],
    anchored: { anchor: '.webhook.office.com', starts: teamsWebhookStarts },
    pattern:
      /https:\/\/[a-z0-9-]{1,60}\.webhook\.office\.com\/webhookb2\/[a-z0-9-]{30,40}@[a-z0-9-]{30,40}\/IncomingWebhook\/[A-Za-z0-9]{32}\/[a-z0-9-]{36}/g,
  },
  {
    id: 'discord-webhook',
    kind: 'discord_webhook',
    keywords: ['discord'],
    anchored: { anchor: 'discord', starts: discordWebhookStarts },
    pattern:
      /https:\/\/(?:ptb\.|canary\.)?discord(?:app)?\.com\/api\/webhooks\/[0-9]{17,20}\/[A-Za-z0-9_-]{60,70}/g,
  },
  // The keyword is context or sits inside the token: scan, do not start at it.
  {
    ...token(
      'discord-bot-token',
      'discord_token',
      ['discord', 'bot '],
      '[MNO][A-Za-z0-9_-]{23,25}\\.[A-Za-z0-9_-]{6}\\.[A-Za-z0-9_-]{27,38}',
      3.5,
    ),
    keywordStarts: false,
  },
  {
    id: 'telegram-bot-token',
    kind: 'telegram_token',
    keywords: ['telegram', 'bot', 'tg'],
    // From the `:AA` (V8 skips to a literal), the bot id's 8–10 digits taken backwards.
    pattern: /:AA[A-Za-z0-9_-]{33}(?![A-Za-z0-9_-])/g,
    back: { chars: /[0-9]/, min: 8, max: 10, boundary: /[0-9]/ },
    // `:aa` in either case is the anchor; the pattern wants `:AA`.
    anchored: {
      anchor: ':aa',
      starts: (text, at, out) => {
        if (text.startsWith(':AA', at)) out.push(at);
      },
    },
  },
  token(
    'openai-project-key',
    'openai_key',
    ['sk-proj-', 'sk-svcacct-', 'sk-admin-'],
    'sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,200}T3BlbkFJ[A-Za-z0-9_-]{20,200}',
    3,
  ),
  // The keyword is context or sits inside the token: scan, do not start at it.
  {
    ...token(
      'openai-legacy-key',
      'openai_key',
      ['t3blbkfj'],
      'sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}',
      3,
    ),
    keywordStarts: false,
    // `sk-` and 20 characters before the marker.
    anchored: { anchor: 't3blbkfj', starts: (_text, at, out) => pushStart(out, at - 23) },
  },
  token(
    'openai-key-generic',
    'openai_key',
    ['sk-proj-', 'sk-svcacct-'],
    'sk-(?:proj|svcacct)-[A-Za-z0-9_-]{40,200}',
    3.5,
  ),
  token(
    'anthropic-key',
    'anthropic_key',
    ['sk-ant-'],
    'sk-ant-(?:api|admin)[0-9]{2}-[A-Za-z0-9_-]{80,100}(?:AA)?',
    3,
  ),
  token('perplexity-key', 'perplexity_key', ['pplx-'], 'pplx-[A-Za-z0-9]{48}', 4),
  token(
    'huggingface-token',
    'huggingface_token',
    ['hf_', 'api_org_'],
    '(?:hf_|api_org_)[A-Za-z]{34}',
    2,
  ),
  token('groq-key', 'groq_key', ['gsk_'], 'gsk_[A-Za-z0-9]{52}', 3),
  token('xai-key', 'xai_key', ['xai-'], 'xai-[A-Za-z0-9]{80}', 3),
  token('replicate-token', 'replicate_token', ['r8_'], 'r8_[A-Za-z0-9]{37}', 3),
  token('google-api-key', 'google_api_key', ['aiza'], 'AIza[0-9A-Za-z_-]{35}', 4),
  token('google-oauth-secret', 'google_oauth_secret', ['gocspx-'], 'GOCSPX-[A-Za-z0-9_-]{28}', 3),
  {
    id: 'gcp-service-account-key',
    kind: 'gcp_service_account',
    keywords: ['private_key_id', 'service_account'],
    anchored: { anchor: '"private_key_id', starts: atQuoteOrItsBackslash },
    pattern: /\\?"private_key_id\\?"\s{0,5}:\s{0,5}\\?"([0-9a-f]{40})\\?"/g,
    group: 1,
  },
  {
    id: 'pem-private-key',
    kind: 'private_key',
    keywords: ['private key'],
    anchored: { anchor: '-----begin ', starts: startsAtAnchor },
    // The body cannot run through another `-----` (a dash only when four more do not follow), so
    // each header scans only its own body: linear even on a page of headers with no END. A key
    // cut off before its END line (a truncated result) is still masked to the end of its body.
    pattern:
      /-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----(?:[A-Za-z0-9+/=\s:,.]|-(?!----)){32,16384}(?:-----END (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----)?/g,
  },
  {
    id: 'pem-private-key-escaped',
    kind: 'private_key',
    keywords: ['private key'],
    anchored: { anchor: '-----begin ', starts: startsAtAnchor },
    pattern:
      /-----BEGIN (?:RSA |EC |DSA |OPENSSH )?PRIVATE KEY-----(?:\\n|\\r\\n)(?:[A-Za-z0-9+/=\\]|-(?!----)){32,16384}(?:-----END (?:RSA |EC |DSA |OPENSSH )?PRIVATE KEY-----)?/g,
  },
  token(
    'age-secret-key',
    'age_key',
    ['age-secret-key-1'],
    'AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}',
  ),
  {
    id: 'jwt',
    kind: 'jwt',
    keywords: ['eyj'],
    pattern:
      /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{14,4096}\.ey[A-Za-z0-9_-]{15,8192}\.[A-Za-z0-9_-]{10,4096}(?![A-Za-z0-9_-])/g,
    // Every match starts at an `eyj` hit: tried there (exact case, at a boundary) only.
    keywordStarts: true,
    precheck: (text, at) =>
      text.startsWith('eyJ', at) && !(at > 0 && isTokenCharacter(text.charCodeAt(at - 1))),
    entropy: 3,
  },
  token('npm-token', 'npm_token', ['npm_'], 'npm_[A-Za-z0-9]{36}', 2),
  token(
    'pypi-token',
    'pypi_token',
    ['pypi-ageichlwas5vcmc'],
    'pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,1000}',
    3,
  ),
  token('rubygems-token', 'rubygems_token', ['rubygems_'], 'rubygems_[0-9a-f]{48}', 2),
  token('nuget-key', 'nuget_key', ['oy2'], 'oy2[a-z0-9]{43}', 3.5),
  token(
    'stripe-key',
    'stripe_key',
    ['sk_', 'rk_'],
    '(?:sk|rk)_(?:test|live|prod)_[A-Za-z0-9]{10,99}',
    2,
  ),
  token('stripe-webhook-secret', 'stripe_key', ['whsec_'], 'whsec_[A-Za-z0-9]{32,64}', 3),
  token(
    'square-token',
    'square_token',
    ['sq0atp-', 'sq0csp-', 'eaaa'],
    '(?:sq0atp-|sq0csp-|EAAA)[A-Za-z0-9_-]{22,60}',
    3,
  ),
  token('sendgrid-key', 'sendgrid_key', ['sg.'], 'SG\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}', 2),
  {
    id: 'twilio-key',
    kind: 'twilio_key',
    keywords: ['twilio', 'sk'],
    pattern: /(?<![A-Za-z0-9])SK[0-9a-f]{32}(?![A-Za-z0-9])/g,
    // Every match starts at an `sk` hit; `sk` is in every other text (`task`, `disk`), so a
    // cheap test of the upper-case `SK` and its boundary comes before the regex.
    keywordStarts: true,
    precheck: (text, at) =>
      text.charCodeAt(at) === 0x53 &&
      text.charCodeAt(at + 1) === 0x4b &&
      !(at > 0 && isAlphanumeric(text.charCodeAt(at - 1))),
    entropy: 3,
  },
  {
    id: 'mailgun-key',
    kind: 'mailgun_key',
    keywords: ['mailgun'],
    keywordStarts: true,
    pattern: /mailgun[\s\S]{0,40}?(key-[0-9a-f]{32})/gi,
    group: 1,
  },
  {
    id: 'mailchimp-key',
    kind: 'mailchimp_key',
    keywords: ['-us'],
    keywordStarts: true,
    pattern: /-us[0-9]{1,2}(?![A-Za-z0-9_])/g,
    back: { chars: /[0-9a-f]/, min: 32, max: 32, boundary: /[A-Za-z0-9_]/ },
    entropy: 3,
  },
  token(
    'shopify-token',
    'shopify_token',
    ['shpat_', 'shpca_', 'shppa_', 'shpss_'],
    'shp(?:at|ca|pa|ss)_[0-9a-fA-F]{32}',
    2,
  ),
  token('databricks-token', 'databricks_token', ['dapi'], 'dapi[0-9a-f]{32}(?:-[0-9])?', 3),
  token(
    'digitalocean-token',
    'digitalocean_token',
    ['dop_v1_', 'doo_v1_', 'dor_v1_'],
    'do[por]_v1_[0-9a-f]{64}',
    3,
  ),
  {
    id: 'terraform-cloud-token',
    kind: 'terraform_token',
    keywords: ['atlasv1'],
    anchored: { anchor: '.atlasv1.', starts: startsAtAnchor },
    pattern: /\.atlasv1\.[A-Za-z0-9_=-]{60,70}(?![A-Za-z0-9_])/g,
    back: { chars: /[A-Za-z0-9]/, min: 14, max: 14, boundary: /[A-Za-z0-9_]/ },
    entropy: 3.5,
  },
  token('vault-service-token', 'vault_token', ['hvs.'], 'hvs\\.[A-Za-z0-9_-]{90,120}', 3.5),
  token('vault-batch-token', 'vault_token', ['hvb.'], 'hvb\\.[A-Za-z0-9_-]{138,300}', 4),
  token(
    'onepassword-service-token',
    'onepassword_token',
    ['ops_eyj'],
    'ops_eyJ[A-Za-z0-9+/=_-]{250,2000}',
    4,
  ),
  token(
    'doppler-token',
    'doppler_token',
    ['dp.pt.', 'dp.st.', 'dp.ct.', 'dp.sa.', 'dp.scim.', 'dp.audit.'],
    'dp\\.(?:pt|st|ct|sa|scim|audit)\\.[A-Za-z0-9]{40,44}',
    2,
  ),
  token('pulumi-token', 'pulumi_token', ['pul-'], 'pul-[0-9a-f]{40}', 2),
  token(
    'grafana-service-account',
    'grafana_token',
    ['glsa_'],
    'glsa_[A-Za-z0-9]{32}_[0-9a-f]{8}',
    3,
  ),
  token('grafana-cloud-token', 'grafana_token', ['glc_'], 'glc_[A-Za-z0-9+/]{32,400}={0,2}', 3),
  token('linear-key', 'linear_key', ['lin_api_'], 'lin_api_[A-Za-z0-9]{40}', 2),
  token(
    'notion-token',
    'notion_token',
    ['ntn_', 'secret_'],
    '(?:ntn_[0-9]{11}[A-Za-z0-9]{35}|secret_[A-Za-z0-9]{43})',
    4,
  ),
  token('sentry-user-token', 'sentry_token', ['sntryu_'], 'sntryu_[0-9a-f]{64}', 3.5),
  token(
    'sentry-org-token',
    'sentry_token',
    ['sntrys_'],
    'sntrys_eyJpYXQiO[A-Za-z0-9+/=_-]{20,400}_[A-Za-z0-9+/]{43}',
    3.5,
  ),
  token('heroku-key', 'heroku_key', ['hrku-'], 'HRKU-AA[0-9A-Za-z_-]{58}', 4),
  token(
    'dynatrace-token',
    'dynatrace_token',
    ['dt0c01.'],
    'dt0c01\\.[A-Z0-9]{24}\\.[A-Z0-9]{64}',
    4,
  ),
  token(
    'planetscale-password',
    'planetscale_token',
    ['pscale_pw_', 'pscale_tkn_', 'pscale_oauth_'],
    'pscale_(?:pw|tkn|oauth)_[A-Za-z0-9=._-]{32,64}',
    3,
  ),
  token('openshift-token', 'openshift_token', ['sha256~'], 'sha256~[A-Za-z0-9_-]{43}', 3.5),
  token('atlassian-token', 'atlassian_token', ['atatt3'], 'ATATT3[A-Za-z0-9_=-]{186}', 3.5),
  token('newrelic-user-key', 'newrelic_key', ['nrak-'], 'NRAK-[A-Z0-9]{27}', 3),
  token('newrelic-insert-key', 'newrelic_key', ['nrii-'], 'NRII-[A-Za-z0-9_-]{32}', 3),
  token(
    'cloudflare-origin-ca-key',
    'cloudflare_key',
    ['v1.0-'],
    'v1\\.0-[0-9a-f]{24}-[0-9a-f]{146}',
    3,
  ),
  token(
    'tailscale-key',
    'tailscale_key',
    ['tskey-'],
    'tskey-(?:api|auth|client|scim|webhook)-[A-Za-z0-9]{6,20}-[A-Za-z0-9]{20,64}',
    3,
  ),
  token(
    'vercel-token',
    'vercel_token',
    ['vercel_', 'vcp_', 'vci_', 'vca_', 'vcr_', 'vck_'],
    '(?:vcp|vci|vca|vcr|vck)_[A-Za-z0-9]{24,70}',
    3,
  ),
  token('figma-token', 'figma_token', ['figd_'], 'figd_[A-Za-z0-9_-]{40}', 3),
  token('docker-hub-pat', 'docker_token', ['dckr_pat_'], 'dckr_pat_[A-Za-z0-9_-]{27}', 3),
  token('postman-key', 'postman_key', ['pmak-'], 'PMAK-[a-f0-9]{24}-[a-f0-9]{34}', 3),
  token(
    'fly-token',
    'fly_token',
    ['fo1_', 'fm1', 'fm2'],
    '(?:fo1_[A-Za-z0-9_-]{43}|fm[12][ar]?_[A-Za-z0-9+/=_-]{100,300})',
    3,
  ),
  token('render-key', 'render_key', ['rnd_'], 'rnd_[A-Za-z0-9]{32}', 3),
  token('netlify-token', 'netlify_token', ['nfp_'], 'nfp_[A-Za-z0-9]{36}', 3),
  token(
    'supabase-key',
    'supabase_key',
    ['sbp_', 'sb_secret_'],
    '(?:sbp_[0-9a-f]{40}|sb_secret_[A-Za-z0-9_-]{30,60})',
    3,
  ),
  token('flyio-machine', 'fly_token', ['flyv1'], 'FlyV1 fm2_[A-Za-z0-9+/=_-]{100,600}', 3),
  // The keyword is context or sits inside the token: scan, do not start at it.
  {
    ...token(
      'azure-entra-secret',
      'azure_secret',
      ['q~'],
      '[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}',
      3,
    ),
    keywordStarts: false,
    // Four characters before the `Q~`.
    anchored: { anchor: 'q~', starts: (_text, at, out) => pushStart(out, at - 4) },
  },
  {
    id: 'azure-storage-key',
    kind: 'azure_storage_key',
    keywords: ['accountkey='],
    keywordStarts: true,
    pattern: /AccountKey=([A-Za-z0-9+/]{86}==)/g,
    group: 1,
  },
  {
    id: 'azure-sas-token',
    kind: 'azure_sas',
    keywords: ['sig='],
    anchored: {
      anchor: 'sig=',
      starts: (text, at, out) => {
        const before = text.charCodeAt(at - 1);
        if (before === 0x3f || before === 0x26) out.push(at - 1);
      },
    },
    pattern: /[?&]sig=([A-Za-z0-9%+/]{40,100}(?:%3D|=){0,2})/g,
    group: 1,
  },
  token('shippo-token', 'shippo_token', ['shippo_'], 'shippo_(?:live|test)_[0-9a-f]{40}', 3),
  token('flutterwave-key', 'flutterwave_key', ['flwseck'], 'FLWSECK(?:_TEST)?-[0-9a-f]{32}-X', 3),
  token('easypost-key', 'easypost_key', ['ezak', 'eztk'], 'EZ[AT]K[A-Za-z0-9]{54}', 3),
  token('adafruit-key', 'adafruit_key', ['aio_'], 'aio_[A-Za-z0-9]{28}', 3),
  token(
    'age-recipient-identity-plugin',
    'age_key',
    ['age-plugin-'],
    'AGE-PLUGIN-[A-Z0-9-]{10,30}-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{40,200}',
  ),
  token('clojars-token', 'clojars_token', ['clojars_'], 'CLOJARS_[a-z0-9]{60}', 2),
  token('contentful-token', 'contentful_token', ['cfpat-'], 'CFPAT-[A-Za-z0-9_-]{43}', 3),
  token('frameio-token', 'frameio_token', ['fio-u-'], 'fio-u-[A-Za-z0-9_=-]{64}', 3),
  token(
    'launchdarkly-key',
    'launchdarkly_key',
    ['api-', 'sdk-'],
    '(?:api|sdk)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}',
    3,
  ),
  token('prefect-key', 'prefect_key', ['pnu_'], 'pnu_[A-Za-z0-9]{36}', 3),
  token('readme-key', 'readme_key', ['rdme_'], 'rdme_[a-z0-9]{70}', 3),
  token('scalingo-token', 'scalingo_token', ['tk-us-'], 'tk-us-[A-Za-z0-9_-]{48}', 3),
  token('typeform-token', 'typeform_token', ['tfp_'], 'tfp_[A-Za-z0-9_.=-]{59}', 3),
  token('yandex-key', 'yandex_key', ['aqvn'], 'AQVN[A-Za-z0-9_-]{35,38}', 3),
  token(
    'harness-pat',
    'harness_token',
    ['pat.'],
    'pat\\.[A-Za-z0-9_-]{22}\\.[0-9a-f]{24}\\.[A-Za-z0-9]{20}',
    3,
  ),
  token('infracost-key', 'infracost_key', ['ico-'], 'ico-[A-Za-z0-9]{32}', 3),
  token('intercom-token', 'intercom_token', ['dg9r'], 'dG9rO[A-Za-z0-9+/]{50,70}={0,2}', 3.5),
  token('beamer-key', 'beamer_key', ['b_'], 'b_[A-Za-z0-9=_-]{44}', 4),
  token('octopus-key', 'octopus_key', ['api-'], 'API-[A-Z0-9]{26}', 3),
  token(
    'google-oauth-access-token',
    'google_oauth_token',
    ['ya29.'],
    'ya29\\.[0-9A-Za-z_-]{20,4096}',
    3,
  ),
  token(
    'google-oauth-refresh-token',
    'google_oauth_token',
    ['1//0'],
    '1//0[0-9A-Za-z_-]{30,1024}',
    3,
  ),
];

/**
 * Where an `aws-secret-access-key` match holding `secret` at `at` can start: at `secret`, or
 * after `aws` and/or one `_`/space before it; none unless `[_ ]?(access)?[_ ]?key` follows
 * (`secret` alone, as in `1 secret was revoked`, is the common case). Compared by character
 * code: this runs at every `secret` in the text.
 */
function awsSecretKeyStarts(text: string, at: number, out: number[]): void {
  let p = at + 6;
  if (isUnderscoreOrSpace(text.charCodeAt(p))) p += 1;
  if (hasWordAt(text, p, 'access')) p += 6;
  if (isUnderscoreOrSpace(text.charCodeAt(p))) p += 1;
  if (!hasWordAt(text, p, 'key')) return;
  const separated = isUnderscoreOrSpace(text.charCodeAt(at - 1));
  if (separated && hasWordAt(text, at - 4, 'aws')) out.push(at - 4);
  if (hasWordAt(text, at - 3, 'aws')) out.push(at - 3);
  if (separated) out.push(at - 1);
  out.push(at);
}

/** `word` (lower-case ASCII letters) at `at` in either case, as the `i` flag compares them. */
function hasWordAt(text: string, at: number, word: string): boolean {
  if (at < 0) return false;
  for (let k = 0; k < word.length; k += 1)
    if ((text.charCodeAt(at + k) | 0x20) !== word.charCodeAt(k)) return false;
  return true;
}

function isUnderscoreOrSpace(c: number): boolean {
  return c === 0x5f || c === 0x20;
}
