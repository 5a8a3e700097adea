// The seed document ("Configurare l'accesso ad Interoperabilità"), step by step,
// in headless Chromium against a running Varco with its demo world:
//   1) the Ente's Amministratore creates the technician's user with
//      "Interoperabilità Collaudo" / "Amministratore" ("Crea Utente");
//   2) the technician logs in;
//   3) picks the Ente, the card "Interoperabilità", Collaudo, and lands in the
//      Collaudo back office as Amministratore; Produzione stays closed.
// It does only what a person can: it reads what the page shows (headings, labels,
// notices, table cells; never hidden fields) and clicks what is shown, with
// Playwright's checks that an element is visible, enabled and not covered (no
// `force`; see lib/person.mjs). A screenshot of each step goes to --out. Any failed
// expectation throws, and the process exits non-zero with the step that failed.
//
// usage: node seed-walk.mjs --base http://127.0.0.1:PORT --out DIR
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { launch, newPage } from './lib/browser.mjs';
import { heading, see, shownText, tick } from './lib/person.mjs';

const { values: opts } = parseArgs({ options: { base: { type: 'string' }, out: { type: 'string' } } });
if (!opts.base || !opts.out) {
  console.error('usage: node seed-walk.mjs --base URL --out DIR');
  process.exit(2);
}
mkdirSync(opts.out, { recursive: true });

const TECH = { nome: 'Mario', cognome: 'Rossi', cf: 'RSSMRA80A01H501U', email: 'mario.rossi@partner.example' };
const TIMEOUT = 10_000;
let step = 'start';

function expect(what, ok, shown) {
  if (!ok) throw new Error(`${what}; the page shows: ${JSON.stringify(shown)}`);
}

async function shot(page, name) {
  // Transitions finished first: a box just ticked is drawn ticked.
  await page.screenshot({ path: join(opts.out, `${name}.png`), fullPage: true, animations: 'disabled' });
  console.log(`screenshot ${name}.png`);
}

async function loginAs(page, who) {
  await page.goto(`${opts.base}/selfcare/login`);
  await heading(page, "Come vuoi accedere all'Area Riservata?");
  await page.getByRole('button', { name: `Entra come ${who}` }).click();
  await heading(page, 'Seleziona il tuo ente');
}

async function logout(page) {
  await page.getByRole('button', { name: 'Esci' }).click();
  await heading(page, "Come vuoi accedere all'Area Riservata?");
}

/** The card of a product on the Ente's overview, found by its visible title. */
function card(page, title) {
  return page.locator('.card').filter({ has: page.getByRole('heading', { name: title, exact: true }) });
}

/** The message shown next to the form field labelled `label`. */
async function fieldMessage(page, label) {
  const group = page.locator('.form-group').filter({ has: page.getByLabel(label, { exact: true }) });
  return shownText(group.locator('.field-error'));
}

/** The back office's "Benvenuto, …" section: its heading, and its Ente / Ruolo / Ambiente as shown. */
async function backOfficeIdentity(page, who) {
  const section = page.getByRole('region', { name: `Benvenuto, ${who}` });
  await section.waitFor({ state: 'visible' });
  const shown = {};
  for (const term of ['Ente', 'Ruolo', 'Ambiente']) {
    shown[term] = await shownText(section.locator(`dt:text-is("${term}") + dd`));
  }
  return shown;
}

async function expectCollaudoHome(page, who, org) {
  await page.waitForURL(/\/interop\/collaudo\/$/);
  await heading(page, 'Interoperabilità – ambiente Collaudo');
  const identity = await backOfficeIdentity(page, who);
  expect(
    `the Collaudo home shows ${who} of ${org} as Amministratore`,
    identity.Ente === org && identity.Ruolo === 'Amministratore' && identity.Ambiente === 'Collaudo',
    identity,
  );
}

