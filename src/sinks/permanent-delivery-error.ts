import { AuditeError } from '../errors.ts';

export interface PermanentDeliveryDetails {
  /** Feed position of the event at fault; undefined when the whole request (a batch) was refused. */
  position?: number | undefined;
  /** HTTP status, when the destination answered. */
  status?: number | undefined;
  /** The start of the destination's answer (≤ 2 KB), for dead-lettering. Never log it: it may echo row data. */
  responseBody?: string | undefined;
}

/**
 * The destination refused an event in a way retrying cannot fix (HTTP 400,
 * 401, 404, 413, 422, …). The consumer applies its policy: halt, dead-letter
 * or skip; for a batch it isolates the event at fault.
 */
export class PermanentDeliveryError extends AuditeError {
  readonly position: number | undefined;
  readonly status: number | undefined;
  readonly responseBody: string | undefined;

  constructor(message: string, details: PermanentDeliveryDetails = {}, options?: { cause?: unknown }) {
    super('SINK_PERMANENT', message, options);
    this.name = 'PermanentDeliveryError';
    this.position = details.position;
    this.status = details.status;
    this.responseBody = details.responseBody;
  }
}
