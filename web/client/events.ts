/** The program's events, decoded from a transaction's logs (`Program data:` lines) through the IDL. */
import { EventParser } from "@anchor-lang/core";
import { coder, programId } from "./idl";

/** One decoded event: its IDL name and fields. */
export interface ProgramEvent {
  name: string;
  data: Record<string, any>;
}

/** Every event the program emitted in `logs`, in order. */
export function decodeEvents(logs: string[]): ProgramEvent[] {
  return [...new EventParser(programId(), coder).parseLogs(logs)].map((e) => ({ name: e.name, data: e.data }));
}
