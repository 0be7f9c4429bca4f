import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, APIGatewayProxyResult } from 'aws-lambda';
import { describeFailure, logger } from './logger.ts';
import type { AlertRuntime } from './runtime.ts';
import { fetchSigningKeys, tokenScope } from './signing-keys.ts';
import {
  badChoicePage,
  refusedTokenPage,
  silenceDonePage,
  silenceFormPage,
  unavailablePage,
} from './silence-pages.ts';
import { type SilenceClaims, SilenceTokenError, verifySilenceToken } from './silence-token.ts';
import { SILENCE_HOURS } from './silences.ts';

type HttpEvent = APIGatewayProxyEvent | APIGatewayProxyEventV2;

/** What a posted form asks for: a silence of so many hours, until resolved, or its end. */
export type SilenceChoice = { hours: number | 'resolved' } | { end: true };

/** Reads the form a silence page posts (`hours=4`, `hours=resolved` or `end=1`); undefined for anything else. */
export function parseSilenceChoice(body: string): SilenceChoice | undefined {
  const form = new URLSearchParams(body);
  if (form.has('end')) return { end: true };
  const hours = form.get('hours');
  if (hours === 'resolved') return { hours: 'resolved' };
  const value = Number(hours);
  return (SILENCE_HOURS as readonly number[]).includes(value) ? { hours: value } : undefined;
}

const bodyOf = (event: HttpEvent) =>
  event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? '');

/**
 * `GET /silences/{token}` shows the confirmation page and changes nothing (mail scanners and link
 * previews fetch every link); `POST /silences/{token}` sets or ends the silence the form asks for.
 * The token is checked before anything is read, so a refused link says nothing about its key.
 */
export async function handleSilenceRequest(
  runtime: AlertRuntime,
  event: HttpEvent,
  method: 'GET' | 'POST',
): Promise<APIGatewayProxyResult> {
  const { config, state } = runtime;
  if (!state || !config.signingSecretId) return unavailablePage(503);
  let claims: SilenceClaims;
  try {
    const keys = await fetchSigningKeys(config.signingSecretId, config.secretCacheSeconds);
    const token = event.pathParameters?.token ?? '';
    claims = verifySilenceToken(
      decodeURIComponent(token),
      [keys.current, ...(keys.previous ? [keys.previous] : [])],
      tokenScope(config),
    );
  } catch (error) {
    if (error instanceof SilenceTokenError) {
      logger.warn('Silence link refused', { method, problem: error.code });
      return refusedTokenPage(error.code);
    }
    if (error instanceof URIError) return refusedTokenPage('malformed');
    logger.error('Silence link could not be checked', describeFailure(error));
    return unavailablePage(503);
  }
  try {
    if (method === 'GET') return silenceFormPage(claims, await state.silences.active(claims.key));
    const choice = parseSilenceChoice(bodyOf(event));
    if (!choice) return badChoicePage();
    if ('end' in choice) {
      await state.silences.end(claims.key);
      logger.info('Silence ended from its link', { dedupKey: claims.key });
      return silenceDonePage(claims, undefined);
    }
    const silence = await state.silences.silence(claims.key, claims.subject, choice.hours);
    logger.info('Key silenced from its link', {
      dedupKey: claims.key,
      until: new Date(silence.until).toISOString(),
      untilResolved: silence.untilResolved,
    });
    return silenceDonePage(claims, silence);
  } catch (error) {
    logger.error('Silence could not be read or kept', describeFailure(error));
    return unavailablePage(503);
  }
}
