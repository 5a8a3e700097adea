// The seed document ("Configurare l'accesso ad Interoperabilità"), step by step,
// in headless Chromium against a running Varco with its demo world:
//   1) the Ente's Amministratore creates the technician's user with
//      "Interoperabilità Collaudo" / "Amministratore" ("Crea Utente");
//   2) the technician logs in;
//   3) picks the Ente, the card "Interoperabilità", Collaudo, and lands in the
//      Collaudo back office as Amministratore; Produzione stays closed;
// and then, as the technician, the journey's next steps in that back office
// (../../../shared/spec/journey.md, 4 and 5): Catalogo e-service, SEND - UAT,
// "Richiedi fruizione", "Inoltra richiesta" (attivo); Finalità inoltrate, "Crea
// nuovo", the risk analysis (live, as JavaScript redraws it), Riepilogo, "Pubblica"
// (attivo); a second finalità over SEND - UAT's per-consumer threshold waits for
// approval. Then "Gestione dei client": a client e-service with the technician as
// member, an RSA key made here (its kid checked against the RFC 7638 thumbprint),
// the finalità attached, "Simula l'ottenimento del voucher" read; outside the
// browser, ../independent/walk_voucher.py (PyJWT) builds the client assertion from
// what the simulator showed, gets the voucher and verifies it against the JWKS.
// After login it only clicks what the pages show.
// axe-core checks every page shown (lib/axe.mjs): any serious or critical
// violation fails the walk, with its rule, impact, targets and page.
// It does only what a person can: it reads what the page shows (headings, labels,
// notices, table cells; never hidden fields) and clicks what is shown, with
// Playwright's checks that an element is visible, enabled and not covered (no
// `force`; see lib/person.mjs). A screenshot of each step goes to --out. Any failed
// expectation throws, and the process exits non-zero with the step that failed.
//
// Then a client API Interoperabilità with the technician as member and as its
// "Admin API", a second key made here, its voucher from the simulator's values
// (PyJWT, no purposeId; role m2m-admin); and "Debug client assertion" given the
// e-service assertion PyJWT built: valid, every step "Riuscita".
//
// usage: node seed-walk.mjs --base http://127.0.0.1:PORT --out DIR --jwks-url URL --voucher-iss ISS --m2m-audience AUD
// (the JWKS, the voucher's issuer and the M2M API's audience of Collaudo: what a
// producer is told, not shown to the consumer in the pages). Before WALK OK come
// `VOUCHER {json}` and `API_VOUCHER {json}`: each voucher's header and claims, for
// the test to compare with the database.
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { launch, newPage } from './lib/browser.mjs';
import { Auditor } from './lib/axe.mjs';
import { heading, see, shownText, sidebar, tick } from './lib/person.mjs';
import * as walk from './lib/walk.mjs';
import { card, codeFor, definition, expect, logout, noticeShown, RISK, stateShown, thumbprint, voucherWithPyJwt } from './lib/walk.mjs';

const { values: opts } = parseArgs({
  options: {
    base: { type: 'string' },
    out: { type: 'string' },
    'jwks-url': { type: 'string' },
    'voucher-iss': { type: 'string' },
    'm2m-audience': { type: 'string' },
  },
});
if (!opts.base || !opts.out || !opts['jwks-url'] || !opts['voucher-iss'] || !opts['m2m-audience']) {
  console.error('usage: node seed-walk.mjs --base URL --out DIR --jwks-url URL --voucher-iss ISS --m2m-audience AUD');
  process.exit(2);
}
mkdirSync(opts.out, { recursive: true });

const TECH = { nome: 'Mario', cognome: 'Rossi', cf: 'RSSMRA80A01H501U', email: 'mario.rossi@partner.example' };
const TIMEOUT = 10_000;
const SEND = 'SEND - UAT (Piattaforma Notifiche)';
// SEND - UAT's threshold of daily calls per consumer (varco-platform's demo world).
const SEND_PER_CONSUMER = 1_000_000;
let step = 'start';
let auditor;

/** axe-core on the page as shown now (see lib/axe.mjs). */
async function audit(where) {
  await auditor.audit(where ?? step);
}

async function shot(page, name) {
  // Transitions finished first: a box just ticked is drawn ticked.
  await page.screenshot({ path: join(opts.out, `${name}.png`), fullPage: true, animations: 'disabled' });
  console.log(`screenshot ${name}.png`);
  await audit(name);
}

