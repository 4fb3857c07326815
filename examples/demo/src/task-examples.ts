/**
 * The texts the simulated application works on: for each task, inputs a user might send and the
 * answer a model would stream back for each. The demo is the first thing a user of the monitor
 * sees, so its answers are written by hand to read like real ones, and each answer belongs to its
 * input (a summary summarizes the text shown as the session's content, a translation translates it).
 * Several per task keep the page from showing the same text over and over.
 */

/** One input of a task and the answer the simulated model gives to it. */
export interface DemoExample {
  /** What the session works on (its content). */
  readonly input: string;
  /** What the model streams back, token by token. */
  readonly answer: string;
}

/** The tasks the demo simulates. */
export type DemoTaskName = 'summarize' | 'translate' | 'classify' | 'answer_question' | 'extract_entities';

/** An entity as the `ner-json` template asks the model to list it. */
interface Entity {
  readonly text: string;
  readonly type: 'PERSON' | 'ORGANIZATION' | 'LOCATION' | 'DATE' | 'MONEY' | 'PRODUCT' | 'QUANTITY' | 'ID' | 'ADDRESS';
}

/** The JSON answer of an extraction, indented the way chat models print JSON. */
function entitiesJson(entities: readonly Entity[]): string {
  return JSON.stringify({ entities }, null, 2);
}

const SUMMARIZE: readonly DemoExample[] = [
  {
    input:
      'Quarterly report, Q3: Revenue grew 12% to 4.8 million euros, driven mainly by the new team plan, which now accounts for 31% of subscriptions. ' +
      'Support tickets fell by a third after the new onboarding flow shipped in July; the median first-response time dropped from 9 hours to 4. ' +
      'Churn stayed flat at 2.1% a month. Costs rose 8%, mostly from two new hires in customer success and higher cloud spend during the August traffic peak. ' +
      'For Q4 the plan is to launch annual billing, finish the SOC 2 audit and keep headcount flat.',
    answer:
      'Q3 revenue rose 12% to €4.8 million, led by the team plan, which now makes up 31% of subscriptions. ' +
      'The new onboarding flow cut support tickets by a third and more than halved the median first-response time, while churn held at 2.1% a month. ' +
      'Costs grew 8%, mostly from two customer-success hires and higher cloud spend in August. ' +
      'Q4 priorities are annual billing, the SOC 2 audit and flat headcount.',
  },
  {
    input:
      'Meeting notes, launch sync: The team agreed to move the public launch of the mobile app by two weeks, to 14 October, so the accessibility review can finish; ' +
      'screen-reader labels are still missing on the checkout screens. Priya will own the review and report progress on Friday. ' +
      'Marketing keeps the press briefing on 9 October but will present it as a preview. ' +
      'The beta stays open, and the crash rate on Android 14 (0.8% of sessions) must be below 0.3% before release. ' +
      'Open question: whether to ship the dark theme at launch or in the first update.',
    answer:
      'The mobile app launch moves two weeks, to 14 October, so the accessibility review can finish; the checkout screens still lack screen-reader labels. ' +
      'Priya owns the review and reports on Friday. ' +
      'The 9 October press briefing stays but becomes a preview, and the Android 14 crash rate must fall from 0.8% to below 0.3% before release. ' +
      'Still open: dark theme at launch or in the first update.',
  },
  {
    input:
      'Postmortem, 3 March: From 14:05 to 14:47 UTC about 18% of API requests in eu-west failed with 502 errors. ' +
      "A configuration change raised the gateway's connection pool from 200 to 2000 per instance, which exhausted the database's connection limit; " +
      'new connections were refused and the gateway returned errors. The on-call engineer rolled the change back at 14:41 and traffic recovered within six minutes. ' +
      'No data was lost. Actions: validate pool sizes against database limits in CI, add an alert on refused connections, ' +
      'and require a second reviewer for gateway configuration.',
    answer:
      "On 3 March a gateway configuration change raised the connection pool from 200 to 2000 per instance and exhausted the database's connection limit, " +
      'so about 18% of eu-west API requests failed with 502 errors between 14:05 and 14:47 UTC. ' +
      'Rolling the change back at 14:41 restored service, and no data was lost.\n\n' +
      'Follow-ups:\n' +
      '- Check pool sizes against database limits in CI.\n' +
      '- Alert on refused connections.\n' +
      '- Require a second reviewer for gateway configuration.',
  },
  {
    input:
      'Hello, we have used your invoicing tool for three years and are generally happy, but the last two releases caused real problems for us. ' +
      'Since version 5.2, PDF exports cut off the last line of long invoices, and our accountant had to resend 40 invoices by hand last month. ' +
      'We also noticed that the VAT summary now rounds each line instead of the total, which creates differences of a few cents. ' +
      'We would like to know when a fix is planned, and whether we can go back to 5.1 until then. Best regards, Martin Keller, Keller & Sons GmbH',
    answer:
      'Martin Keller of Keller & Sons GmbH, a customer for three years, reports two regressions since version 5.2. ' +
      'PDF exports drop the last line of long invoices, which forced his accountant to resend 40 invoices by hand, ' +
      'and the VAT summary now rounds per line instead of on the total, causing differences of a few cents. ' +
      'He asks when a fix is planned and whether they can return to 5.1 in the meantime.',
  },
  {
    input:
      'A study of 1,200 remote workers across four countries found that teams with a fixed weekly meeting-free day reported 23% fewer interruptions ' +
      'and rated their focus higher, while measured output (tickets closed, documents delivered) did not change. ' +
      "The effect faded after about five months in teams that let the rule slip to 'meeting-light' days. " +
      'The authors recommend protecting the day in shared calendars and reviewing it each quarter, and caution that the survey relied on self-reported focus.',
    answer:
      'In a study of 1,200 remote workers in four countries, a fixed weekly meeting-free day cut reported interruptions by 23% and raised self-rated focus, ' +
      'with no change in measured output. The benefit faded after about five months where teams relaxed the rule. ' +
      'The authors suggest blocking the day in shared calendars and reviewing it quarterly, and note that focus was self-reported.',
  },
];