const browser = await launch();
try {
  const page = await newPage(browser);
  page.setDefaultTimeout(TIMEOUT);

  // --- 1) The Ente's Amministratore creates the technician's user.
  step = "l'Amministratore dell'ente accede";
  await page.goto(`${opts.base}/selfcare/login`);
  await heading(page, "Come vuoi accedere all'Area Riservata?");
  await heading(page, 'Provider di identità dimostrativo');
  await shot(page, '01-accesso-area-riservata');
  await loginAs(page, 'Maria Bianchi');
  await shot(page, '02-amministratore-seleziona-ente');
  await page.getByRole('link', { name: 'Accedi a Comune di Prova' }).click();
  await heading(page, 'Panoramica');
  await heading(page, 'I tuoi prodotti');
  await shot(page, '03-panoramica-ente');

  step = 'Utenti > Aggiungi utente';
  await page.getByRole('link', { name: 'Utenti', exact: true }).click();
  await page.getByRole('link', { name: 'Aggiungi utente' }).waitFor({ state: 'visible' });
  await shot(page, '04-utenti');
  await page.getByRole('link', { name: 'Aggiungi utente' }).click();
  await heading(page, 'Aggiungi un nuovo utente');
  await page.getByRole('group', { name: 'Prodotto e ruolo' }).waitFor({ state: 'visible' });

  step = 'Crea Utente con dati errati';
  await page.getByLabel('Nome', { exact: true }).fill(TECH.nome);
  await page.getByLabel('Cognome', { exact: true }).fill(TECH.cognome);
  await page.getByLabel('Codice Fiscale', { exact: true }).fill('RSSMRA80A01H501X');
  await page.getByLabel('Email istituzionale', { exact: true }).fill(TECH.email);
  await page.getByLabel('Conferma email', { exact: true }).fill('mario.rossi@altro.example');
  await page.getByLabel('Prodotto', { exact: true }).selectOption({ label: 'Interoperabilità Collaudo' });
  await tick(page, 'Amministratore');
  await page.getByRole('button', { name: 'Crea Utente' }).click();
  await heading(page, 'Controlla i dati inseriti');
  const cfMessage = await fieldMessage(page, 'Codice Fiscale');
  expect('the codice fiscale is refused next to its field', cfMessage.includes('Carattere di controllo'), cfMessage);
  const emailMessage = await fieldMessage(page, 'Conferma email');
  expect('the two emails are said to differ', emailMessage === 'Gli indirizzi email non coincidono', emailMessage);
  await shot(page, '05-crea-utente-errori');

  step = 'Crea Utente: Interoperabilità Collaudo, Amministratore';
  await page.getByLabel('Codice Fiscale', { exact: true }).fill(TECH.cf);
  await page.getByLabel('Conferma email', { exact: true }).fill(TECH.email);
  await page.getByLabel('Prodotto', { exact: true }).selectOption({ label: 'Interoperabilità Collaudo' });
  await tick(page, 'Amministratore');
  await shot(page, '06-crea-utente');
  await page.getByRole('button', { name: 'Crea Utente' }).click();
  await heading(page, `${TECH.nome} ${TECH.cognome}`);
  const notice = await shownText(page.getByRole('status'));
  expect('the page says the user was added and mailed', notice.includes(`Utente aggiunto`) && notice.includes(TECH.email), notice);
  const cf = await shownText(page.locator('dt:text-is("Codice fiscale") + dd'));
  expect(`the user's codice fiscale is ${TECH.cf}`, cf === TECH.cf, cf);
  const row = page.getByRole('row').filter({ hasText: 'Interoperabilità Collaudo' });
  const cells = (await row.getByRole('cell').allInnerTexts()).map((c) => c.trim());
  expect(
    'the user has Interoperabilità Collaudo / Amministratore, Attivo',
    cells[0] === 'Interoperabilità Collaudo' && cells[1].startsWith('Amministratore') && cells[2] === 'Attivo',
    cells,
  );
  await shot(page, '07-utente-creato');
  await logout(page);

  // --- 2) The technician logs in with their own identity.
  step = 'il tecnico accede';
  await page.getByRole('button', { name: 'Entra come Mario Rossi' }).waitFor({ state: 'visible' });
  await shot(page, '08-tecnico-accede');
  await loginAs(page, 'Mario Rossi');

  // --- 3) Ente, card "Interoperabilità", Collaudo.
  step = "il tecnico seleziona l'ente";
  await page.getByRole('link', { name: 'Accedi a Comune di Prova' }).waitFor({ state: 'visible' });
  await shot(page, '09-tecnico-seleziona-ente');
  await page.getByRole('link', { name: 'Accedi a Comune di Prova' }).click();
  await heading(page, 'I tuoi prodotti');
  await card(page, 'Interoperabilità').waitFor({ state: 'visible' });
  await shot(page, '10-card-interoperabilita');

  step = 'card Interoperabilità → Collaudo';
  await card(page, 'Interoperabilità').getByRole('link', { name: 'Gestisci' }).click();
  // One environment (Collaudo) only: SelfCare goes straight there.
  await expectCollaudoHome(page, 'Mario Rossi', 'Comune di Prova');
  await shot(page, '11-collaudo-home');

  step = 'Produzione resta chiusa';
  await page.goto(`${opts.base}/selfcare/enti`);
  await page.getByRole('link', { name: 'Accedi a Comune di Prova' }).click();
  await heading(page, 'Panoramica');
  const url = new URL(page.url());
  await page.goto(`${opts.base}${url.pathname}/interoperabilita?ambiente=produzione`);
  const refusal = await shownText(page.getByRole('alert'));
  expect('SelfCare refuses Produzione', refusal.includes("non puoi entrare nell'ambiente Produzione"), refusal);
  await shot(page, '12-produzione-negata');
  await page.goto(`${opts.base}/interop/produzione/`);
  await heading(page, 'Interoperabilità – ambiente Produzione');
  await see(page, "Per entrare accedi all'Area Riservata");
  if (await page.getByRole('heading', { name: /Benvenuto/ }).count()) throw new Error('Produzione shows a logged-in home');

  // --- The Amministratore, with roles on all three, is asked where to go.
  step = "la scelta dell'ambiente";
  await page.goto(`${opts.base}/selfcare/enti`);
  await logout(page);
  await loginAs(page, 'Maria Bianchi');
  await page.getByRole('link', { name: 'Accedi a Comune di Prova' }).click();
  await card(page, 'Interoperabilità').getByRole('link', { name: 'Gestisci' }).click();
  await page.getByRole('group', { name: 'In quale ambiente vuoi entrare?' }).waitFor({ state: 'visible' });
  await tick(page, 'Ambiente di Collaudo');
  await shot(page, '13-in-quale-ambiente');
  await page.getByRole('button', { name: 'Entra' }).click();
  await expectCollaudoHome(page, 'Maria Bianchi', 'Comune di Prova');
  console.log('WALK OK');
} catch (e) {
  console.error(`WALK FAILED at step «${step}»: ${e.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
