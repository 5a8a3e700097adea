// What the browser walks share: reading what a page shows (notices, states,
// description lists), SelfCare's login as a demo person, the Ente's product cards,
// a finalità with its risk analysis filled as a person does, and the voucher built
// outside the browser with PyJWT. Each walk keeps its own steps and screenshots.
import { spawnSync } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { heading, isTickedIn, shownText, tickIn } from './person.mjs';

/** Throws, with what the page shows, unless `ok`. */
export function expect(what, ok, shown) {
  if (!ok) throw new Error(`${what}; the page shows: ${JSON.stringify(shown)}`);
}

/** The text of the state badge or field (`data-testid="stato"`) next to the page's title. */
export async function stateShown(page) {
  return shownText(page.locator('main [data-testid="stato"]').first());
}

/** The description-list value shown for `term` inside `scope`. */
export async function definition(scope, term) {
  return shownText(scope.locator(`dt:text-is("${term}") + dd`));
}

/** The notice shown after an action ("esito"). */
export async function noticeShown(page) {
  return shownText(page.locator('main [role="status"][data-testid="esito"]'));
}

/** The value (a `<code>`) shown for `term` in a description list inside `scope`. */
export async function codeFor(scope, term) {
  return shownText(scope.locator(`dt:text-is("${term}") + dd code`).first());
}

/** RFC 7638: the SHA-256 thumbprint, base64url, of the RSA public key's {e, kty, n}. */
export function thumbprint(publicPem) {
  const { e, n } = createPublicKey(publicPem).export({ format: 'jwk' });
  return createHash('sha256').update(JSON.stringify({ e, kty: 'RSA', n })).digest('base64url');
}

/** ../independent/walk_voucher.py (PyJWT): the assertion, the token endpoint, the voucher checked. */
export function voucherWithPyJwt(args, privatePem) {
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'independent', 'walk_voucher.py');
  const argv = [script, ...Object.entries(args).flatMap(([k, v]) => [`--${k}`, v])];
  const run = spawnSync('python3', argv, { input: privatePem, encoding: 'utf8', timeout: 60_000 });
  if (run.error) throw new Error(`cannot run python3 walk_voucher.py: ${run.error.message}`);
  if (run.status !== 0) throw new Error(`walk_voucher.py failed (${run.status}): ${run.stderr}${run.stdout}`);
  return JSON.parse(run.stdout.trim().split('\n').pop());
}

/** The demo identity provider: "Entra come `who`", then SelfCare's choice of Ente. */
export async function loginAs(page, base, who) {
  await page.goto(`${base}/selfcare/login`);
  await heading(page, "Come vuoi accedere all'Area Riservata?");
  await page.getByRole('button', { name: `Entra come ${who}` }).click();
  await heading(page, 'Seleziona il tuo ente');
}

export async function logout(page) {
  await page.getByRole('button', { name: 'Esci' }).click();
  await heading(page, "Come vuoi accedere all'Area Riservata?");
}

/** The card of a product on the Ente's overview, found by its visible title. */
export function card(page, title) {
  return page.locator('.card').filter({ has: page.getByRole('heading', { name: title, exact: true }) });
}

export const RISK = {
  purpose: "Finalità dell'accesso ai dati*",
  institutional: 'Descrivi la finalità istituzionale*',
  other: 'Descrivi la finalità*',
  otherText: 'Invio di notifiche digitali per conto del Comune',
  personal: 'Accedi a dati personali?*',
  thirdParty: 'Accedi a dati non personali riferiti a terzi?*',
  confidential: 'Questi dati sono riservati o confidenziali?*',
  onBehalf: "Usi l'e-service anche per conto di terzi?*",
};

/**
 * "Crea nuovo" on Finalità inoltrate, Informazioni generali for `eservice`;
 * `filled()` (a screenshot, an audit) runs before "Salva bozza e prosegui".
 */
export async function createPurpose(page, { eservice, title, description, calls }, filled) {
  await page.getByRole('link', { name: 'Crea nuovo', exact: true }).click();
  await heading(page, 'Crea finalità');
  await heading(page, 'Informazioni generali');
  await page.getByLabel('Nome della finalità*', { exact: true }).fill(title);
  await page.getByLabel('Descrizione finalità*', { exact: true }).fill(description);
  await page.getByLabel('E-service da associare*', { exact: true }).selectOption({ label: eservice });
  await page.getByLabel('Stima numero chiamate API/giorno*', { exact: true }).fill(calls);
  await tickIn(page, "Come metterai a disposizione l'accesso ai dati di questo e-service?*", 'A pagamento');
  await filled();
  await page.getByRole('button', { name: 'Salva bozza e prosegui', exact: true }).click();
  await heading(page, 'Modifica finalità');
  await heading(page, 'Analisi del rischio');
}

/**
 * A complete PA risk analysis, as a person fills it with JavaScript on: each answer
 * that other questions depend on redraws the questions that now apply (varco.js),
 * and the answers given stay. `filled()` runs at the end.
 */
export async function fillRiskAnalysis(page, filled) {
  const other = page.getByLabel(RISK.other, { exact: true });
  await page.getByLabel(RISK.institutional, { exact: true }).waitFor({ state: 'visible' });
  expect('«Descrivi la finalità» waits for «Altra finalità»', (await other.count()) === 0, await other.count());
  await tickIn(page, RISK.purpose, 'Altra finalità');
  await other.waitFor({ state: 'visible' });
  await page.getByLabel(RISK.institutional, { exact: true }).waitFor({ state: 'detached' });
  await other.fill(RISK.otherText);
  expect('«Accedi a dati personali?» is No unless told', await isTickedIn(page, RISK.personal, 'No'), 'not ticked');
  const confidential = page.getByRole('group', { name: RISK.confidential, exact: true });
  expect('the question on confidential data waits for its two answers', (await confidential.count()) === 0, 'shown');
  await tickIn(page, RISK.thirdParty, 'Sì');
  await confidential.waitFor({ state: 'visible' });
  await tickIn(page, RISK.confidential, 'No');
  await tickIn(page, RISK.onBehalf, 'No');
  const kept = await other.inputValue();
  expect('the text written stays after the questions are redrawn', kept === RISK.otherText, kept);
  expect('«Altra finalità» stays ticked', await isTickedIn(page, RISK.purpose, 'Altra finalità'), 'not ticked');
  await filled();
}