const TRANSLATE: readonly DemoExample[] = [
  {
    input:
      'Sehr geehrte Frau Novak, leider verzögert sich Ihre Lieferung wegen des Streiks im Hamburger Hafen voraussichtlich um drei Tage. ' +
      'Wir rechnen nun mit einer Zustellung am Donnerstag, den 12. Juni. ' +
      'Die Sendungsverfolgung wird aktualisiert, sobald der Container freigegeben ist. Wir bitten um Entschuldigung für die Unannehmlichkeiten.',
    answer:
      'Dear Ms Novak, unfortunately your delivery is expected to be delayed by three days because of the strike at the port of Hamburg. ' +
      'We now expect it to arrive on Thursday, 12 June. ' +
      'The shipment tracking will be updated as soon as the container has been released. We apologise for the inconvenience.',
  },
  {
    input:
      'Das Update auf Version 3.4 behebt den Fehler beim Export großer Tabellen. ' +
      'Außerdem lädt das Dashboard jetzt deutlich schneller, weil Diagramme erst beim Scrollen gerendert werden. ' +
      'Bitte beachten Sie: Die alte Schnittstelle /v1/reports wird am 30. September abgeschaltet.',
    answer:
      'The update to version 3.4 fixes the error when exporting large tables. ' +
      'The dashboard also loads much faster now, because charts are only rendered when you scroll to them. ' +
      'Please note: the old /v1/reports endpoint will be switched off on 30 September.',
  },
  {
    input:
      'Kannst du mir bis Freitag die überarbeitete Präsentation schicken? ' +
      'Der Kunde möchte vor allem die Kostenaufstellung sehen, die Folien zur Firmengeschichte können wir streichen. ' +
      'Wenn du Hilfe bei den Diagrammen brauchst, frag Jonas.',
    answer:
      'Could you send me the revised presentation by Friday? ' +
      'The client mainly wants to see the cost breakdown, so we can drop the slides on the company history. ' +
      'If you need help with the charts, ask Jonas.',
  },
  {
    input:
      'Wir haben Ihre Kündigung erhalten. Ihr Vertrag endet zum 31. Dezember; bis dahin können Sie alle Funktionen wie gewohnt nutzen. ' +
      'Ihre Daten bleiben danach noch 30 Tage gespeichert und können in dieser Zeit exportiert werden.',
    answer:
      'We have received your cancellation. Your contract ends on 31 December; until then you can use all features as usual. ' +
      'After that, your data will be kept for another 30 days and can be exported during that time.',
  },
  {
    input:
      'Achtung: Wegen Wartungsarbeiten ist das Kundenportal am Samstag zwischen 22 und 2 Uhr nicht erreichbar. ' +
      'Bestellungen per Telefon sind in dieser Zeit weiterhin möglich. Vielen Dank für Ihr Verständnis.',
    answer:
      'Please note: because of maintenance work, the customer portal will be unavailable on Saturday between 10 pm and 2 am. ' +
      'You can still place orders by phone during this time. Thank you for your understanding.',
  },
];

