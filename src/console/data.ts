/**
 * What the console shows and changes, as ports: the pages never read a store or a config file
 * themselves. `gatehouse console` fills these with the functions the CLI's own commands run (so a
 * page and `gatehouse … --json` cannot disagree); the team gateway can mount the same handler
 * with its own.
 */

/** What a command answered: its JSON when it printed one, its exit code, and its message. */
export interface CommandAnswer {
  code: number;
  json: unknown;
  /** What the command said on stderr (the reason it failed, or its warnings), or null. */
  message: string | null;
  /** The HTTP status a failure is answered with, when its exit code does not say (403). */
  status?: number;
}

/** An approval as the CLI shows it (`approvals list --json`), plus what this viewer may do. */
export interface ApprovalView extends Record<string, unknown> {
  id: string;
  status: string;
  /** The viewer requested this call themselves. */
  own: boolean;
  /** Why this viewer cannot approve it (two_person: the requester, or no signing key), or null. */
  approve_blocked: string | null;
}

/** A page's data: read with the query parameters of `GET /api/view/NAME`. */
export type ConsoleView = (params: URLSearchParams) => Promise<CommandAnswer>;

/** A change: run with the JSON body of `POST /api/action/NAME` (CSRF-checked). */
export type ConsoleAction = (body: Record<string, unknown>) => Promise<CommandAnswer>;

export interface ConsoleData {
  /** Who decides here: recorded as the approver; `signs`: decisions carry a signed grant. */
  viewer: { name: string; signs: boolean };
  approvals(all: boolean): Promise<ApprovalView[]>;
  decide(
    id: string,
    decision: 'approved' | 'denied',
    reason: string | null,
  ): Promise<CommandAnswer>;
  views: Readonly<Record<string, ConsoleView>>;
  actions: Readonly<Record<string, ConsoleAction>>;
}
