// A small GitHub REST API on 127.0.0.1, started in-process by a test (GITHUB_API_URL points the
// action at it). It answers what src/github/pr-comment.ts calls through Octokit: GET /user,
// list/create issue comments (paginated with a Link header, as GitHub does) and update one.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WORKFLOW_TOKEN } from '../harness/action-defaults.ts';
import { append } from '../harness/journal.ts';

export interface TokenInfo {
  login: string;
  /** A GitHub App installation token (GITHUB_TOKEN): GET /user answers 403, as on GitHub. */
  app?: boolean;
  /** pull-requests: read only: creating or editing a comment answers 403. */
  readOnly?: boolean;
}

export interface Comment {
  id: number;
  body: string;
  user: { login: string; id: number; type: 'User' | 'Bot' };
  created_at: string;
  updated_at: string;
  html_url: string;
  issue_url: string;
}

export interface RecordedRequest {
  method: string;
  /** Path without the API prefix, e.g. /repos/o/r/issues/7/comments. */
  path: string;
  query: Record<string, string>;
  token?: string;
  status: number;
  /** The request body as sent ('' for none). */
  body: string;
}

/** The workflow token's identity: what `${{ github.token }}` comments as. */
export const ACTIONS_BOT = 'github-actions[bot]';
const PREFIX = '/api';
const NOT_ACCESSIBLE = 'Resource not accessible by integration';

export class GitHubApi {
  readonly requests: RecordedRequest[] = [];
  private readonly comments = new Map<string, Comment[]>();
  private readonly tokens = new Map<string, TokenInfo>();
  private nextId = 1000;
  private server?: Server;
  private port = 0;
  private readonly journal?: string;

  /**
   * `journal`: a file (journal.ts GITHUB_JOURNAL) that gets every request body, one JSON line
   * each, across resets: the emulator keeps only a comment's latest text, and a run sends
   * 'creating' and then the outcome; the suite's audit checks them all for secrets.
   */
  constructor(options: { journal?: string } = {}) {
    this.journal = options.journal;
    this.reset();
  }

  /** GITHUB_API_URL for the action (a path prefix, as on GitHub Enterprise Server). */
  get url(): string {
    return `http://127.0.0.1:${this.port}${PREFIX}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => send(res, 500, { message: String(err) }));
    });
    const server = this.server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Forgets comments, requests and extra tokens; the workflow token stays known. */
  reset(): void {
    this.requests.length = 0;
    this.comments.clear();
    this.tokens.clear();
    this.tokens.set(WORKFLOW_TOKEN, { login: ACTIONS_BOT, app: true });
  }

  addToken(token: string, info: TokenInfo): void {
    this.tokens.set(token, info);
  }

  /** Puts `count` comments by other people on an issue or pull request. */
  seedComments(repo: string, number: number, count: number, login = 'reviewer'): void {
    for (let i = 0; i < count; i++) {
      this.addComment(repo, number, login, `Comment ${i + 1} by ${login}`);
    }
  }

  /** The comments of an issue or pull request, oldest first. */
  listComments(repo: string, number: number): Comment[] {
    return [...(this.comments.get(`${repo}#${number}`) ?? [])];
  }

  /** Requests matching a method and a path pattern. */
  requestsTo(method: string, path: RegExp): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && path.test(r.path));
  }

  addComment(repo: string, number: number, login: string, body: string): Comment {
    const id = this.nextId++;
    const now = new Date().toISOString();
    const comment: Comment = {
      id,
      body,
      user: { login, id: id * 7, type: login.endsWith('[bot]') ? 'Bot' : 'User' },
      created_at: now,
      updated_at: now,
      html_url: `https://github.com/${repo}/pull/${number}#issuecomment-${id}`,
      issue_url: `${this.url}/repos/${repo}/issues/${number}`,
    };
    const key = `${repo}#${number}`;
    this.comments.set(key, [...(this.comments.get(key) ?? []), comment]);
    return comment;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname.startsWith(PREFIX) ? url.pathname.slice(PREFIX.length) : '';
    const auth = /^(?:token|bearer) (.+)$/i.exec(req.headers.authorization ?? '');
    const token = auth?.[1];
    const text = await readText(req);
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path,
      query: Object.fromEntries(url.searchParams),
      token,
      status: 0,
      body: text,
    };
    this.requests.push(record);
    if (this.journal && text) append(this.journal, { method: record.method, path, body: text });
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      send(res, status, body, headers);
    };
    const body = parseJson(text);
    const who = token ? this.tokens.get(token) : undefined;
    if (!who) return answer(401, { message: 'Bad credentials' });

    const list = /^\/repos\/([^/]+\/[^/]+)\/issues\/(\d+)\/comments$/.exec(path);
    const edit = /^\/repos\/([^/]+\/[^/]+)\/issues\/comments\/(\d+)$/.exec(path);
    if (record.method === 'GET' && path === '/user') {
      if (who.app) return answer(403, { message: NOT_ACCESSIBLE });
      return answer(200, { login: who.login, id: 1, type: 'User' });
    }
    if (list && record.method === 'GET') {
      const all = this.listComments(list[1]!, Number(list[2]));
      const perPage = Math.min(Math.max(Number(url.searchParams.get('per_page') ?? 30), 1), 100);
      const page = Math.max(Number(url.searchParams.get('page') ?? 1), 1);
      const last = Math.max(Math.ceil(all.length / perPage), 1);
      const link = (p: number, rel: string) => {
        const next = new URL(url.href);
        next.host = `127.0.0.1:${this.port}`;
        next.searchParams.set('per_page', String(perPage));
        next.searchParams.set('page', String(p));
        return `<${next.href}>; rel="${rel}"`;
      };
      const links = [
        ...(page < last ? [link(page + 1, 'next'), link(last, 'last')] : []),
        ...(page > 1 ? [link(1, 'first'), link(page - 1, 'prev')] : []),
      ];
      const slice = all.slice((page - 1) * perPage, page * perPage);
      return answer(200, slice, links.length ? { link: links.join(', ') } : {});
    }
    if ((list && record.method === 'POST') || (edit && record.method === 'PATCH')) {
      if (who.readOnly) return answer(403, { message: NOT_ACCESSIBLE });
      const text = typeof body.body === 'string' ? body.body : '';
      if (!text) return answer(422, { message: 'Validation Failed: body is missing' });
      if (list) return answer(201, this.addComment(list[1]!, Number(list[2]), who.login, text));
      const comment = [...this.comments.values()].flat().find((c) => c.id === Number(edit![2]));
      if (!comment) return answer(404, { message: 'Not Found' });
      if (comment.user.login !== who.login) return answer(403, { message: NOT_ACCESSIBLE });
      Object.assign(comment, { body: text, updated_at: new Date().toISOString() });
      return answer(200, comment);
    }
    return answer(404, { message: `Not Found (emulator: no route ${record.method} ${path})` });
  }
}

async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): Record<string, unknown> {
  try {
    const parsed: unknown = text ? JSON.parse(text) : {};
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}