const CLASSIFY: readonly DemoExample[] = [
  {
    input: 'My invoice shows a charge twice for the same month, please refund one of them.',
    answer:
      'Category: billing\nPriority: normal\nReason: The customer was charged twice for the same month and asks for one of the charges to be refunded.',
  },
  {
    input: 'The app crashes when I rotate my phone.',
    answer:
      'Category: bug\nPriority: high\nReason: The app crashes on a common action, rotating the phone, which blocks normal use on mobile.',
  },
  {
    input: "I can't log in since I changed my email address, the reset link goes to my old one.",
    answer:
      'Category: account\nPriority: high\nReason: The user is locked out because password reset links go to an address they no longer use.',
  },
  {
    input: 'It would be great if we could export the reports as Excel files instead of only CSV.',
    answer:
      'Category: feature_request\nPriority: low\nReason: The customer asks for an Excel export in addition to CSV; nothing is broken.',
  },
  {
    input: 'Our whole team gets a 500 error when opening any dashboard since this morning. We have a client demo in an hour!',
    answer:
      'Category: bug\nPriority: urgent\nReason: Every dashboard fails with a server error for the whole team, and they have a client demo within the hour.',
  },
];

const ANSWER_QUESTION: readonly DemoExample[] = [
  {
    input: 'How do I rotate the API keys without downtime?',
    answer:
      'You can rotate keys without downtime because a project can have two active keys at the same time:\n\n' +
      '1. Create a second key under Settings → API keys and give it a descriptive name.\n' +
      '2. Deploy the new key to every service that calls the API, for example by updating the secret in your vault.\n' +
      '3. Watch the "Last used" column until the old key shows no more traffic.\n' +
      '4. Revoke the old key.\n\n' +
      'If a key may have leaked, revoke it right away instead: requests signed with it fail from that moment on.',
  },
  {
    input: 'What is the retention period for audit logs?',
    answer:
      'Audit logs are kept for 90 days on the Team plan and for one year on the Enterprise plan. ' +
      'Within that period you can search them in the console under Security → Audit log or export them as JSON. ' +
      'If you need them for longer, for example for compliance, set up a log export to your own storage bucket; exported logs are never deleted by us. ' +
      'Entries older than the retention period are removed permanently and cannot be restored by support.',
  },
  {
    input: 'Can I limit which IP addresses are allowed to use an API key?',
    answer:
      'Yes. Open the key under Settings → API keys and add one or more CIDR ranges under "Allowed networks", for example 203.0.113.0/24. ' +
      'Requests from any other address are rejected with 403 Forbidden and appear in the audit log. ' +
      'The restriction applies per key, so you can keep an unrestricted key for local development and lock down the one used in production. ' +
      'Changes take effect within about a minute.',
  },
  {
    input: "Why do I get 429 errors even though I'm below my monthly quota?",
    answer:
      'A 429 response means you hit a rate limit, which is separate from your monthly quota. Rate limits apply per key over short windows:\n\n' +
      '- 60 requests per second for standard endpoints\n' +
      '- 10 requests per second for exports and bulk operations\n\n' +
      'Each 429 response carries a Retry-After header with the number of seconds to wait. ' +
      'Retry with exponential backoff and some jitter, and spread bulk jobs out instead of starting them all at once. ' +
      'If your traffic needs more, the limits can be raised per key on the Enterprise plan.',
  },
  {
    input: 'How do I move a project to another workspace?',
    answer:
      'Only a workspace owner can move a project. Open the project, go to Settings → General → Transfer project and pick the target workspace; ' +
      'you need to be an admin there as well. Members, API keys and webhooks move with the project, ' +
      'and billing switches to the target workspace from the next invoice. ' +
      'Integrations installed for the whole workspace, such as single sign-on, have to be set up again in the target workspace.',
  },
];

