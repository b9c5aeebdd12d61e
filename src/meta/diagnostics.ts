/** One finding about an event or a customer field. Messages never contain the offending value. */
export interface Diagnostic {
  /** Where in the event, dotted: `custom_data.currency`, `user_data.em[1]`, `event_time`. */
  readonly path: string;
  /** Stable, machine-readable code, e.g. `event_time.too_old`. */
  readonly code: string;
  readonly message: string;
}

export interface ValidationResult {
  readonly errors: Diagnostic[];
  readonly warnings: Diagnostic[];
}
