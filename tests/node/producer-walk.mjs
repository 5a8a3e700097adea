// The producer's side of a voucher, in headless Chromium against a running Varco
// with its demo world, by clicking what the pages show:
//   1) Laura Bianchi (PagoPA S.p.A.) in Collaudo: "I miei e-service" lists SEND - UAT;
//      "Crea nuovo" in its steps: Informazioni generali, Soglie e attributi (manual
//      approval, a low threshold per consumer, a group of one verified attribute),
//      Specifiche tecniche (audience, server, an OpenAPI file chosen from disk),
//      Riepilogo, "Pubblica";
//   2) Mario Rossi (Comune di Prova) requests it: in attesa di approvazione;
//   3) Laura refuses it with a reason; Mario sees the reason, duplicates the
//      request and sends it again;
//   4) Laura verifies the attribute for Comune di Prova and activates the request;
//   5) Mario's finalità over the threshold waits for approval; Laura approves it,
//      with the load against the thresholds shown;
//   6) Mario's client e-service, a key made here, the finalità attached, the
//      simulator read; outside the browser, ../independent/walk_voucher.py (PyJWT)
//      gets the voucher and verifies it against the JWKS.
// Two browser contexts, one a person. axe-core checks every page shown; a serious
// or critical violation fails the walk. A screenshot of each step goes to --out.
//
// usage: node producer-walk.mjs --base URL --out DIR --jwks-url URL --voucher-iss ISS --attribute NAME
//   --client-assertion-aud AUD
// (NAME: the demo world's verified attribute; AUD: Collaudo's client-assertion
// audience, the platform's own, which the walk first tries as the e-service's). Before WALK OK comes `VOUCHER {json}`.
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Auditor } from './lib/axe.mjs';
import { launch, newPage } from './lib/browser.mjs';
import { heading, see, shownText, sidebar, tick } from './lib/person.mjs';
import * as walk from './lib/walk.mjs';
import { card, codeFor, expect, noticeShown, stateShown, thumbprint, voucherWithPyJwt } from './lib/walk.mjs';

const { values: opts } = parseArgs({
  options: {
    base: { type: 'string' },
    out: { type: 'string' },
    'jwks-url': { type: 'string' },
    'voucher-iss': { type: 'string' },
    attribute: { type: 'string' },
    'client-assertion-aud': { type: 'string' },
  },
});
if (!opts.base || !opts.out || !opts['jwks-url'] || !opts['voucher-iss'] || !opts.attribute || !opts['client-assertion-aud']) {
  console.error('usage: node producer-walk.mjs --base URL --out DIR --jwks-url URL --voucher-iss ISS --attribute NAME --client-assertion-aud AUD');
  process.exit(2);
}
mkdirSync(opts.out, { recursive: true });

const TIMEOUT = 10_000;
const ES = {
  name: 'Anagrafe dei residenti',
  description: "Consultazione dell'anagrafe dei residenti per gli enti abilitati",
  audience: 'https://api.anagrafe.collaudo.example/residenti',
  server: 'https://api.anagrafe.collaudo.example/residenti/v1',
  perConsumer: '100',
  total: '1000',
};
const REASON = "Manca l'indicazione dell'ufficio che userà i dati: indicalo nel messaggio.";
const NOTE = "Richiesta dell'Ufficio Anagrafe del Comune di Prova";
const OPENAPI = JSON.stringify({
  openapi: '3.0.3',
  info: { title: ES.name, version: '1.0.0' },
  paths: { '/residenti/{id}': { get: { responses: { 200: { description: 'Il residente' } } } } },
});
let step = 'start';
const auditors = [];

async function shot(page, name) {
  await page.screenshot({ path: join(opts.out, `${name}.png`), fullPage: true, animations: 'disabled' });
  console.log(`screenshot ${name}.png`);
  await page.auditor.audit(name);
}

async function audit(page, where) {
  await page.auditor.audit(where ?? step);
}

/** A person's own browser (a context of their own), with its axe auditor. */
async function person(browser) {
  const page = await newPage(browser);
  page.setDefaultTimeout(TIMEOUT);
  page.auditor = new Auditor(page);
  auditors.push(page.auditor);
  return page;
}