const EXTRACT_ENTITIES: readonly DemoExample[] = [
  {
    input: 'Ada Lovelace met Charles Babbage in London in 1833 to discuss the Analytical Engine.',
    answer: entitiesJson([
      { text: 'Ada Lovelace', type: 'PERSON' },
      { text: 'Charles Babbage', type: 'PERSON' },
      { text: 'London', type: 'LOCATION' },
      { text: '1833', type: 'DATE' },
      { text: 'Analytical Engine', type: 'PRODUCT' },
    ]),
  },
  {
    input: 'On 4 February 2025, Northwind Traders signed a two-year supply contract worth €1.2 million with Contoso Ltd. in Rotterdam.',
    answer: entitiesJson([
      { text: '4 February 2025', type: 'DATE' },
      { text: 'Northwind Traders', type: 'ORGANIZATION' },
      { text: '€1.2 million', type: 'MONEY' },
      { text: 'Contoso Ltd.', type: 'ORGANIZATION' },
      { text: 'Rotterdam', type: 'LOCATION' },
    ]),
  },
  {
    input: 'Dr. Amara Okafor of the University of Lagos will present the results at the WHO conference in Geneva next Tuesday.',
    answer: entitiesJson([
      { text: 'Amara Okafor', type: 'PERSON' },
      { text: 'University of Lagos', type: 'ORGANIZATION' },
      { text: 'WHO', type: 'ORGANIZATION' },
      { text: 'Geneva', type: 'LOCATION' },
      { text: 'next Tuesday', type: 'DATE' },
    ]),
  },
  {
    input: 'Please ship order #48213 (two Dell U2723QE monitors) to Lena Fischer, Hauptstraße 5, 80331 Munich, before Friday.',
    answer: entitiesJson([
      { text: '#48213', type: 'ID' },
      { text: 'Dell U2723QE', type: 'PRODUCT' },
      { text: 'Lena Fischer', type: 'PERSON' },
      { text: 'Hauptstraße 5, 80331 Munich', type: 'ADDRESS' },
      { text: 'Friday', type: 'DATE' },
    ]),
  },
  {
    input:
      'Marta Silva, CFO of Helios Energy, said on Monday that the company will open a solar plant near Seville in spring 2026, creating 300 jobs.',
    answer: entitiesJson([
      { text: 'Marta Silva', type: 'PERSON' },
      { text: 'Helios Energy', type: 'ORGANIZATION' },
      { text: 'Monday', type: 'DATE' },
      { text: 'Seville', type: 'LOCATION' },
      { text: 'spring 2026', type: 'DATE' },
      { text: '300 jobs', type: 'QUANTITY' },
    ]),
  },
];

/** Inputs and answers of every task the demo simulates. */
export const DEMO_EXAMPLES: Readonly<Record<DemoTaskName, readonly DemoExample[]>> = {
  summarize: SUMMARIZE,
  translate: TRANSLATE,
  classify: CLASSIFY,
  answer_question: ANSWER_QUESTION,
  extract_entities: EXTRACT_ENTITIES,
};
