/** One JSON line on stderr per runtime event (docs/cli.md § gatehouse run). */
export interface StateLine {
  /** `notification_dropped`: a client notification not forwarded (`state` is its method). */
  event: 'server_state' | 'client_error' | 'upstream_error' | 'notification_dropped';
  server: string;
  state: string;
  detail: string | null;
  thread_id: string | null;
  /** The parent of that thread (a sub-agent's spawner), when the client says. */
  parent_thread_id?: string | null;
}
