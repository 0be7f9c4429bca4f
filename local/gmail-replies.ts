/** An SMTP reply: the code, and the text with one enhanced status code per line, lines joined by `\n`. */
export interface GmailReply {
  code: number;
  message: string;
}

/**
 * The replies smtp.gmail.com gives in the situations this product must handle, worded as Gmail words
 * them (multi-line where Gmail answers in several lines; the trailing queue id and "- gsmtp" left out).
 * Use them with the Gmail-like server's fault plan, e.g. `failNext({ at: 'mail', ...gmailReplies.dailyLimitExceeded })`.
 */
export const gmailReplies = {
  tryAgainLater: { code: 421, message: '4.7.0 Try again later, closing connection.' },
  tooManyLoginAttempts: { code: 454, message: '4.7.0 Too many login attempts, please try again later.' },
  mustIssueStartTls: { code: 530, message: '5.7.0 Must issue a STARTTLS command first.' },
  authenticationRequired: {
    code: 530,
    message:
      '5.7.0 Authentication Required. For more information, go to\n' +
      '5.7.0  https://support.google.com/mail/?p=WantAuthError',
  },
  applicationSpecificPasswordRequired: {
    code: 534,
    message:
      '5.7.9 Application-specific password required. For more information, go to\n' +
      '5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor',
  },
  webLoginRequired: {
    code: 534,
    message:
      '5.7.14 Please log in with your web browser and then try again. For more\n' +
      '5.7.14 information, go to\n' +
      '5.7.14  https://support.google.com/mail/?p=WebLoginRequired',
  },
  badCredentials: {
    code: 535,
    message:
      '5.7.8 Username and Password not accepted. For more information, go to\n' +
      '5.7.8  https://support.google.com/mail/?p=BadCredentials',
  },
  dailyLimitExceeded: {
    code: 550,
    message:
      '5.4.5 Daily user sending limit exceeded. For more information on Gmail\n' +
      '5.4.5 sending limits go to\n' +
      '5.4.5  https://support.google.com/a/answer/166852',
  },
  tooManyRecipients: {
    code: 452,
    message:
      '4.5.3 Your message has too many recipients. For more information regarding\n' +
      "4.5.3 Google's sending limits, visit\n" +
      '4.5.3  https://support.google.com/mail/answer/6592',
  },
  messageTooBig: {
    code: 552,
    message:
      "5.3.4 Your message exceeded Google's message size limits. For more information, visit\n" +
      '5.3.4  https://support.google.com/mail/?p=MaxSizeError',
  },
  recipientRateLimited: {
    code: 450,
    message:
      '4.2.1 The user you are trying to contact is receiving mail at a rate that\n' +
      '4.2.1 prevents additional messages from being delivered. Please resend your\n' +
      '4.2.1 message at a later point. If the user is able to receive mail at that\n' +
      '4.2.1 time, your message will be delivered. For more information, go to\n' +
      '4.2.1  https://support.google.com/mail/?p=ReceivingRate',
  },
  peakRelayLimitExceeded: {
    code: 450,
    message:
      '4.2.1 Peak SMTP relay limit exceeded for customer. For more information on\n' +
      '4.2.1 SMTP relay sending limits please contact your administrator or visit\n' +
      '4.2.1  https://support.google.com/a/answer/6140680',
  },
  noSuchUser: {
    code: 550,
    message:
      '5.1.1 The email account that you tried to reach does not exist. Please try\n' +
      "5.1.1 double-checking the recipient's email address for typos or\n" +
      '5.1.1 unnecessary spaces. For more information, go to\n' +
      '5.1.1  https://support.google.com/mail/?p=NoSuchUser',
  },
} as const satisfies Record<string, GmailReply>;

/**
 * What Gmail sends, as base64 JSON after `334`, for an access token it refuses at AUTH XOAUTH2; after
 * the client's empty line it ends the exchange with {@link gmailReplies}.badCredentials.
 */
export const xoauth2Challenge = { status: '400', schemes: 'Bearer', scope: 'https://mail.google.com/' };
