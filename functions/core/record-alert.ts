import { type Alert, parseAlert, parseJsonBody } from './alert.ts';
import type { AlertConfig } from './config.ts';
import { alertFromEvent, isEventBridgeEvent } from './event-alert.ts';

/**
 * Reads a queued record body: either an alert (what the HTTP fallback and applications enqueue) or
 * an EventBridge event envelope (an EventBridge rule targeting the queue).
 */
export function alertFromQueuedBody(body: string, config: AlertConfig): Alert {
  const input = parseJsonBody(body);
  return isEventBridgeEvent(input) ? alertFromEvent(input, config) : parseAlert(input, config);
}
