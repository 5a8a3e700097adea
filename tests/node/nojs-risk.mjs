// The risk analysis without JavaScript, in headless Chromium with scripts disabled
// (a context with `javaScriptEnabled: false`), against a running Varco where Comune
// di Prova already has an active richiesta di fruizione on SEND - UAT (the Rust test
// makes it). Maria Bianchi, Amministratore of Comune di Prova, logs in, enters
// Collaudo (the hand-over does not submit itself: she presses "Continua"), and in
// Finalità inoltrate fills a finalità's risk analysis in steps: each "Aggiorna"
// posts the form and the page comes back with the questions that now apply and the
// answers already given; then Riepilogo and "Pubblica": attivo.
// Like seed-walk.mjs it does only what a person can (lib/person.mjs), and axe-core
// checks every page shown (lib/axe.mjs: axe cannot run where scripts are off, so
// each page as shown is copied into a twin page with scripts on and audited there). Prints NOJS OK at the end; any failure exits non-zero.
//
// usage: node nojs-risk.mjs --base http://127.0.0.1:PORT
import { parseArgs } from 'node:util';
import { launch } from './lib/browser.mjs';
import { Auditor, twinContext } from './lib/axe.mjs';
import { heading, isTickedIn, see, shownText, sidebar, tick, tickIn } from './lib/person.mjs';

const { values: opts } = parseArgs({ options: { base: { type: 'string' } } });
if (!opts.base) {
  console.error('usage: node nojs-risk.mjs --base URL');
  process.exit(2);
}

const SEND = 'SEND - UAT (Piattaforma Notifiche)';
const Q = {
  purpose: "Finalità dell'accesso ai dati*",
  institutional: 'Descrivi la finalità istituzionale*',
  other: 'Descrivi la finalità*',
  personal: 'Accedi a dati personali?*',
  thirdParty: 'Accedi a dati non personali riferiti a terzi?*',
  confidential: 'Questi dati sono riservati o confidenziali?*',
  onBehalf: "Usi l'e-service anche per conto di terzi?*",
};
const OTHER_TEXT = 'Invio di notifiche digitali per conto del Comune';
let step = 'start';

function expect(what, ok, shown) {
  if (!ok) throw new Error(`${what}; the page shows: ${JSON.stringify(shown)}`);
}

