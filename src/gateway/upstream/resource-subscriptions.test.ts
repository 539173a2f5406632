import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { afterEach, describe, expect, test } from 'vitest';
import { ResourceSubscriptions, ResourceSubscriptionError } from './resource-subscriptions.js';

/**
 * A real SDK v2 server speaking 2026-07-28 (the SDK's stdio entry and its listen router, over an
 * in-memory pipe) and a real client pinned to that era: what the bridge opens is what a modern
 * server sees, and `sendResourceUpdated` reaches only the streams whose filter names the URI.
 */
const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close().catch(() => undefined)));
});

async function modernPair(subscribe: boolean) {
  let instance: McpServer | undefined;
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  opened.push(
    serveStdio(
      () => {
        instance = new McpServer(
          { name: 'watched', version: '1' },
          {
            capabilities: { resources: { listChanged: true, ...(subscribe ? { subscribe } : {}) } },
          },
        );
        return instance;
      },
      { transport: serverSide, legacy: 'reject' },
    ),
  );
  const client = new Client(
    { name: 'gatehouse', version: '1' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  const heard: string[] = [];
  let marker: (() => void) | null = null;
  client.fallbackNotificationHandler = async (n) => {
    if (n.method !== 'notifications/resources/updated') return;
    const uri = String((n.params as { uri?: unknown }).uri);
    heard.push(uri);
    if (uri === 'test://marker') marker?.();
  };
  const markerHeard = () => new Promise<void>((resolve) => (marker = resolve));
  await client.connect(clientSide);
  opened.push(client);
  expect(client.getProtocolEra()).toBe('modern');
  return { client, heard, markerHeard, server: () => instance! };
}

/** Updates for `uris`, then one for `marker` the test waits on (one pipe: the server's order). */
async function updates(pair: Awaited<ReturnType<typeof modernPair>>, uris: string[]) {
  const before = pair.heard.length;
  const heard = pair.markerHeard();
  for (const uri of [...uris, 'test://marker'])
    await pair.server().server.sendResourceUpdated({ uri });
  await heard;
  return pair.heard.slice(before).filter((u) => u !== 'test://marker');
}

describe('ResourceSubscriptions (a legacy subscribe onto subscriptions/listen)', () => {
  test('one stream per URI: updates for subscribed URIs only, until unsubscribed', async () => {
    const pair = await modernPair(true);
    const subs = new ResourceSubscriptions(pair.client, 'watched');
    await subs.subscribe('test://marker');
    await subs.subscribe('test://a');
    await subs.subscribe('test://a'); // again: nothing new
    await subs.subscribe('test://b');
    expect(subs.uris()).toEqual(['test://marker', 'test://a', 'test://b']);
    expect(await updates(pair, ['test://a', 'test://b', 'test://c'])).toEqual([
      'test://a',
      'test://b',
    ]);
    await subs.unsubscribe('test://a');
    await subs.unsubscribe('test://never'); // not watched: already unsubscribed
    expect(await updates(pair, ['test://a', 'test://b'])).toEqual(['test://b']);
    await subs.closeAll();
    expect(subs.uris()).toEqual([]);
    await expect(subs.subscribe('test://a')).rejects.toMatchObject({ kind: 'server_unavailable' });
    // The server dropped the closed streams: only a new one (the marker's) still hears anything.
    await new ResourceSubscriptions(pair.client, 'watched').subscribe('test://marker');
    expect(await updates(pair, ['test://b'])).toEqual([]);
  });

  test('bounded: past the limit a subscribe is refused, naming the limit', async () => {
    const pair = await modernPair(true);
    const subs = new ResourceSubscriptions(pair.client, 'watched', 2);
    await subs.subscribe('test://a');
    await subs.subscribe('test://b');
    const refused = await subs.subscribe('test://c').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ResourceSubscriptionError);
    expect(refused).toMatchObject({ kind: 'invalid_request' });
    expect(String((refused as Error).message)).toContain('already watches 2 resources');
    await subs.unsubscribe('test://a');
    await subs.subscribe('test://c');
    expect(subs.uris()).toEqual(['test://b', 'test://c']);
  });

  test('a server without resources.subscribe is not asked (and nothing is faked)', async () => {
    const pair = await modernPair(false);
    const subs = new ResourceSubscriptions(pair.client, 'watched');
    await expect(subs.subscribe('test://a')).rejects.toMatchObject({
      kind: 'method_not_found',
      message: expect.stringContaining('no resources.subscribe'),
    });
    expect(subs.uris()).toEqual([]);
  });
});
