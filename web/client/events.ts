/** The program's events, decoded from a transaction's logs (`Program data:` lines) through the IDL. */
import { EventParser } from "@anchor-lang/core";
import { JOB_STATUSES, stateName } from "./accounts";
import { coder, IDL, programId } from "./idl";

/** One decoded event: its IDL name and fields (a job status by name, as [`decodeJob`] gives it). */
export interface ProgramEvent {
  name: string;
  data: Record<string, any>;
}

/** Each event's fields that hold a `JobStatus` (one byte in the program), read from the IDL. */
const statusFields = new Map<string, string[]>(
  (IDL.types ?? []).map((t: any) => [
    t.name,
    (t.type.fields ?? []).filter((f: any) => f.type?.defined?.name === "JobStatus").map((f: any) => f.name),
  ]),
);

/** Every event the program emitted in `logs`, in order. */
export function decodeEvents(logs: string[]): ProgramEvent[] {
  return [...new EventParser(programId(), coder).parseLogs(logs)].map((e) => {
    const data: Record<string, any> = { ...e.data };
    for (const field of statusFields.get(e.name) ?? []) data[field] = stateName(JOB_STATUSES, data[field]);
    return { name: e.name, data };
  });
}