function loginAs(page, who) {
  return walk.loginAs(page, opts.base, who);
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

/** "Crea nuovo" on Finalità inoltrate for SEND - UAT, with its screenshot (or audit). */
function createPurpose(page, { title, description, calls, shotName }) {
  return walk.createPurpose(page, { eservice: SEND, title, description, calls }, () =>
    shotName ? shot(page, shotName) : audit(`Informazioni generali di «${title}»`),
  );
}

function fillRiskAnalysis(page, shotName) {
  return walk.fillRiskAnalysis(page, () => (shotName ? shot(page, shotName) : audit('Analisi del rischio')));
}

/** The Riepilogo of a draft: what was entered, and its actions. */
async function expectSummary(page, title, calls) {
  await heading(page, 'Riepilogo');
  const notice = await noticeShown(page);
  expect('the draft is said to be saved', notice === 'La bozza è stata salvata.', notice);
  const general = page.getByRole('region', { name: 'Informazioni generali' });
  const shown = {
    title: await definition(general, 'Nome della finalità'),
    eservice: await definition(general, 'E-service associato'),
    calls: await definition(page.getByRole('region', { name: 'Stima e soglie di chiamate API' }), 'Stima richiesta dal fruitore'),
  };
  expect(`the Riepilogo shows ${title} on ${SEND}, ${calls}`, shown.title === title && shown.eservice === SEND && shown.calls === calls, shown);
  const risk = page.getByRole('region', { name: 'Analisi del rischio' });
  const answers = {
    purpose: await definition(risk, "Finalità dell'accesso ai dati"),
    other: await definition(risk, 'Descrivi la finalità'),
    confidential: await definition(risk, 'Questi dati sono riservati o confidenziali?'),
  };
  expect(
    'the Riepilogo shows the answers given',
    answers.purpose === 'Altra finalità' && answers.other === RISK.otherText && answers.confidential === 'No',
    answers,
  );
  for (const action of ['Elimina bozza', 'Pubblica']) {
    await page.getByRole('button', { name: action, exact: true }).waitFor({ state: 'visible' });
  }
  await page.getByRole('link', { name: 'Modifica bozza', exact: true }).waitFor({ state: 'visible' });
}

const browser = await launch();
try {
  const page = await newPage(browser);
  page.setDefaultTimeout(TIMEOUT);
  auditor = new Auditor(page);

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
  await audit();
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

  // --- 4) The technician, in the Collaudo back office: a richiesta di fruizione for
  // SEND - UAT. First Maria leaves (the back office's "Esci", then SelfCare's) and
  // Mario comes back the way the seed says: Ente, card, Collaudo.
  step = 'il tecnico torna in Collaudo';
  await page.getByRole('button', { name: 'Esci' }).click();
  await heading(page, 'Interoperabilità – ambiente Collaudo');
  await see(page, "Per entrare accedi all'Area Riservata");
  await audit('back office dopo Esci');
  await page.getByRole('link', { name: 'Area Riservata', exact: true }).click();
  if (await page.getByRole('button', { name: 'Esci' }).count()) await logout(page);
  await heading(page, "Come vuoi accedere all'Area Riservata?");
  await loginAs(page, 'Mario Rossi');
  await page.getByRole('link', { name: 'Accedi a Comune di Prova' }).click();
  await heading(page, 'I tuoi prodotti');
  await card(page, 'Interoperabilità').getByRole('link', { name: 'Gestisci' }).click();
  await expectCollaudoHome(page, 'Mario Rossi', 'Comune di Prova');

  step = 'Catalogo e-service → Cerca per nome SEND';
  await sidebar(page, 'Catalogo e-service');
  await heading(page, 'Catalogo degli e-service');
  await audit('catalogo');
  await page.getByLabel('Cerca per nome', { exact: true }).fill('SEND');
  await page.getByRole('button', { name: 'Cerca', exact: true }).click();
  await page.waitForURL(/nome=SEND/);
  const found = page.getByRole('list').filter({ has: page.getByRole('heading', { name: SEND }) });
  const cardsShown = await page.locator('main article.card').count();
  const total = await shownText(page.getByRole('status').filter({ hasText: 'alla ricerca' }));
  expect('the search for SEND finds SEND - UAT alone', cardsShown === 1 && total === '1 e-service corrispondono alla ricerca', { cardsShown, total });
  const sendCard = page.locator('main article.card').filter({ has: page.getByRole('heading', { name: SEND, exact: true }) });
  const producer = await definition(sendCard, 'Erogatore');
  expect('the card says PagoPA S.p.A. publishes it', producer === 'PagoPA S.p.A.', producer);
  await found.waitFor({ state: 'visible' });
  await shot(page, '14-catalogo-cerca-send');

  step = 'la card SEND - UAT';
  await sendCard.getByRole('link', { name: SEND, exact: true }).click();
  await heading(page, SEND);
  const audience = await shownText(page.locator('main code').filter({ hasText: 'api.uat.notifichedigitali.it' }).first());
  expect('the e-service shows its audience, literal', audience === 'https://api.uat.notifichedigitali.it', audience);
  const perConsumer = await definition(page.locator('main'), 'Soglia chiamate giornaliere per fruitore');
  expect(
    `the e-service shows its per-consumer threshold, ${SEND_PER_CONSUMER.toLocaleString('it-IT')}`,
    perConsumer.startsWith(SEND_PER_CONSUMER.toLocaleString('it-IT')),
    perConsumer,
  );
  const approval = await definition(page.locator('main'), 'Approvazione delle richieste');
  expect('the approval is automatic', approval.startsWith('Automatica'), approval);
  await shot(page, '15-eservice-send-uat');

  step = 'Richiedi fruizione';
  await page.getByRole('button', { name: 'Richiedi fruizione', exact: true }).click();
  await heading(page, 'Gestisci richiesta di fruizione');
  let done = await noticeShown(page);
  expect('the draft is said to be created', done.startsWith('Bozza della richiesta creata'), done);
  await page.getByLabel("Messaggio per l'erogatore", { exact: true }).fill('Richiesta per il collaudo di SEND');
  await shot(page, '16-richiesta-bozza');

  step = 'Inoltra richiesta';
  await page.getByRole('button', { name: 'Inoltra richiesta', exact: true }).click();
  await heading(page, 'Gestisci richiesta di fruizione');
  done = await noticeShown(page);
  expect('the request is said to be sent', done.startsWith('Richiesta inoltrata.'), done);
  let state = await stateShown(page);
  expect('the request is attivo (automatic approval)', state === 'attivo', state);
  await see(page, 'Richiesta per il collaudo di SEND');
  await shot(page, '17-richiesta-attiva');

  // --- 5) A finalità on SEND - UAT: Informazioni generali, the risk analysis, Riepilogo, Pubblica.
  step = 'Finalità inoltrate → Crea nuovo';
  await sidebar(page, 'Finalità inoltrate');
  await heading(page, 'Le mie finalità inoltrate');
  await see(page, "L'ente non ha ancora finalità.");
  await audit('finalità inoltrate, vuota');
  await createPurpose(page, {
    title: 'Notifiche ai cittadini',
    description: 'Invio di notifiche digitali a valore legale ai cittadini del Comune',
    calls: '1000',
    shotName: '18-finalita-informazioni-generali',
  });

  step = 'Analisi del rischio';
  await fillRiskAnalysis(page, '19-analisi-del-rischio');

  step = 'Vai al riepilogo';
  await page.getByRole('button', { name: 'Vai al riepilogo', exact: true }).click();
  await expectSummary(page, 'Notifiche ai cittadini', '1.000 chiamate API/giorno');
  if (await page.getByRole('note').filter({ hasText: 'in attesa di approvazione' }).count()) {
    throw new Error('the Riepilogo of 1.000 calls a day says it would wait for approval');
  }
  await shot(page, '20-riepilogo');

  step = 'Pubblica';
  await page.getByRole('button', { name: 'Pubblica', exact: true }).click();
  await heading(page, 'Notifiche ai cittadini');
  state = await stateShown(page);
  expect('the finalità is Attivo', state === 'Attivo', state);
  done = await noticeShown(page);
  expect('the page says it is published and active', done === 'La finalità è stata pubblicata ed è attiva.', done);
  await shot(page, '21-finalita-attiva');

  // --- A second finalità over SEND - UAT's threshold per consumer: it waits for PagoPA.
  const over = SEND_PER_CONSUMER + 200_000;
  const overShown = over.toLocaleString('it-IT');
  step = `seconda finalità, ${overShown} chiamate/giorno`;
  await sidebar(page, 'Finalità inoltrate');
  await heading(page, 'Le mie finalità inoltrate');
  await createPurpose(page, {
    title: 'Notifiche massive di prova',
    description: 'Invio massivo di notifiche di prova per il collaudo del Comune',
    calls: String(over),
  });
  await fillRiskAnalysis(page);
  await page.getByRole('button', { name: 'Vai al riepilogo', exact: true }).click();
  await expectSummary(page, 'Notifiche massive di prova', `${overShown} chiamate API/giorno`);
  const overNote = await shownText(page.getByRole('note').filter({ hasText: 'in attesa di approvazione' }));
  expect(
    'the Riepilogo says the estimate passes the threshold and will wait',
    overNote.includes(`supera la soglia per fruitore di ${SEND_PER_CONSUMER.toLocaleString('it-IT')}`) &&
      overNote.includes('Pubblicandola, la finalità sarà in attesa di approvazione.'),
    overNote,
  );
  await shot(page, '22-riepilogo-oltre-soglia');

  step = 'Pubblica oltre soglia';
  await page.getByRole('button', { name: 'Pubblica', exact: true }).click();
  await heading(page, 'Notifiche massive di prova');
  state = await stateShown(page);
  expect('the finalità is In attesa di approvazione', state === 'In attesa di approvazione', state);
  const why = await shownText(page.getByRole('note').filter({ hasText: 'Perché:' }));
  expect('the page says why it waits', why.includes("in attesa di approvazione") && why.includes(`${overShown} chiamate API/giorno`), why);
  await shot(page, '23-finalita-in-attesa');

  step = 'Finalità inoltrate: le due finalità';
  await sidebar(page, 'Finalità inoltrate');
  await heading(page, 'Le mie finalità inoltrate');
  const rows = {};
  for (const title of ['Notifiche ai cittadini', 'Notifiche massive di prova']) {
    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: title, exact: true }) });
    rows[title] = (await row.getByRole('cell').allInnerTexts()).map((c) => c.trim()).join(' | ');
  }
  expect(
    'the list shows the first Attivo and the second In attesa di approvazione',
    rows['Notifiche ai cittadini'].includes('Attivo') &&
      rows['Notifiche massive di prova'].includes('In attesa di approvazione') &&
      rows['Notifiche massive di prova'].includes(overShown),
    rows,
  );
  await shot(page, '24-finalita-inoltrate');

  // --- 6) Gestione dei client: a client e-service for the finalità, with a key made here.
  step = 'API e-service → Crea nuovo';
  await sidebar(page, 'API e-service');
  await heading(page, 'I miei client API e-service');
  await audit('client API e-service');
  await page.getByRole('link', { name: 'Crea nuovo', exact: true }).click();
  await heading(page, 'Crea nuovo client');
  const CLIENT = { name: 'Client SEND del Comune', description: 'Ottiene i voucher per le notifiche del Comune su SEND - UAT' };
  await page.getByLabel('Nome del client (richiesto)', { exact: true }).fill(CLIENT.name);
  await page.getByLabel('Descrizione del client (richiesto)', { exact: true }).fill(CLIENT.description);
  await tick(page, `${TECH.nome} ${TECH.cognome} (tu)`);
  await shot(page, '25-crea-client');

  step = 'Crea client';
  await page.getByRole('button', { name: 'Crea', exact: true }).click();
  await heading(page, CLIENT.name);
  done = await noticeShown(page);
  expect('the client is said to be created', done === 'Client creato.', done);
  await see(page, CLIENT.description);
  const members = await shownText(page.locator('main [data-testid="membri"]'));
  expect(`${TECH.nome} ${TECH.cognome} is the client's member`, members.includes(`${TECH.nome} ${TECH.cognome}`), members);
  const clientIdOnPage = await codeFor(page.locator('main'), 'ID del client (clientId)');
  await shot(page, '26-client-creato');

  step = 'Chiavi pubbliche → Aggiungi';
  await page.getByRole('link', { name: 'Chiavi pubbliche', exact: true }).click();
  await heading(page, 'Chiavi pubbliche');
  await see(page, 'Il client non ha chiavi pubbliche.');
  await audit('chiavi pubbliche, vuota');
  await page.getByRole('link', { name: 'Aggiungi', exact: true }).click();
  await heading(page, 'Inserisci nuova chiave pubblica');
  // The key pair, made here as a technician makes it (openssl genrsa): the private
  // key stays in this process, the public one (SPKI PEM) is pasted.
  const pair = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const expectedKid = thumbprint(pair.publicKey);
  await page.getByLabel('Nome della chiave (richiesto)', { exact: true }).fill('Chiave del collaudo');
  await page.getByLabel('Chiave pubblica (richiesto)', { exact: true }).fill(pair.publicKey);
  await shot(page, '27-chiave-nuova');

  step = 'Inserisci la chiave';
  await page.getByRole('button', { name: 'Inserisci', exact: true }).click();
  await heading(page, 'Chiave del collaudo');
  done = await noticeShown(page);
  expect('the key is said to be uploaded', done.startsWith('Chiave pubblica caricata'), done);
  const kidShown = await codeFor(page.locator('main'), 'ID della chiave (kid)');
  expect(`the kid shown is the key's RFC 7638 thumbprint ${expectedKid}`, kidShown === expectedKid, kidShown);
  const keyClient = await codeFor(page.locator('main'), 'ID del client (clientId)');
  expect('the key page names the client', keyClient === clientIdOnPage, keyClient);
  await shot(page, '28-chiave-caricata');

  step = 'Finalità → associa Notifiche ai cittadini';
  await page.getByRole('navigation', { name: 'Percorso' }).getByRole('link', { name: CLIENT.name, exact: true }).click();
  await heading(page, CLIENT.name);
  await audit('client, membri');
  await page.getByRole('link', { name: 'Finalità', exact: true }).click();
  await heading(page, 'Finalità');
  await see(page, 'Il client non è associato ad alcuna finalità.');
  await page.getByLabel('Associa una finalità attiva', { exact: true }).selectOption({ label: 'Notifiche ai cittadini' });
  await audit('client, finalità da associare');
  await page.getByRole('button', { name: 'Aggiungi', exact: true }).click();
  await heading(page, CLIENT.name);
  done = await noticeShown(page);
  expect('the finalità is said to be attached', done === 'Finalità associata al client.', done);
  const attached = await shownText(page.locator('main [data-testid="finalita"]'));
  expect('the client shows Notifiche ai cittadini on SEND - UAT', attached.includes('Notifiche ai cittadini') && attached.includes('SEND'), attached);
  await shot(page, '29-client-finalita');

  // --- 7) "Simula l'ottenimento del voucher": what to put in the assertion, read.
  step = "Simula l'ottenimento del voucher";
  await page.getByRole('link', { name: "Simula l'ottenimento del voucher", exact: true }).click();
  await heading(page, "Simula l'ottenimento del voucher");
  await heading(page, 'Selezione parametri');
  const params = page.locator('main [data-testid="parametri"]');
  const sim = { clientId: await codeFor(params, 'clientId'), purposeId: await codeFor(params, 'purposeId') };
  expect('the simulator has the client chosen', sim.clientId === clientIdOnPage, sim);
  const chosen = {
    purpose: await page.getByLabel('Finalità', { exact: true }).locator('option:checked').innerText(),
    key: await page.getByLabel('Chiave pubblica', { exact: true }).locator('option:checked').innerText(),
  };
  expect('the simulator has the finalità and the key chosen', chosen.purpose.trim() === 'Notifiche ai cittadini' && chosen.key.includes(kidShown), chosen);
  expect('nothing blocks the voucher', (await page.locator('main [data-testid="bloccanti"]').count()) === 0, 'bloccanti shown');
  await shot(page, '30-simulatore-parametri');

  step = 'Simulatore: Genera client assertion';
  await page.getByRole('link', { name: 'Avanti', exact: true }).click();
  await heading(page, 'Genera client assertion');
  const stepOne = page.locator('main [data-testid="passo-1"]');
  sim.kid = await codeFor(stepOne, 'KID');
  sim.aud = await codeFor(stepOne, 'AUD');
  const iss = await codeFor(stepOne, 'ISS');
  const sub = await codeFor(stepOne, 'SUB');
  const purposeInAssertion = await codeFor(stepOne, 'PurposeId');
  expect(
    'the assertion shown: kid of the key, iss = sub = clientId, the purposeId',
    sim.kid === kidShown && iss === sim.clientId && sub === sim.clientId && purposeInAssertion === sim.purposeId && (await codeFor(stepOne, 'ALG')) === 'RS256',
    { ...sim, iss, sub, purposeInAssertion },
  );
  await shot(page, '31-simulatore-assertion');

  step = 'Simulatore: Ottieni token di accesso';
  await page.getByRole('link', { name: 'Avanti', exact: true }).click();
  await heading(page, 'Ottieni token di accesso');
  const stepTwo = page.locator('main [data-testid="passo-2"]');
  sim.tokenUrl = await codeFor(stepTwo, 'Token endpoint');
  const bodyClient = await codeFor(stepTwo, 'client_id');
  expect('the request body names the client', bodyClient === sim.clientId, bodyClient);
  expect('the token endpoint is a URL', /^https?:\/\/[^ ]+$/.test(sim.tokenUrl), sim.tokenUrl);
  await shot(page, '32-simulatore-token');

  // --- 8) Outside the browser, with PyJWT: the assertion from what was read, the voucher verified.
  step = 'il voucher con PyJWT';
  const pyClock = Date.now();
  const voucher = voucherWithPyJwt(
    {
      'token-url': sim.tokenUrl,
      kid: sim.kid,
      'client-id': sim.clientId,
      aud: sim.aud,
      'purpose-id': sim.purposeId,
      'jwks-url': opts['jwks-url'],
      'expect-iss': opts['voucher-iss'],
      'expect-aud': audience,
    },
    pair.privateKey,
  );
  expect('PyJWT verified the voucher', voucher.ok === true && voucher.claims.purposeId === sim.purposeId, voucher);
  console.log(`voucher: PyJWT assertion, token endpoint and JWKS check in ${Date.now() - pyClock} ms`);
  console.log(`VOUCHER ${JSON.stringify({ kid: sim.kid, clientId: sim.clientId, purposeId: sim.purposeId, tokenUrl: sim.tokenUrl, assertionAud: sim.aud, voucher })}`);

  // --- 9) A client API Interoperabilità, Mario its member and its "Admin API".
  step = 'API Interoperabilità → Crea nuovo';
  await sidebar(page, 'API Interoperabilità');
  await heading(page, 'I miei client API Interoperabilità');
  await audit('client API Interoperabilità');
  await page.getByRole('link', { name: 'Crea nuovo', exact: true }).click();
  await heading(page, 'Crea nuovo client');
  const API = { name: 'Gestionale del Comune', description: 'Chiama le API di Interoperabilità dal gestionale del Comune' };
  await page.getByLabel('Nome del client (richiesto)', { exact: true }).fill(API.name);
  await page.getByLabel('Descrizione del client (richiesto)', { exact: true }).fill(API.description);
  await tick(page, `${TECH.nome} ${TECH.cognome} (tu)`);
  await shot(page, '33-crea-client-api');

  step = 'Crea client API';
  await page.getByRole('button', { name: 'Crea', exact: true }).click();
  await heading(page, API.name);
  done = await noticeShown(page);
  expect('the API client is said to be created', done === 'Client creato.', done);
  await see(page, API.description);
  const apiMembers = await shownText(page.locator('main [data-testid="membri"]'));
  expect(`${TECH.nome} ${TECH.cognome} is the API client's member`, apiMembers.includes(`${TECH.nome} ${TECH.cognome}`), apiMembers);
  const apiClientId = await codeFor(page.locator('main'), 'ID del client (clientId)');
  expect('the API client is another client', apiClientId !== clientIdOnPage, apiClientId);
  await shot(page, '34-client-api-creato');

  step = 'client API: Chiavi pubbliche → Aggiungi';
  await page.getByRole('link', { name: 'Chiavi pubbliche', exact: true }).click();
  await heading(page, 'Chiavi pubbliche');
  await see(page, 'Il client non ha chiavi pubbliche.');
  await audit('client API, chiavi pubbliche, vuota');
  await page.getByRole('link', { name: 'Aggiungi', exact: true }).click();
  await heading(page, 'Inserisci nuova chiave pubblica');
  const apiPair = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const apiExpectedKid = thumbprint(apiPair.publicKey);
  await page.getByLabel('Nome della chiave (richiesto)', { exact: true }).fill('Chiave del gestionale');
  await page.getByLabel('Chiave pubblica (richiesto)', { exact: true }).fill(apiPair.publicKey);
  await audit('client API, chiave nuova');
  await page.getByRole('button', { name: 'Inserisci', exact: true }).click();
  await heading(page, 'Chiave del gestionale');
  done = await noticeShown(page);
  expect('the API key is said to be uploaded', done.startsWith('Chiave pubblica caricata'), done);
  const apiKid = await codeFor(page.locator('main'), 'ID della chiave (kid)');
  expect(`the API key's kid is its RFC 7638 thumbprint ${apiExpectedKid}`, apiKid === apiExpectedKid, apiKid);
  expect('the API key page names the API client', (await codeFor(page.locator('main'), 'ID del client (clientId)')) === apiClientId, apiClientId);
  await shot(page, '35-chiave-client-api');

  step = 'client API: Admin API → Seleziona admin';
  await page.getByRole('navigation', { name: 'Percorso' }).getByRole('link', { name: API.name, exact: true }).click();
  await heading(page, API.name);
  await audit('client API, membri');
  await page.getByRole('link', { name: 'Admin API', exact: true }).click();
  await heading(page, 'Admin API');
  let adminShown = await shownText(page.locator('main [data-testid="admin"]'));
  expect('the API client has no admin yet', adminShown === 'Il client non ha un admin.', adminShown);
  await page.getByLabel('Seleziona admin', { exact: true }).selectOption({ label: `${TECH.nome} ${TECH.cognome}` });
  await audit('client API, admin da scegliere');
  await page.getByRole('button', { name: 'Seleziona admin', exact: true }).click();
  await heading(page, API.name);
  done = await noticeShown(page);
  expect('the admin is said to be set', done.startsWith('Admin API impostato'), done);
  adminShown = await shownText(page.locator('main [data-testid="admin"]'));
  expect(`${TECH.nome} ${TECH.cognome} is the API client's admin`, adminShown.startsWith(`Admin: ${TECH.nome} ${TECH.cognome}`), adminShown);
  await shot(page, '36-client-api-admin');

  step = "client API: Simula l'ottenimento del voucher";
  await page.getByRole('link', { name: "Simula l'ottenimento del voucher", exact: true }).click();
  await heading(page, "Simula l'ottenimento del voucher");
  await heading(page, 'Selezione parametri');
  const apiParams = page.locator('main [data-testid="parametri"]');
  const apiSim = { clientId: await codeFor(apiParams, 'clientId') };
  expect('the simulator has the API client chosen', apiSim.clientId === apiClientId, apiSim);
  const apiChosen = {
    client: await page.getByLabel('Client da utilizzare', { exact: true }).locator('option:checked').innerText(),
    key: await page.getByLabel('Chiave pubblica', { exact: true }).locator('option:checked').innerText(),
  };
  expect(
    'the simulator has the API client and its key chosen',
    apiChosen.client.trim() === `${API.name} (client API Interoperabilità)` && apiChosen.key.includes(apiKid),
    apiChosen,
  );
  expect('no finalità for an API client', (await apiParams.locator('dt:text-is("purposeId")').count()) === 0, 'purposeId shown');
  expect('nothing blocks the API voucher', (await page.locator('main [data-testid="bloccanti"]').count()) === 0, 'bloccanti shown');
  await shot(page, '37-simulatore-api-parametri');

  step = 'Simulatore API: Genera client assertion';
  await page.getByRole('link', { name: 'Avanti', exact: true }).click();
  await heading(page, 'Genera client assertion');
  const apiStepOne = page.locator('main [data-testid="passo-1"]');
  apiSim.kid = await codeFor(apiStepOne, 'KID');
  apiSim.aud = await codeFor(apiStepOne, 'AUD');
  const apiIss = await codeFor(apiStepOne, 'ISS');
  const apiSub = await codeFor(apiStepOne, 'SUB');
  expect(
    'the API assertion shown: kid of the key, iss = sub = clientId, no purposeId',
    apiSim.kid === apiKid && apiIss === apiSim.clientId && apiSub === apiSim.clientId && apiSim.aud === sim.aud &&
      (await apiStepOne.locator('dt:text-is("PurposeId")').count()) === 0,
    { ...apiSim, apiIss, apiSub },
  );
  await audit('simulatore API, assertion');
  await page.getByRole('link', { name: 'Avanti', exact: true }).click();
  await heading(page, 'Ottieni token di accesso');
  const apiStepTwo = page.locator('main [data-testid="passo-2"]');
  apiSim.tokenUrl = await codeFor(apiStepTwo, 'Token endpoint');
  expect('the API request body names the API client', (await codeFor(apiStepTwo, 'client_id')) === apiSim.clientId, apiSim);
  expect('the API token endpoint is the same', apiSim.tokenUrl === sim.tokenUrl, apiSim);
  await shot(page, '38-simulatore-api-token');

  step = 'il voucher API con PyJWT';
  const apiClock = Date.now();
  const apiVoucher = voucherWithPyJwt(
    {
      'token-url': apiSim.tokenUrl,
      kid: apiSim.kid,
      'client-id': apiSim.clientId,
      aud: apiSim.aud,
      'jwks-url': opts['jwks-url'],
      'expect-iss': opts['voucher-iss'],
      'expect-aud': opts['m2m-audience'],
      'expect-role': 'm2m-admin',
    },
    apiPair.privateKey,
  );
  expect(
    'PyJWT verified the API voucher: M2M audience, m2m-admin, an adminId, no purposeId',
    apiVoucher.ok === true && apiVoucher.claims.role === 'm2m-admin' && typeof apiVoucher.claims.adminId === 'string' &&
      !('purposeId' in apiVoucher.claims),
    apiVoucher,
  );
  console.log(`API voucher: PyJWT assertion, token endpoint and JWKS check in ${Date.now() - apiClock} ms`);
  console.log(`API_VOUCHER ${JSON.stringify({ kid: apiSim.kid, clientId: apiSim.clientId, tokenUrl: apiSim.tokenUrl, assertionAud: apiSim.aud, voucher: apiVoucher })}`);

  // --- 10) "Debug client assertion" with the e-service assertion PyJWT built.
  step = 'Tool per lo sviluppo → Debug client assertion';
  await sidebar(page, 'Tool per lo sviluppo');
  await heading(page, 'Tool per lo sviluppo');
  await audit('tool per lo sviluppo');
  await page.getByRole('region', { name: 'Debug client assertion' }).getByRole('link', { name: 'Effettua il debug', exact: true }).click();
  await heading(page, 'Debug client assertion');
  await page.getByLabel('Client assertion (richiesto)', { exact: true }).fill(voucher.assertion);
  await shot(page, '39-debug-assertion');

  step = 'Debug client assertion: Effettua il debug';
  await page.getByRole('button', { name: 'Effettua il debug', exact: true }).click();
  await heading(page, 'Esito della tua richiesta');
  done = await noticeShown(page);
  expect('the debug says the request is valid, for SEND - UAT', done.startsWith('Questa richiesta è valida') && done.includes('SEND - UAT'), done);
  const debugSteps = page.locator('main [data-testid="esito-debug"] [data-testid="esito-passo"]');
  const outcomes = [];
  for (const s of await debugSteps.all()) outcomes.push(await shownText(s));
  expect('every step of the debug is «Riuscita»', outcomes.length >= 4 && outcomes.every((o) => o === 'Riuscita'), outcomes);
  await shot(page, '40-debug-esito');
  console.log(`debug: ${outcomes.length} steps, all Riuscita`);

  step = 'ogni pagina controllata da axe';
  // The hand-over to a back office submits itself at once (no one sees it); the
  // JavaScript-less walk (nojs-risk.mjs) audits it with its "Continua" button.
  const missed = auditor.unaudited().filter((u) => !/\/selfcare\/enti\/[^/]+\/interoperabilita(\?|$)/.test(new URL(u).pathname + new URL(u).search));
  expect('axe ran on every page the walk was shown', missed.length === 0, missed);
  auditor.assertClean();
  console.log(`axe: ${auditor.audited} pages audited, none with serious or critical violations`);
  console.log('WALK OK');
} catch (e) {
  console.error(`WALK FAILED at step «${step}»: ${e.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
