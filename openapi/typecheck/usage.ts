// What a TypeScript integrator writes against the types openapi-typescript generates from
// openapi/openapi.json. `.ci/run` generates `schema.d.ts` next to a copy of this file and
// type-checks it with `tsc --strict`: a renamed field, a dropped status or a changed enum in the
// spec breaks the build here before it breaks a frontend.
import type { components, operations, paths } from "./schema";

type Schemas = components["schemas"];
type Problem = Schemas["Problem"];
type InboxPage =
  operations["listConversations"]["responses"][200]["content"]["application/json"];
type InboxQuery = NonNullable<paths["/v1/conversations"]["get"]["parameters"]["query"]>;

/** Sign-in: the header every other call sends. */
export function authorization(pair: Schemas["TokenResponse"]): string {
  const scheme: "Bearer" = pair.token_type;
  return `${scheme} ${pair.access_token}`;
}

/** Urgent rows nobody holds yet, as the inbox banner shows them. */
export function unclaimedUrgent(page: InboxPage): string[] {
  return page.items
    .filter((row) => row.urgent && row.claimed_by === null)
    .map((row) => `${row.patient.display_name}: ${row.last_message_preview}`);
}

/** The query of the next page, or `undefined` on the last one. */
export function nextPage(page: InboxPage, query: InboxQuery): InboxQuery | undefined {
  return page.next_cursor === null ? undefined : { ...query, cursor: page.next_cursor };
}

export const urgentSupportQuery: InboxQuery = { tab: "support", urgent: true, limit: 50 };

/** Exhaustive over the enum: a new team in the spec fails to compile here. */
export function teamLabel(team: Schemas["TeamName"]): string {
  switch (team) {
    case "care_team":
      return "Care team";
    case "support":
      return "Support";
  }
}

/** The staff timeline is a union told apart by `type`. */
export function timelineLine(item: Schemas["TimelineItem"]): string {
  switch (item.type) {
    case "message":
      return `${item.author?.display_name ?? "Clinic"} (${item.kind}): ${item.body}`;
    case "event":
      return `${item.kind} by ${item.actor?.display_name ?? "the system"} at ${item.created_at}`;
  }
}

/** A patient send with its idempotency key, reused on every retry. */
export function patientSend(body: string, clientMessageId: string): Schemas["SendMessage"] {
  return { body, client_message_id: clientMessageId };
}

type ClaimConflict =
  operations["claimConversation"]["responses"][409]["content"]["application/problem+json"];

/** Who holds a conversation, from the 409 of a claim. */
export function holder(problem: ClaimConflict): string | undefined {
  if (problem.code !== "conversation_claimed") {
    return undefined;
  }
  const claimedBy = problem["claimed_by"];
  if (typeof claimedBy === "object" && claimedBy !== null && "display_name" in claimedBy) {
    return String(claimedBy.display_name);
  }
  return undefined;
}

/** Every problem has the same shape, whatever the operation and status. */
export function describe(problem: Problem): string {
  return `${problem.status} ${problem.code}: ${problem.detail}`;
}

/** The acknowledgment is present or `null`, never missing. */
export function acknowledgment(
  started: operations["startPatientConversation"]["responses"][201]["content"]["application/json"],
): string | null {
  return started.acknowledgment === null ? null : started.acknowledgment.body;
}

type Unavailable =
  operations["listPatientConversations"]["responses"][503]["content"]["application/problem+json"];
export const outage: Unavailable = {
  type: "https://inbox.xrhealth.example/problems/service-unavailable",
  title: "The service is temporarily unavailable",
  status: 503,
  detail: "The database cannot be reached right now; retry shortly.",
  code: "service_unavailable",
};
