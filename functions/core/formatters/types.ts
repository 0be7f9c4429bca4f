import type { EventBridgeEvent } from 'aws-lambda';
import type { AlertStatus, Severity } from '../alert.ts';

/** Any EventBridge event, its detail not yet trusted to have any shape. */
export type AnyEvent = EventBridgeEvent<string, unknown>;

/** A link in the mail: a console deep link, a runbook. Only https URLs survive validation. */
export interface FormattedLink {
  title: string;
  url: string;
}

/**
 * What a formatter makes of one event. It is alert input, not an alert: it still passes
 * `parseAlert` like anything sent over HTTP, so a formatter cannot put a bad header or link in a mail.
 */
export interface FormattedEvent {
  /**
   * Names the thing, never its state: every mail of one key keeps this subject so that Gmail keeps them
   * in one conversation (`checkout-5xx-rate in us-east-1`, `Pipeline deploy-prod`, `Instance i-0abc…`).
   */
  subject: string;
  /** On our scale, mapped from the source's own (see docs/formatters.md for the table). */
  severity: Severity;
  status: AlertStatus;
  /**
   * A few short lines. The first says the source's state in its own words
   * (`ALARM (was OK): Threshold Crossed: …`, `FAILED at stage Deploy`), because after the headline it is
   * what Gmail shows as the snippet.
   */
  summary: string[];
  /** At most {@link MAX_FACTS} key facts, most useful first, as `label: value`. */
  facts: [label: string, value: unknown][];
  links: FormattedLink[];
  /**
   * The thread key: every event about the same thing shares it (alarm ARN, finding id, pipeline
   * execution id, task ARN, instance id …), so its mails thread together and repeats can be counted.
   */
  key: string;
}

/** A phone screen's worth of facts; the full event is in the HTML part. */
export const MAX_FACTS = 15;

/** One event source's formatter, chosen by `source` and `detail-type`. */
export interface EventFormatter {
  /** Names the formatter in logs and in fixtures' golden files. */
  name: string;
  /** Whether this formatter is the one for the event; looks at the envelope only. */
  matches(event: AnyEvent): boolean;
  /**
   * A pure function of the event. Returns undefined when the detail does not have the shape the
   * formatter needs; the generic rendering is then used instead. Must never throw.
   */
  format(event: AnyEvent): FormattedEvent | undefined;
}
