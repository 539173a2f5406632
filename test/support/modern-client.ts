import { Client } from '@modelcontextprotocol/client';

/**
 * A 2026-07-28 SDK client that can be asked (form elicitation) and records each question it was
 * asked; `answer` says what it replies. `autoFulfill`: the SDK answers `input_required` rounds by
 * itself (else the test drives the retry). Connect it with the transport the test needs.
 */
export function modernAskedClient(
  name: string,
  autoFulfill: boolean,
  answer: (message: string) => { action: 'accept' | 'decline'; content: Record<string, unknown> },
): { client: Client; asked: string[] } {
  const client = new Client(
    { name, version: '1.0.0' },
    {
      capabilities: { elicitation: { form: {} } },
      versionNegotiation: { mode: { pin: '2026-07-28' } },
      inputRequired: { autoFulfill },
    },
  );
  const asked: string[] = [];
  client.setRequestHandler('elicitation/create', (request) => {
    const message = String((request.params as { message?: unknown }).message);
    asked.push(message);
    return answer(message) as never;
  });
  return { client, asked };
}
