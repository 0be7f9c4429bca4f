// Recipient addresses are compared here, exactly and in plain ASCII, and never handed to
// nodemailer's address parser as free text: that parser has a long history of advisories around
// quoted local parts, comments, groups and IDN, and an alerting endpoint must never become a relay.

const LOCAL_PART = /^[a-z0-9_%+-]+(?:\.[a-z0-9_%+-]+)*$/;
const DOMAIN_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const MAX_ADDRESS_LENGTH = 254;

/**
 * Returns the normalised (lower-case) form of a bare e-mail address, or a reason it is not one.
 * Only `local@domain` in ASCII is accepted: no display names, quotes, comments, groups, spaces,
 * or non-ASCII characters (which is where look-alike and zero-width tricks live).
 */
export function normaliseAddress(value: string): { address: string } | { problem: string } {
  if (value.length > MAX_ADDRESS_LENGTH)
    return { problem: `is longer than ${MAX_ADDRESS_LENGTH} characters` };
  if (/[^\x21-\x7e]/.test(value)) {
    return { problem: 'must be a bare ASCII address without spaces or special characters' };
  }
  const address = value.toLowerCase();
  const at = address.indexOf('@');
  if (at <= 0 || at !== address.lastIndexOf('@'))
    return { problem: 'must be a single address like ops@example.com' };
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (!LOCAL_PART.test(local)) {
    return { problem: 'has a local part with characters that are not allowed (quotes, comments, brackets)' };
  }
  const labels = domain.split('.');
  if (labels.length < 2 || !labels.every((label) => DOMAIN_LABEL.test(label))) {
    return { problem: 'has a domain that is not a plain host name' };
  }
  return { address };
}

/** The addresses and `@domain` entries callers may send to. */
export interface RecipientAllowList {
  addresses: ReadonlySet<string>;
  domains: ReadonlySet<string>;
}

/** Whether a normalised address is on the allow-list, by exact address or exact domain (no subdomains). */
export function isAllowedRecipient(address: string, allowList: RecipientAllowList): boolean {
  if (allowList.addresses.has(address)) return true;
  const domain = address.slice(address.indexOf('@') + 1);
  return allowList.domains.has(domain);
}
