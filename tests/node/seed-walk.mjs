// The seed document ("Configurare l'accesso ad Interoperabilità"), step by step,
// in headless Chromium against a running Varco with its demo world:
//   1) the Ente's Amministratore creates the technician's user with
//      "Interoperabilità Collaudo" / "Amministratore" ("Crea Utente");
//   2) the technician logs in;
//   3) picks the Ente, the card "Interoperabilità", Collaudo, and lands in the
//      Collaudo back office as Amministratore; Produzione stays closed.
// A screenshot of each step goes to --out. Any failed expectation throws, and
// the process exits non-zero with the step that failed.
//
// usage: node seed-walk.mjs --base http://127.0.0.1:PORT --out DIR
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { launch, newPage } from './lib/browser.mjs';

const { values: opts } = parseArgs({ options: { base: { type: 'string' }, out: { type: 'string' } } });
if (!opts.base || !opts.out) {
  console.error('usage: node seed-walk.mjs --base URL --out DIR');
  process.exit(2);
}
mkdirSync(opts.out, { recursive: true });

const TECH = { nome: 'Mario', cognome: 'Rossi', cf: 'RSSMRA80A01H501U', email: 'mario.rossi@partner.example' };
const TIMEOUT = 10_000;
let step = 'start';

async function see(page, text) {
  await page.getByText(text, { exact: false }).first().waitFor({ state: 'visible', timeout: TIMEOUT });
}

async function shot(page, name) {
  await page.screenshot({ path: join(opts.out, `${name}.png`), fullPage: true });
  console.log(`screenshot ${name}.png`);
}

async function loginAs(page, who) {
  await page.goto(`${opts.base}/selfcare/login`);
  await see(page, "Come vuoi accedere all'Area Riservata?");
  await page.getByRole('button', { name: `Entra come ${who}` }).click();
  await see(page, 'Seleziona il tuo ente');
}

async function logout(page) {
  await page.getByRole('button', { name: 'Esci' }).click();
  await see(page, "Come vuoi accedere all'Area Riservata?");
}

const browser = await launch();
try {
  const page = await newPage(browser);
  page.setDefaultTimeout(TIMEOUT);

  // --- 1) The Ente's Amministratore creates the technician's user.
  step = "l'Amministratore dell'ente accede";
  await page.goto(`${opts.base}/selfcare/login`);
  await see(page, 'Provider di identità dimostrativo');
  await shot(page, '01-accesso-area-riservata');
  await loginAs(page, 'Maria Bianchi');
  await shot(page, '02-amministratore-seleziona-ente');
  await page.getByRole('link', { name: 'Accedi a Comune di Prova' }).click();
  await see(page, 'I tuoi prodotti');
  await shot(page, '03-panoramica-ente');

  step = 'Utenti > Aggiungi utente';
  await page.getByRole('link', { name: 'Utenti', exact: true }).click();
  await see(page, 'Aggiungi utente');
  await shot(page, '04-utenti');
  await page.getByRole('link', { name: 'Aggiungi utente' }).click();
  await see(page, 'Crea Utente');

  step = 'Crea Utente con dati errati';
  await page.getByLabel('Nome', { exact: true }).fill(TECH.nome);
  await page.getByLabel('Cognome', { exact: true }).fill(TECH.cognome);
  await page.getByLabel('Codice Fiscale', { exact: true }).fill('RSSMRA80A01H501X');
  await page.getByLabel('Email istituzionale', { exact: true }).fill(TECH.email);
  await page.getByLabel('Conferma email', { exact: true }).fill('mario.rossi@altro.example');
  await page.getByLabel('Prodotto', { exact: true }).selectOption({ label: 'Interoperabilità Collaudo' });
  await page.getByLabel('Amministratore', { exact: true }).check({ force: true });
  await page.getByRole('button', { name: 'Crea Utente' }).click();
  await page.locator('.field-error').first().waitFor({ state: 'visible' });
  await shot(page, '05-crea-utente-errori');

  step = 'Crea Utente: Interoperabilità Collaudo, Amministratore';
  await page.getByLabel('Codice Fiscale', { exact: true }).fill(TECH.cf);
  await page.getByLabel('Conferma email', { exact: true }).fill(TECH.email);
  await page.getByLabel('Prodotto', { exact: true }).selectOption({ label: 'Interoperabilità Collaudo' });
  await page.getByLabel('Amministratore', { exact: true }).check({ force: true });
  await shot(page, '06-crea-utente');
  await page.getByRole('button', { name: 'Crea Utente' }).click();
  await see(page, TECH.cf);
  await see(page, 'Interoperabilità Collaudo');
  await shot(page, '07-utente-creato');
  await logout(page);

  // --- 2) The technician logs in with their own identity.
  step = 'il tecnico accede';
  await page.getByRole('button', { name: 'Entra come Mario Rossi' }).waitFor();
  await shot(page, '08-tecnico-accede');
  await loginAs(page, 'Mario Rossi');

  // --- 3) Ente, card "Interoperabilità", Collaudo.
  step = "il tecnico seleziona l'ente";
  await see(page, 'Comune di Prova');
  await shot(page, '09-tecnico-seleziona-ente');
  await page.getByRole('link', { name: 'Accedi a Comune di Prova' }).click();
  await see(page, 'I tuoi prodotti');
  await shot(page, '10-card-interoperabilita');

  step = 'card Interoperabilità → Collaudo';
  await page.getByTestId('card-interoperabilita').getByRole('link', { name: 'Gestisci' }).click();
  // One environment (Collaudo) only: SelfCare goes straight there.
  await page.waitForURL(/\/interop\/collaudo\/$/);
  await see(page, 'Benvenuto, Mario Rossi');
  const identity = await page.getByTestId('bo-identita').innerText();
  for (const expected of ['Comune di Prova', 'Amministratore', 'Collaudo']) {
    if (!identity.includes(expected)) throw new Error(`back office home lacks ${expected}: ${identity}`);
  }
  await shot(page, '11-collaudo-home');

  step = 'Produzione resta chiusa';
  await page.goBack();
  await page.goto(`${opts.base}/selfcare/enti`);
  await page.getByRole('link', { name: 'Accedi a Comune di Prova' }).click();
  const url = new URL(page.url());
  await page.goto(`${opts.base}${url.pathname}/interoperabilita?ambiente=produzione`);
  await see(page, "non puoi entrare nell'ambiente Produzione");
  await shot(page, '12-produzione-negata');
  await page.goto(`${opts.base}/interop/produzione/`);
  await see(page, "Per entrare accedi all'Area Riservata");
  if (await page.getByText('Benvenuto').count()) throw new Error('Produzione shows a logged-in home');

  // --- The Amministratore, with roles on all three, is asked where to go.
  step = "la scelta dell'ambiente";
  await page.goto(`${opts.base}/selfcare/enti`);
  await logout(page);
  await loginAs(page, 'Maria Bianchi');
  await page.getByRole('link', { name: 'Accedi a Comune di Prova' }).click();
  await page.getByTestId('card-interoperabilita').getByRole('link', { name: 'Gestisci' }).click();
  await see(page, 'In quale ambiente vuoi entrare?');
  await page.getByLabel('Ambiente di Collaudo').check({ force: true });
  await shot(page, '13-in-quale-ambiente');
  await page.getByRole('button', { name: 'Entra' }).click();
  await page.waitForURL(/\/interop\/collaudo\/$/);
  await see(page, 'Benvenuto, Maria Bianchi');
  console.log('WALK OK');
} catch (e) {
  console.error(`WALK FAILED at step «${step}»: ${e.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