/** SelfCare: `who` picks `ente`, the card "Interoperabilità" and (if asked) Collaudo. */
async function enterCollaudo(page, who, ente) {
  await page.goto(`${opts.base}/selfcare/login`);
  await audit(page, 'accesso');
  await walk.loginAs(page, opts.base, who);
  await audit(page, 'seleziona il tuo ente');
  await page.getByRole('link', { name: `Accedi a ${ente}` }).click();
  await heading(page, 'I tuoi prodotti');
  await card(page, 'Interoperabilità').getByRole('link', { name: 'Gestisci' }).click();
  const choice = page.getByRole('group', { name: 'In quale ambiente vuoi entrare?' });
  await Promise.race([choice.waitFor({ state: 'visible' }), page.waitForURL(/\/interop\/collaudo\/$/)]);
  if (await choice.isVisible()) {
    await tick(page, 'Ambiente di Collaudo');
    await page.getByRole('button', { name: 'Entra' }).click();
  }
  await page.waitForURL(/\/interop\/collaudo\/$/);
  await heading(page, 'Interoperabilità – ambiente Collaudo');
}

/** The row of a table that shows all of `texts`; its link is clicked. */
async function openRow(page, texts) {
  let row = page.getByRole('row');
  for (const t of texts) row = row.filter({ hasText: t });
  await row.first().getByRole('link').first().click();
}

