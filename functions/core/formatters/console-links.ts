import { LINK_URL_MAX } from '../alert.ts';
import type { FormattedLink } from './types.ts';

// us-east-1, eu-central-2, us-gov-west-1, cn-north-1, ap-southeast-7 …
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

/** The console's host for a region, by partition; undefined for anything that is not a region name. */
function consoleHost(region: unknown): string | undefined {
  if (typeof region !== 'string' || !REGION.test(region)) return undefined;
  if (region.startsWith('cn-')) return 'console.amazonaws.cn';
  if (region.startsWith('us-gov-')) return 'console.amazonaws-us-gov.com';
  return `${region}.console.aws.amazon.com`;
}

// A link longer than an alert accepts (the `links[].url` rule in alert.ts), made from an event's
// oversized id, would make the whole alert invalid, so it is left out instead.
function fitting(title: string, url: URL): FormattedLink | undefined {
  return url.href.length <= LINK_URL_MAX ? { title, url: url.href } : undefined;
}

/**
 * A console deep link: `https://<region>.console.aws.amazon.com/<service>/home?region=<region>#<fragment>`.
 * `fragment` is used as given, so its parts must already be encoded with `encodeURIComponent`.
 * Undefined when the region is not a region name, so a hostile event cannot choose the host, and when
 * the URL would be longer than {@link LINK_URL_MAX}.
 */
export function consoleLink(
  title: string,
  region: unknown,
  service: string,
  fragment: string,
): FormattedLink | undefined {
  const host = consoleHost(region);
  if (!host) return undefined;
  const url = new URL(`https://${host}/${service}/home`);
  url.searchParams.set('region', region as string);
  url.hash = fragment;
  return fitting(title, url);
}

/**
 * A console link to a page addressed by its path rather than a fragment, as the newer consoles are
 * (`https://<region>.console.aws.amazon.com/ecs/v2/clusters/prod/tasks/…?region=<region>`).
 * `path` is used as given, so its segments must already be encoded with `encodeURIComponent`.
 * Undefined on the same terms as {@link consoleLink}.
 *
 * @example consolePathLink('Open the task', 'eu-west-1', `ecs/v2/clusters/${encodeURIComponent(cluster)}`)
 */
export function consolePathLink(title: string, region: unknown, path: string): FormattedLink | undefined {
  const host = consoleHost(region);
  if (!host) return undefined;
  const url = new URL(`https://${host}/${path}`);
  // A path that resolves elsewhere ("../", "//") would leave the page it names: refuse it.
  if (url.host !== host || url.pathname !== `/${path}`) return undefined;
  url.searchParams.set('region', region as string);
  return fitting(title, url);
}

/** Keeps the links that could be made. */
export const links = (...candidates: (FormattedLink | undefined)[]): FormattedLink[] =>
  candidates.filter((link): link is FormattedLink => link !== undefined);
