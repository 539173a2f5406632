import { parseTomlDocument } from '../../src/config/toml-document.js';
import type { RequirementSource } from '../../src/requirements/model.js';
import { parseRequirementsLayer } from '../../src/requirements/parse-requirements.js';

/** Parses one requirements.toml text as a layer from `source` (tests of the table parsers). */
export function parseLayer(
  text: string,
  source: RequirementSource = { kind: 'flag_file', path: '/r.toml' },
) {
  const doc = parseTomlDocument(text, source.kind === 'env' ? 'env' : source.path);
  if (!doc.ok) throw new Error(doc.diagnostic.message);
  return parseRequirementsLayer(doc.doc, source);
}