const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'it-IT', javaScriptEnabled: false });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const auditor = new Auditor(page, { twin: await (await twinContext(browser)).newPage() });
  const audit = (where) => auditor.audit(where ?? step);
  const shows = async (label) => (await page.getByLabel(label, { exact: true }).filter({ visible: true }).count()) > 0;
  const group = (name) => page.getByRole('group', { name, exact: true }).filter({ visible: true });
  const aggiorna = async () => {
    await page.getByRole('button', { name: 'Aggiorna', exact: true }).click();
    await page.waitForLoadState('load');
    await heading(page, 'Analisi del rischio');
    await audit();
  };

  step = 'Maria Bianchi entra in Collaudo';
  await page.goto(`${opts.base}/selfcare/login`);
  await heading(page, "Come vuoi accedere all'Area Riservata?");
  await audit('login');
  await page.getByRole('button', { name: 'Entra come Maria Bianchi' }).click();
  await heading(page, 'Seleziona il tuo ente');
  await audit('enti');
  await page.getByRole('link', { name: 'Accedi a Comune di Prova' }).click();
  await heading(page, 'I tuoi prodotti');
  await audit('panoramica');
  await page
    .locator('.card')
    .filter({ has: page.getByRole('heading', { name: 'Interoperabilità', exact: true }) })
    .getByRole('link', { name: 'Gestisci' })
    .click();
  await page.getByRole('group', { name: 'In quale ambiente vuoi entrare?' }).waitFor({ state: 'visible' });
  await audit('in quale ambiente');
  await tick(page, 'Ambiente di Collaudo');
  await page.getByRole('button', { name: 'Entra' }).click();
  // Without JavaScript the hand-over waits for the person: proof that scripts are off.
  await see(page, 'Stai entrando in Interoperabilità, ambiente Collaudo');
  await audit('hand-over');
  await page.getByRole('button', { name: 'Continua', exact: true }).click();
  await heading(page, 'Interoperabilità – ambiente Collaudo');
  await heading(page, 'Benvenuto, Maria Bianchi');
  await audit('Collaudo');

  step = 'Finalità inoltrate → Crea nuovo → Informazioni generali';
  await sidebar(page, 'Finalità inoltrate');
  await heading(page, 'Le mie finalità inoltrate');
  await audit();
  await page.getByRole('link', { name: 'Crea nuovo', exact: true }).click();
  await heading(page, 'Crea finalità');
  await audit();
  await page.getByLabel('Nome della finalità*', { exact: true }).fill('Notifiche senza JavaScript');
  await page.getByLabel('Descrizione finalità*', { exact: true }).fill('Invio di notifiche digitali compilato senza JavaScript');
  await page.getByLabel('E-service da associare*', { exact: true }).selectOption({ label: SEND });
  await page.getByLabel('Stima numero chiamate API/giorno*', { exact: true }).fill('500');
  await tickIn(page, "Come metterai a disposizione l'accesso ai dati di questo e-service?*", 'A pagamento');
  await page.getByRole('button', { name: 'Salva bozza e prosegui', exact: true }).click();
  await heading(page, 'Analisi del rischio');
  await audit('Analisi del rischio');

  step = 'Analisi del rischio, passo 1: Altra finalità, Aggiorna';
  expect('at first the institutional purpose is asked, not the other', (await shows(Q.institutional)) && !(await shows(Q.other)), 'other shown');
  await tickIn(page, Q.purpose, 'Altra finalità');
  // No script redraws the form: the dependent question needs "Aggiorna".
  expect('without JavaScript nothing changes before «Aggiorna»', !(await shows(Q.other)), 'shown at once');
  await tickIn(page, Q.onBehalf, 'No');
  await aggiorna();
  expect('«Aggiorna» reveals «Descrivi la finalità»', await shows(Q.other), 'not shown');
  expect('«Aggiorna» drops the institutional question', !(await shows(Q.institutional)), 'still shown');
  expect('«Altra finalità» is still ticked', await isTickedIn(page, Q.purpose, 'Altra finalità'), 'not ticked');
  expect('«No» for third parties is still ticked', await isTickedIn(page, Q.onBehalf, 'No'), 'not ticked');

  step = 'Analisi del rischio, passo 2: dati di terzi, Aggiorna';
  await page.getByLabel(Q.other, { exact: true }).fill(OTHER_TEXT);
  expect('the question on confidential data is not asked yet', (await group(Q.confidential).count()) === 0, 'shown');
  await tickIn(page, Q.thirdParty, 'Sì');
  await aggiorna();
  await group(Q.confidential).waitFor({ state: 'visible' });
  const kept = await page.getByLabel(Q.other, { exact: true }).inputValue();
  expect('the text written stays after «Aggiorna»', kept === OTHER_TEXT, kept);
  const ticks = {
    purpose: await isTickedIn(page, Q.purpose, 'Altra finalità'),
    personal: await isTickedIn(page, Q.personal, 'No'),
    thirdParty: await isTickedIn(page, Q.thirdParty, 'Sì'),
    onBehalf: await isTickedIn(page, Q.onBehalf, 'No'),
  };
  expect('every answer given stays ticked after «Aggiorna»', Object.values(ticks).every(Boolean), ticks);
  await tickIn(page, Q.confidential, 'No');

  step = 'Vai al riepilogo';
  await page.getByRole('button', { name: 'Vai al riepilogo', exact: true }).click();
  await heading(page, 'Riepilogo');
  await audit();
  const risk = page.getByRole('region', { name: 'Analisi del rischio' });
  const answers = {
    purpose: await shownText(risk.locator(`dt:text-is("Finalità dell'accesso ai dati") + dd`)),
    other: await shownText(risk.locator('dt:text-is("Descrivi la finalità") + dd')),
    thirdParty: await shownText(risk.locator('dt:text-is("Accedi a dati non personali riferiti a terzi?") + dd')),
  };
  expect(
    'the Riepilogo shows the answers given in steps',
    answers.purpose === 'Altra finalità' && answers.other === OTHER_TEXT && answers.thirdParty === 'Sì',
    answers,
  );

  step = 'Pubblica';
  await page.getByRole('button', { name: 'Pubblica', exact: true }).click();
  await heading(page, 'Notifiche senza JavaScript');
  const state = await shownText(page.locator('main [data-testid="stato"]'));
  expect('the finalità is Attivo', state === 'Attivo', state);
  await see(page, 'La finalità è stata pubblicata ed è attiva.');
  await audit();

  step = 'ogni pagina controllata da axe';
  const missed = auditor.unaudited();
  expect('axe ran on every page shown', missed.length === 0, missed);
  auditor.assertClean();
  console.log(`axe: ${auditor.audited} pages audited, none with serious or critical violations`);
  console.log('NOJS OK');
} catch (e) {
  console.error(`NOJS FAILED at step «${step}»: ${e.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
