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

/**
 * A console deep link: `https://<region>.console.aws.amazon.com/<service>/home?region=<region>#<fragment>`.
 * `fragment` is used as given, so its parts must already be encoded with `encodeURIComponent`.
 * Undefined when the region is not a region name, so a hostile event cannot choose the host.
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
  return { title, url: url.href };
}

/** Keeps the links that could be made. */
export const links = (...candidates: (FormattedLink | undefined)[]): FormattedLink[] =>
  candidates.filter((link): link is FormattedLink => link !== undefined);