const browser = await launch();
try {
  const laura = await person(browser);
  const mario = await person(browser);
  const fileDir = join(opts.out, '..', `${opts.out.split('/').pop()}-file`);
  mkdirSync(fileDir, { recursive: true });
  const openapiPath = join(fileDir, 'anagrafe-openapi.json');
  writeFileSync(openapiPath, OPENAPI);

  // --- 1) The producer publishes an e-service.
  step = 'Laura Bianchi entra in Collaudo per PagoPA S.p.A.';
  await enterCollaudo(laura, 'Laura Bianchi', 'PagoPA S.p.A.');
  await audit(laura, 'home del produttore');

  step = 'I miei e-service';
  await sidebar(laura, 'I miei e-service');
  await heading(laura, 'I miei e-service');
  await see(laura, 'SEND - UAT (Piattaforma Notifiche)');
  await shot(laura, '01-i-miei-eservice');

  step = 'Crea nuovo: Informazioni generali';
  await laura.getByRole('link', { name: 'Crea nuovo', exact: true }).click();
  await heading(laura, 'Crea e-service');
  await heading(laura, 'Informazioni generali');
  await laura.getByLabel("Nome dell'e-service*", { exact: true }).fill(ES.name);
  await laura.getByLabel("Descrizione dell'e-service*", { exact: true }).fill(ES.description);
  await tick(laura, 'REST');
  await shot(laura, '02-informazioni-generali');
  await laura.getByRole('button', { name: 'Salva bozza e prosegui', exact: true }).click();

  step = 'Soglie e attributi';
  await heading(laura, 'Soglie e attributi');
  await laura.getByLabel('Durata del voucher (minuti)*', { exact: true }).fill('10');
  await laura.getByLabel('Soglia chiamate API/giorno per fruitore*', { exact: true }).fill(ES.perConsumer);
  await laura.getByLabel('Soglia chiamate API/giorno totali*', { exact: true }).fill(ES.total);
  await tick(laura, 'Manuale');
  await laura
    .getByLabel('Attributo del nuovo gruppo (Attributi verificati)', { exact: true })
    .selectOption({ label: opts.attribute });
  await laura.getByRole('button', { name: 'Aggiungi gruppo di attributi verificati', exact: true }).click();
  await heading(laura, 'Soglie e attributi');
  const group = await shownText(laura.locator('main [data-testid="gruppo-verificati"]'));
  expect('the group of verified attributes holds the attribute chosen', group.includes(opts.attribute), group);
  expect('the thresholds typed are kept', (await laura.getByLabel('Soglia chiamate API/giorno per fruitore*', { exact: true }).inputValue()) === ES.perConsumer, 'changed');
  expect('«Manuale» is kept', await laura.getByLabel('Manuale', { exact: true }).isChecked(), 'not ticked');
  await shot(laura, '03-soglie-e-attributi');
  await laura.getByRole('button', { name: 'Salva bozza e prosegui', exact: true }).click();

  step = 'Specifiche tecniche';
  await heading(laura, 'Specifiche tecniche');
  // First the platform's own audience (the token endpoint's): nobody's to take,
  // and the field says why.
  await laura.getByLabel('Audience*', { exact: true }).fill(opts['client-assertion-aud']);
  await laura.getByLabel('Indirizzi del server', { exact: true }).fill(ES.server);
  const fileField = "File dell'interfaccia (OpenAPI 3, JSON o YAML)*";
  await laura.getByLabel(fileField, { exact: true }).setInputFiles(openapiPath);
  await laura.getByRole('button', { name: 'Salva bozza e vai al riepilogo', exact: true }).click();
  await heading(laura, 'Controlla i dati inseriti');
  const why = await shownText(laura.locator('main [data-testid="errore-audience"]'));
  expect('the audience field says the platform keeps it', why.length > 10 && why.includes('piattaforma'), why);
  await audit(laura, 'audience rifiutata');
  await laura.getByLabel('Audience*', { exact: true }).fill(ES.audience);
  await laura.getByLabel(fileField, { exact: true }).setInputFiles(openapiPath);
  await shot(laura, '04-specifiche-tecniche');
  await laura.getByRole('button', { name: 'Salva bozza e vai al riepilogo', exact: true }).click();

  step = 'Riepilogo → Pubblica';
  await heading(laura, 'Riepilogo');
  await see(laura, ES.audience);
  await see(laura, 'OpenAPI 3.0.3 «Anagrafe dei residenti» 1.0.0, 1 percorso');
  await shot(laura, '05-riepilogo');
  await laura.getByRole('button', { name: 'Pubblica', exact: true }).click();
  await heading(laura, ES.name);
  let done = await noticeShown(laura);
  expect('the version is said to be published', done.startsWith('Versione pubblicata'), done);
  let state = await stateShown(laura);
  expect('the version is pubblicata', state === 'pubblicata', state);
  await shot(laura, '06-eservice-pubblicato');

  // --- 2) A consumer's technician requests it.
  step = 'Mario Rossi richiede la fruizione';
  await enterCollaudo(mario, 'Mario Rossi', 'Comune di Prova');
  await sidebar(mario, 'Catalogo e-service');
  await heading(mario, 'Catalogo degli e-service');
  await mario.getByLabel('Cerca per nome', { exact: true }).fill('Anagrafe');
  await mario.getByRole('button', { name: 'Cerca', exact: true }).click();
  await mario.getByRole('link', { name: ES.name, exact: true }).click();
  await heading(mario, ES.name);
  await see(mario, "Scarica l'interfaccia");
  const approval = await walk.definition(mario.locator('main'), 'Approvazione delle richieste');
  expect('the catalogue says the approval is manual', approval.startsWith('Manuale'), approval);
  await shot(mario, '07-catalogo-eservice');
  await mario.getByRole('button', { name: 'Richiedi fruizione', exact: true }).click();
  await heading(mario, 'Gestisci richiesta di fruizione');
  await mario.getByRole('button', { name: 'Inoltra richiesta', exact: true }).click();
  await heading(mario, 'Gestisci richiesta di fruizione');
  state = await stateShown(mario);
  expect('the request waits for the producer', state === 'in attesa di approvazione', state);
  await shot(mario, '08-richiesta-in-attesa');

  // --- 3) The producer refuses it, with a reason.
  step = 'Richieste ricevute → Rifiuta';
  await sidebar(laura, 'Richieste ricevute');
  await heading(laura, 'Richieste di fruizione ricevute');
  await openRow(laura, [ES.name, 'Comune di Prova', 'in attesa di approvazione']);
  await see(laura, opts.attribute);
  await shot(laura, '09-richiesta-ricevuta');
  await laura.getByLabel('Motivo del rifiuto', { exact: false }).fill(REASON);
  await laura.getByRole('button', { name: 'Rifiuta', exact: true }).click();
  await laura.waitForLoadState();
  done = await noticeShown(laura);
  expect('the request is said to be refused', done.toLowerCase().includes('rifiutata'), done);
  state = await stateShown(laura);
  expect('the request is rifiutato', state === 'rifiutato', state);
  await shot(laura, '10-richiesta-rifiutata');

  step = 'Mario vede il motivo, duplica e inoltra di nuovo';
  await sidebar(mario, 'Richieste inoltrate');
  await heading(mario, 'Richieste di fruizione inoltrate');
  await openRow(mario, [ES.name, 'rifiutato']);
  await heading(mario, 'Gestisci richiesta di fruizione');
  await see(mario, REASON);
  await shot(mario, '11-motivo-del-rifiuto');
  await mario.getByRole('button', { name: 'Duplica', exact: true }).click();
  await heading(mario, 'Gestisci richiesta di fruizione');
  await mario.getByLabel("Messaggio per l'erogatore", { exact: true }).fill(NOTE);
  await mario.getByRole('button', { name: 'Inoltra richiesta', exact: true }).click();
  await heading(mario, 'Gestisci richiesta di fruizione');
  state = await stateShown(mario);
  expect('the new request waits for the producer', state === 'in attesa di approvazione', state);
  await audit(mario, 'richiesta duplicata e inoltrata');

  // --- 4) The producer verifies the attribute and activates the request.
  step = 'Verifica attributo → Attiva';
  await sidebar(laura, 'Richieste ricevute');
  await heading(laura, 'Richieste di fruizione ricevute');
  await openRow(laura, [ES.name, 'Comune di Prova', 'in attesa di approvazione']);
  await see(laura, NOTE);
  await laura.getByRole('button', { name: `Verifica attributo «${opts.attribute}»`, exact: true }).click();
  await laura.waitForLoadState();
  done = await noticeShown(laura);
  expect('the attribute is said to be verified', done.toLowerCase().includes('verificato'), done);
  await shot(laura, '12-attributo-verificato');
  await laura.getByRole('button', { name: 'Attiva', exact: true }).click();
  await laura.waitForLoadState();
  state = await stateShown(laura);
  expect('the request is attivo', state === 'attivo', state);
  await shot(laura, '13-richiesta-attivata');

  // --- 5) A finalità over the threshold: waits; the producer approves it.
  const calls = '500';
  step = `Mario crea una finalità di ${calls} chiamate/giorno`;
  await sidebar(mario, 'Finalità inoltrate');
  await heading(mario, 'Le mie finalità inoltrate');
  await walk.createPurpose(
    mario,
    { eservice: ES.name, title: 'Verifica della residenza', description: 'Verifica della residenza dei cittadini che chiedono un servizio', calls },
    () => audit(mario, 'finalità, informazioni generali'),
  );
  await walk.fillRiskAnalysis(mario, () => audit(mario, 'analisi del rischio'));
  await mario.getByRole('button', { name: 'Vai al riepilogo', exact: true }).click();
  await heading(mario, 'Riepilogo');
  await mario.getByRole('button', { name: 'Pubblica', exact: true }).click();
  await heading(mario, 'Verifica della residenza');
  state = await stateShown(mario);
  expect('the finalità waits for approval', state === 'In attesa di approvazione', state);
  await shot(mario, '14-finalita-in-attesa');

  step = 'Finalità ricevute → Approva';
  await sidebar(laura, 'Finalità ricevute');
  await heading(laura, 'Finalità ricevute');
  await openRow(laura, ['Verifica della residenza']);
  await heading(laura, 'Verifica della residenza');
  await see(laura, ES.perConsumer);
  await shot(laura, '15-finalita-ricevuta');
  await laura.getByRole('button', { name: 'Approva', exact: true }).click();
  await laura.waitForLoadState();
  state = await stateShown(laura);
  expect('the finalità is active', state.toLowerCase() === 'attivo', state);
  await shot(laura, '16-finalita-approvata');

  step = 'Il mio ente';
  for (const [p, ente] of [[laura, 'PagoPA S.p.A.'], [mario, 'Comune di Prova']]) {
    await sidebar(p, 'Anagrafica e attributi');
    await heading(p, 'Anagrafica e attributi');
    await see(p, ente);
    await audit(p, `anagrafica di ${ente}`);
  }
  await see(mario, opts.attribute);

  // --- 6) The consumer's client, its key, the finalità, the voucher.
  step = 'Mario: client e-service con la chiave e la finalità';
  await sidebar(mario, 'API e-service');
  await heading(mario, 'I miei client API e-service');
  await mario.getByRole('link', { name: 'Crea nuovo', exact: true }).click();
  await heading(mario, 'Crea nuovo client');
  const CLIENT = 'Client anagrafe del Comune';
  await mario.getByLabel('Nome del client (richiesto)', { exact: true }).fill(CLIENT);
  await mario.getByLabel('Descrizione del client (richiesto)', { exact: true }).fill("Ottiene i voucher per l'anagrafe dei residenti");
  await tick(mario, 'Mario Rossi (tu)');
  await mario.getByRole('button', { name: 'Crea', exact: true }).click();
  await heading(mario, CLIENT);
  const clientId = await codeFor(mario.locator('main'), 'ID del client (clientId)');
  await mario.getByRole('link', { name: 'Chiavi pubbliche', exact: true }).click();
  await heading(mario, 'Chiavi pubbliche');
  await mario.getByRole('link', { name: 'Aggiungi', exact: true }).click();
  await heading(mario, 'Inserisci nuova chiave pubblica');
  const pair = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  await mario.getByLabel('Nome della chiave (richiesto)', { exact: true }).fill('Chiave anagrafe');
  await mario.getByLabel('Chiave pubblica (richiesto)', { exact: true }).fill(pair.publicKey);
  await mario.getByRole('button', { name: 'Inserisci', exact: true }).click();
  await heading(mario, 'Chiave anagrafe');
  const kid = await codeFor(mario.locator('main'), 'ID della chiave (kid)');
  expect('the kid is the RFC 7638 thumbprint', kid === thumbprint(pair.publicKey), kid);
  await mario.getByRole('navigation', { name: 'Percorso' }).getByRole('link', { name: CLIENT, exact: true }).click();
  await heading(mario, CLIENT);
  await mario.getByRole('link', { name: 'Finalità', exact: true }).click();
  await heading(mario, 'Finalità');
  await mario.getByLabel('Associa una finalità attiva', { exact: true }).selectOption({ label: 'Verifica della residenza' });
  await mario.getByRole('button', { name: 'Aggiungi', exact: true }).click();
  await heading(mario, CLIENT);
  done = await noticeShown(mario);
  expect('the finalità is attached', done === 'Finalità associata al client.', done);

  step = "Simula l'ottenimento del voucher";
  await mario.getByRole('link', { name: "Simula l'ottenimento del voucher", exact: true }).click();
  await heading(mario, 'Selezione parametri');
  const params = mario.locator('main [data-testid="parametri"]');
  const sim = { clientId: await codeFor(params, 'clientId'), purposeId: await codeFor(params, 'purposeId') };
  expect('the simulator has the client', sim.clientId === clientId, sim);
  expect('nothing blocks the voucher', (await mario.locator('main [data-testid="bloccanti"]').count()) === 0, 'bloccanti shown');
  await mario.getByRole('link', { name: 'Avanti', exact: true }).click();
  await heading(mario, 'Genera client assertion');
  const stepOne = mario.locator('main [data-testid="passo-1"]');
  sim.kid = await codeFor(stepOne, 'KID');
  sim.aud = await codeFor(stepOne, 'AUD');
  await mario.getByRole('link', { name: 'Avanti', exact: true }).click();
  await heading(mario, 'Ottieni token di accesso');
  sim.tokenUrl = await codeFor(mario.locator('main [data-testid="passo-2"]'), 'Token endpoint');
  await shot(mario, '17-simulatore-token');

  step = 'il voucher con PyJWT';
  const voucher = voucherWithPyJwt(
    {
      'token-url': sim.tokenUrl,
      kid: sim.kid,
      'client-id': sim.clientId,
      aud: sim.aud,
      'purpose-id': sim.purposeId,
      'jwks-url': opts['jwks-url'],
      'expect-iss': opts['voucher-iss'],
      'expect-aud': ES.audience,
    },
    pair.privateKey,
  );
  expect('PyJWT verified the voucher', voucher.ok === true && voucher.claims.purposeId === sim.purposeId, voucher);
  console.log(`VOUCHER ${JSON.stringify({ ...sim, voucher })}`);

  step = 'ogni pagina controllata da axe';
  // Pages shown between the steps' own audits (after an action, a list) are
  // audited again now, at their address (all GETs, safe to load twice).
  for (const a of auditors) {
    for (const u of a.unaudited()) {
      if (/\/selfcare\/enti\/[^/]+\/interoperabilita(\?|$)/.test(new URL(u).pathname + new URL(u).search)) continue;
      if (/\/(pubblica|rifiuta|attiva|verifica|approva|inoltra|duplica)$/.test(new URL(u).pathname)) continue;
      await a.page.goto(u);
      await a.audit(`di nuovo: ${new URL(u).pathname}`);
      // Where it led now (e.g. a page after an action, or a login already done).
      a.auditedUrls.add(u);
    }
  }
  for (const a of auditors) {
    const missed = a.unaudited().filter((u) => !/\/selfcare\/enti\/[^/]+\/interoperabilita(\?|$)/.test(new URL(u).pathname + new URL(u).search));
    expect('axe ran on every page the walk was shown', missed.length === 0, missed);
    a.assertClean();
  }
  console.log(`axe: ${auditors.reduce((n, a) => n + a.audited, 0)} pages audited, none with serious or critical violations`);
  console.log('WALK OK');
} catch (e) {
  console.error(`WALK FAILED at step «${step}»: ${e.message}`);
  for (const a of auditors) {
    const main = await a.page.locator('main').innerText().catch(() => '(no main)');
    console.error(`--- ${a.page.url()}\n${main.slice(0, 3000)}`);
  }
  process.exitCode = 1;
} finally {
  await browser.close();
}
