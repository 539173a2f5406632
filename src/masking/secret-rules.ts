import type { DetectorRule } from './rules.js';
import { looksLikePlaceholder, shannonEntropy } from './validators.js';

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
    ...(entropy ? { entropy } : {}),
  };
}

/** Secrets: provider token formats (gitleaks' facts, reference §6) and structural ones. */
export const SECRET_RULES: readonly DetectorRule[] = [
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
    pattern: /https?:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9+/]{40,60}/g,
  },
  {
    id: 'teams-webhook',
    kind: 'teams_webhook',
    keywords: ['webhook.office.com'],
    pattern:
      /https:\/\/[a-z0-9-]{1,60}\.webhook\.office\.com\/webhookb2\/[a-z0-9-]{30,40}@[a-z0-9-]{30,40}\/IncomingWebhook\/[A-Za-z0-9]{32}\/[a-z0-9-]{36}/g,
  },
  {
    id: 'discord-webhook',
    kind: 'discord_webhook',
    keywords: ['discord'],
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
    pattern: /(?<![0-9])[0-9]{8,10}:AA[A-Za-z0-9_-]{33}(?![A-Za-z0-9_-])/g,
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
    pattern: /\\?"private_key_id\\?"\s{0,5}:\s{0,5}\\?"([0-9a-f]{40})\\?"/g,
    group: 1,
  },
  {
    id: 'pem-private-key',
    kind: 'private_key',
    keywords: ['private key'],
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
    entropy: 3,
  },
  {
    id: 'mailgun-key',
    kind: 'mailgun_key',
    keywords: ['mailgun'],
    pattern: /mailgun[\s\S]{0,40}?(key-[0-9a-f]{32})/gi,
    group: 1,
  },
  {
    id: 'mailchimp-key',
    kind: 'mailchimp_key',
    keywords: ['-us'],
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
  },
  {
    id: 'azure-storage-key',
    kind: 'azure_storage_key',
    keywords: ['accountkey='],
    pattern: /AccountKey=([A-Za-z0-9+/]{86}==)/g,
    group: 1,
  },
  {
    id: 'azure-sas-token',
    kind: 'azure_sas',
    keywords: ['sig='],
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
  // Credentials in config files that hold them base64-encoded or line-structured.
  {
    id: 'kubeconfig-client-key',
    kind: 'private_key',
    keywords: ['client-key-data'],
    pattern: /client-key-data\\?["']?[ \t]{0,3}:[ \t]{0,3}\\?["']?([A-Za-z0-9+/]{20,65536}={0,2})/g,
    group: 1,
  },
  {
    id: 'docker-config-auth',
    kind: 'basic_auth',
    // `"auth": "<base64 of user:password>"` in ~/.docker/config.json (also inside a JSON string).
    keywords: ['"auth'],
    pattern: /\\?"auth\\?"[ \t]{0,3}:[ \t]{0,3}\\?"([A-Za-z0-9+/]{8,16384}={0,2})\\?"/g,
    group: 1,
    validate: (s) => decodesToText(s, true),
  },
  {
    id: 'npmrc-auth',
    kind: 'basic_auth',
    // `_auth=<base64 of user:password>` and `_password=<base64>` in .npmrc (not `_authToken`).
    keywords: ['_auth', '_password'],
    pattern:
      /(?<![A-Za-z0-9])_(auth|password)[ \t]{0,3}=[ \t]{0,3}["']?([A-Za-z0-9+/]{4,16384}={0,2})(?![A-Za-z0-9+/=])/g,
    group: 2,
    validate: (s, match) => decodesToText(s, match.startsWith('_auth')),
  },
  {
    id: 'pgpass-line',
    kind: 'generic_secret',
    // hostname:port:database:username:password, one per line (~/.pgpass). Gated on the usual
    // ports, the `*` wildcard and the file's name: a colon alone is in nearly every text.
    keywords: [':5432:', ':5433:', ':6432:', ':*:', 'pgpass'],
    pattern:
      /^([A-Za-z0-9.*_-]{1,253}):(?:[0-9]{1,5}|\*):([^:\s\\]{1,63}):([^:\s\\]{1,63}):((?:[^\s:\\]|\\[:\\]){3,1024})[ \t]*\r?$/gm,
    group: 4,
    validate: (s, match) => {
      const [host = '', , db = '', user = ''] = match.split(':');
      return (
        /[A-Za-z.*]/.test(host) &&
        /[^0-9]/.test(db) &&
        /[^0-9]/.test(user) &&
        !looksLikePlaceholder(s) &&
        !/^[0-9]+$/.test(s)
      );
    },
  },
  {
    id: 'putty-private-key',
    kind: 'private_key',
    keywords: ['private-lines:'],
    pattern: /(?!)/g,
    find: findPuttyPrivateLines,
  },
  {
    id: 'cookie-value',
    kind: 'session_cookie',
    keywords: ['cookie'],
    pattern: /(?!)/g,
    find: findCookieValues,
    entropy: 3,
  },
  // Credentials in URLs, headers and connection strings (gateway additions).
  {
    id: 'url-credentials',
    kind: 'url_password',
    keywords: ['://'],
    pattern: /:\/\/[^\s:/@"'<>]{1,256}:([^\s@/"'<>]{3,2048})@[A-Za-z0-9.-]{1,256}/g,
    group: 1,
    validate: (s) => !looksLikePlaceholder(s),
  },
  {
    id: 'authorization-header',
    kind: 'auth_header',
    keywords: ['bearer', 'basic', 'token '],
    pattern:
      /\b(?:authorization|proxy-authorization)\\?["']?\s{0,3}[:=]\s{0,3}\\?["']?(?:bearer|basic|token)\s{1,3}([A-Za-z0-9._~+/=-]{12,4096})/gi,
    group: 1,
    extend: (text, end) => runEnd(text, end, TOKEN_CHARS),
    validate: (s) => !looksLikePlaceholder(s),
  },
  {
    id: 'bare-bearer',
    kind: 'auth_header',
    keywords: ['bearer'],
    pattern: /\bbearer\s{1,3}([A-Za-z0-9._~+/-]{20,4096}=*)/gi,
    group: 1,
    extend: (text, end) => runEnd(text, end, TOKEN_CHARS),
    entropy: 3,
    validate: (s) => !looksLikePlaceholder(s),
  },
  {
    id: 'api-key-header',
    kind: 'api_key',
    keywords: ['x-api-key', 'api-key', 'apikey'],
    pattern: /\b(?:x-)?api-?key\\?["']?\s{0,3}[:=]\s{0,3}\\?["']?([A-Za-z0-9._~+/=-]{16,512})/gi,
    group: 1,
    extend: (text, end) => runEnd(text, end, TOKEN_CHARS),
    entropy: 3,
    validate: (s) => !looksLikePlaceholder(s),
  },
  // Generic assignments: a password-like key names a secret however plain its value (in
  // quotes or `NAME=value`); a token-like key needs a value that looks like a credential.
  {
    id: 'password-assignment',
    kind: 'generic_secret',
    keywords: ['pass', 'pwd', 'secret'],
    keywordStarts: true,
    pattern: assignment('password|passwd|passphrase|pass(?![a-z])|pwd|secret(?!ar)'),
    precheck: assignmentAhead,
    group: 1,
    anyGroup: true,
    extend: extendValue,
    trimClosers: 4,
    validate: passwordValue,
  },
  {
    id: 'generic-secret-assignment',
    kind: 'generic_secret',
    // Each alternative of the key name starts with one of these: tried only where one starts.
    keywords: ['token', 'api', 'access', 'private', 'cred', 'auth'],
    keywordStarts: true,
    pattern: assignment('token|api[_-]?key|access[_-]?key|private[_-]?key|credential|auth[_-]?key'),
    precheck: assignmentAhead,
    group: 1,
    anyGroup: true,
    extend: extendValue,
    trimClosers: 4,
    entropy: 3,
    validate: tokenValue,
  },
  {
    // "loaded db_password Xk3!… from vault", "rotate the smtp password Xk3!…": no separator, so
    // the value must look like a credential (letters and digits, no path, high entropy).
    id: 'generic-secret-spoken',
    kind: 'generic_secret',
    keywords: ['pass', 'pwd', 'secret', 'token'],
    keywordStarts: true,
    pattern:
      /(?:password|passwd|passphrase|pass(?![a-z])|pwd|secret|token)[ \t]{1,3}([^\s"'\\,;`/()[\]{}<>]{10,128})(?=[\s.,;)]|$)/gi,
    precheck: spokenAhead,
    group: 1,
    entropy: 3,
    validate: (s, match) =>
      genericSecretValue(s) &&
      /[A-Za-z]/.test(s) &&
      (/[0-9]/.test(s) || /[^A-Za-z0-9._-]/.test(s)) &&
      !namesMetadata(match),
  },
];

/**
 * `KEY[suffix] <sep> value`: the value double-quoted (group 1), inside escaped quotes in JSON
 * carried in a JSON string (2), single-quoted (3) or bare (4). Quoted values end at their quote
 * (spaces included); bare ones at whitespace, quotes, `,;&` and backticks. Same line only.
 */
function assignment(keys: string): RegExp {
  return new RegExp(
    `(?:${keys})[A-Za-z0-9_.-]{0,20}\\\\?["']?[ \\t]{0,3}(?::=|=>|=(?!=)|:(?!:))[ \\t]{0,3}` +
      `(?:"((?:[^"\\\\\\r\\n]|\\\\[^\\r\\n]){1,4096})|\\\\"([^"\\\\\\r\\n]{1,4096})|'([^'\\r\\n]{1,4096})|([^\\s"'\\\\,;\`&[{(][^\\s"'\\\\,;\`&]{0,255}))`,
    'gid',
  );
}

/** The longest key an `assignment` pattern allows: an 11-letter name and 20 more characters. */
const MAX_ASSIGNMENT_KEY = 31;

/**
 * What every `assignment` match at `at` starts with: a run of key characters no longer than a
 * key, an optional backslash and quote, up to three blanks, then `:` or `=`. (The key part
 * cannot stop early: none of the characters that may follow it is a key character.)
 */
function assignmentAhead(text: string, at: number): boolean {
  const n = text.length;
  let i = at;
  while (i < n && isKeyCharacter(text.charCodeAt(i))) {
    i += 1;
    if (i - at > MAX_ASSIGNMENT_KEY) return false;
  }
  if (text.charCodeAt(i) === 0x5c) i += 1;
  if (text.charCodeAt(i) === 0x22 || text.charCodeAt(i) === 0x27) i += 1;
  for (let blanks = 0; blanks < 3 && isBlank(text.charCodeAt(i)); blanks += 1) i += 1;
  const c = text.charCodeAt(i);
  return c === 0x3a || c === 0x3d;
}

/**
 * What every `generic-secret-spoken` match at `at` starts with: a word of at most ten letters,
 * one to three blanks, then ten characters a spoken value may hold.
 */
function spokenAhead(text: string, at: number): boolean {
  const n = text.length;
  let i = at;
  while (i < n && isLetter(text.charCodeAt(i))) {
    i += 1;
    if (i - at > 10) return false;
  }
  let blanks = 0;
  while (blanks < 3 && isBlank(text.charCodeAt(i))) {
    i += 1;
    blanks += 1;
  }
  if (blanks === 0 || i + 10 > n) return false;
  for (let k = i; k < i + 10; k += 1) if (!spokenValueCharacter(text.charCodeAt(k))) return false;
  return true;
}

/** `[A-Za-z0-9_.-]` */
function isKeyCharacter(c: number): boolean {
  return isLetter(c) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2e || c === 0x2d;
}

function isLetter(c: number): boolean {
  return (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a;
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** Not ASCII whitespace nor one of `"'\\,;\`/()[]{}<>` (every non-ASCII character passes). */
function spokenValueCharacter(c: number): boolean {
  if (c >= 0x80) return true;
  if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) return false;
  return !SPOKEN_STOPS.includes(String.fromCharCode(c));
}
const SPOKEN_STOPS = '"\'\\,;`/()[]{}<>';

const BARE_TAIL = /[^\s"'\\,;`&]*/y;
const DOUBLE_TAIL = /(?:[^"\\\r\n]|\\[^\r\n])*/y;
const ESCAPED_TAIL = /[^"\\\r\n]*/y;
const SINGLE_TAIL = /[^'\r\n]*/y;

/** A value longer than the pattern's bound: the rest of it, to its natural end. */
function extendValue(text: string, end: number, group?: number): number {
  const tail =
    group === 1 ? DOUBLE_TAIL : group === 2 ? ESCAPED_TAIL : group === 3 ? SINGLE_TAIL : BARE_TAIL;
  tail.lastIndex = end;
  const m = tail.exec(text);
  return end + (m ? m[0].length : 0);
}

/** Words that describe or stand for a value rather than being one (`password: required`). */
const NOT_A_VALUE = new Set([
  'true',
  'false',
  'null',
  'nil',
  'none',
  'undefined',
  'empty',
  'unset',
  'required',
  'optional',
  'string',
  'str',
  'text',
  'number',
  'int',
  'integer',
  'bool',
  'boolean',
  'hidden',
  'masked',
  'secret',
  'secrets',
  'password',
  'passwd',
  'token',
  'env',
  'prompt',
  'input',
  'default',
  'yes',
  'no',
  'on',
  'off',
  'enabled',
  'disabled',
  'object',
  'array',
  'any',
  'unknown',
  'void',
  'self',
  'this',
]);

/** The whole key name: the identifier characters before the keyword plus the match's key part. */
function fullKey(match: string, context?: { text: string; index: number }): string {
  const own = /^[A-Za-z0-9_.-]*/.exec(match)?.[0] ?? '';
  if (!context) return own;
  let start = context.index;
  while (start > 0 && /[A-Za-z0-9_-]/.test(context.text[start - 1] ?? '')) start -= 1;
  return context.text.slice(start, context.index) + own;
}

/** A filesystem path (`PWD=/home/ann/app`, `"pwd": "C:\\work"`), a reference to a secret at most. */
function looksLikePath(v: string): boolean {
  return /^(?:~|\.{1,2})?\/(?:[\w.@+-]+\/?)*$/.test(v) || /^[A-Za-z]:(?:\\\\?|\/)[^\s]*$/.test(v);
}

/** Code that computes a value (`args.password`, `os.getenv(…)`, `config[`), not a value. */
function looksLikeCode(v: string): boolean {
  return (
    /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+(?:\(\)?)?$/.test(v) ||
    /[([]$|\($|^[A-Za-z_$][\w$.]*\(/.test(v) ||
    /^(?:[a-z]+_)+[a-z]+$/.test(v) ||
    /^[a-z]+(?:[A-Z][a-z]+)+$/.test(v)
  );
}

function notAValue(v: string): boolean {
  return looksLikePlaceholder(v) || NOT_A_VALUE.has(v.toLowerCase()) || looksLikePath(v);
}

/**
 * A password-like key's value. Quoted, or `NAME=value` with an upper-case name, it is a secret
 * however plain (`"password": "hunter2"`, `DB_PASSWORD=summer`); bare after `:` it must not
 * be a plain word (`password: required`). Never a placeholder, a type, a path or code.
 */
function passwordValue(
  s: string,
  match: string,
  context?: { text: string; index: number; groupIndex?: number },
): boolean {
  const v = s.trim();
  if (v.length < 4 || notAValue(v) || namesMetadata(match)) return false;
  const key = fullKey(match, context);
  if (/^secrets?$/i.test(key) && /^[a-z0-9-]+$/.test(v) && !/[0-9]/.test(v)) return false; // a secret's name
  const quoted = context?.groupIndex !== undefined && context.groupIndex <= 3;
  if (quoted) {
    // A sentence is a description (`"password": "must not be empty"`), unless it is a passphrase.
    if (/\s/.test(v) && /^[A-Za-z][a-z]*(?:[ \t]+[a-z]+)+[.!]?$/.test(v) && !/phrase/i.test(key))
      return false;
    return !looksLikeCode(v) || /[0-9]/.test(v);
  }
  if (looksLikeCode(v)) return false;
  const envStyle =
    /=(?!>)/.test(match.slice(0, match.length - s.length)) && /^[A-Z0-9_]+$/.test(key);
  if (envStyle) return true;
  // Any other bare value: not a plain word, and some sign of a credential.
  if (/^[A-Za-z]+$/.test(v)) return false;
  return /[0-9]/.test(v) || /[^A-Za-z0-9]/.test(v) || shannonEntropy(v) >= 3;
}

/**
 * A token-like key's value: a credential-looking string (length ≥ 8, entropy ≥ 3 checked by the
 * rule), not a count (`max_tokens: 4096`), not a tokenizer (`"tokenizer_class": …`), a path or code.
 */
function tokenValue(
  s: string,
  match: string,
  context?: { text: string; index: number; groupIndex?: number },
): boolean {
  if (s.length < 8 || /\s/.test(s) || /^[0-9.]+$/.test(s)) return false;
  if (!genericSecretValue(s) || notAValue(s) || looksLikeCode(s) || namesMetadata(match))
    return false;
  const key = fullKey(match, context);
  // `tokenizer`, `tokenize`, `tokens`, `tokenization`: language-model vocabulary, not credentials.
  return !/token(?:i[sz]|s(?![a-z]))/i.test(key);
}

/** A generic assignment's value that is not a placeholder, a word or an environment variable name. */
function genericSecretValue(s: string): boolean {
  return !looksLikePlaceholder(s) && !/^[a-z]+$/.test(s) && !/^[A-Z][A-Z0-9_]+$/.test(s);
}

/** Key names that hold facts about a secret, not the secret (`secret_name`, `token_count`). */
function namesMetadata(match: string): boolean {
  const key = /^[A-Za-z0-9_.-]*/.exec(match)?.[0] ?? '';
  return /(?:name|id|ids|arn|path|type|count|length|len|ref|version|file|url|uri|field|prefix|min|max|ttl|expiry|expires|expiration|hint|label|format|mode|policy|rotation|manager|store|provider|env|var|header|usage|limit|size)$/i.test(
    key,
  );
}

const TOKEN_CHARS = /[A-Za-z0-9._~+/=-]*/y;

/** The end of the run of `chars` (a sticky class) that starts at `end`. */
function runEnd(text: string, end: number, chars: RegExp): number {
  chars.lastIndex = end;
  const m = chars.exec(text);
  return end + (m ? m[0].length : 0);
}

/**
 * Base64 that decodes to text (`user:password` when `userPass`): the `auth` of a Docker config
 * and the `_auth`/`_password` of an .npmrc are credentials in that form.
 */
function decodesToText(b64: string, userPass: boolean): boolean {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(b64, 'base64'));
  } catch {
    return false;
  }
  if (text.length === 0 || hasControlCharacters(text)) return false;
  return userPass ? /^[^:\s]{1,256}:\S/.test(text) && !looksLikePlaceholder(text) : true;
}

/**
 * The private half of a PuTTY key file: the `Private-Lines: N` header and its N base64 lines
 * (the public lines and the comment stay visible). Works on real lines and on `\n` escapes.
 */
function findPuttyPrivateLines(text: string): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  const header = /Private-Lines:[ \t]{0,3}([0-9]{1,4})(\r?\n|\\r\\n|\\n)/gi;
  for (let m = header.exec(text); m !== null; m = header.exec(text)) {
    const lines = Number(m[1]);
    const newline = m[2] ?? '\n';
    const start = header.lastIndex;
    let end = start;
    for (let i = 0; i < lines; i += 1) {
      const line = /[A-Za-z0-9+/=]{1,256}/y;
      line.lastIndex = end;
      const l = line.exec(text);
      if (!l) break;
      end += l[0].length;
      if (i < lines - 1) {
        if (text.startsWith(newline, end)) end += newline.length;
        else if (newline === '\n' && text.startsWith('\r\n', end)) end += 2;
        else break;
      }
    }
    if (end - start >= 16) out.push({ start, end });
    header.lastIndex = Math.max(header.lastIndex, end);
  }
  return out;
}

const COOKIE_ATTRIBUTES =
  /^(?:path|domain|expires|max-age|samesite|secure|httponly|priority|partitioned|version|comment)$/i;

/**
 * Session values in `Cookie:` (every `name=value` pair) and `Set-Cookie:` headers (the first
 * pair; the attributes after it are not secret), also as JSON keys. Values under 12 characters
 * (`theme=dark`) stay; the rule's entropy gate applies to the rest.
 */
function findCookieValues(text: string): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  const header = /(set-)?cookie\\?["']?[ \t]{0,3}[:=][ \t]{0,3}\[?[ \t]{0,3}\\?["']?/gi;
  const pair = /[ \t]*([!#$%&'*+.^_`|~0-9A-Za-z-]{1,128})=("?)([^;\s"\\,]{0,4096})/y;
  for (let m = header.exec(text); m !== null; m = header.exec(text)) {
    const setCookie = m[1] !== undefined;
    let at = header.lastIndex;
    for (let n = 0; n < 64; n += 1) {
      pair.lastIndex = at;
      const p = pair.exec(text);
      if (!p) break;
      const name = p[1] ?? '';
      const value = p[3] ?? '';
      const start = pair.lastIndex - value.length;
      if (value.length >= 12 && !COOKIE_ATTRIBUTES.test(name) && !looksLikePlaceholder(value))
        out.push({ start, end: pair.lastIndex });
      at = pair.lastIndex + (p[2] ? 1 : 0);
      if (setCookie || text[at] !== ';') break;
      at += 1;
    }
    header.lastIndex = Math.max(header.lastIndex, at);
  }
  return out;
}

/** Control characters other than tab and line breaks: binary, not text. */
export function hasControlCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f) return true;
  }
  return false;
}
