// axe-core (pinned in ../package.json) run inside the page, on every page a walk
// shows. A violation of impact "serious" or "critical" fails the walk; each is
// reported with its rule id, impact, the target selectors of its nodes and the page
// (its URL and the walk's name for it). Milder impacts are printed, not fatal.
//
// The Auditor also notes the address of every document the tab loads, so that a
// walk can check at its end that it audited every page it was shown (`unaudited`).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
export const AXE_PATH = require.resolve('axe-core/axe.min.js');
export const FATAL = ['serious', 'critical'];

export class Auditor {
  /**
   * `twin`: for a page whose scripts are off (javaScriptEnabled: false), where axe
   * cannot run (its timers never fire), a page of a context with scripts on in
   * which each document shown is copied (its DOM as it is, with a <base> to the
   * same server for its styles) and audited; see `twinContext`.
   */
  constructor(page, { twin } = {}) {
    this.page = page;
    this.twin = twin;
    this.problems = [];
    this.audited = 0;
    // Every document the tab loads, in order, and the addresses audited.
    this.documents = [];
    this.auditedUrls = new Set();
    page.on('load', () => this.documents.push(page.url()));
  }

  /** Runs axe on the page as shown now; `where` names the step. */
  async audit(where) {
    await this.page.waitForLoadState('load');
    const url = this.page.url();
    let page = this.page;
    if (this.twin) {
      const html = (await page.content()).replace(/<head>/i, `<head><base href="${new URL(url).origin}/">`);
      page = this.twin;
      await page.setContent(html, { waitUntil: 'load' });
    }
    // Colours as drawn at rest: transitions (e.g. a button's, as its styles arrive) finished.
    await page.evaluate(() => Promise.all(document.getAnimations().map((a) => a.finished.catch(() => {}))));
    await page.addScriptTag({ path: AXE_PATH });
    const result = await page.evaluate(() => window.axe.run());
    this.audited += 1;
    this.auditedUrls.add(url);
    for (const v of result.violations) {
      const targets = v.nodes.map((n) => n.target.join(' ')).slice(0, 10);
      const line = `${v.id} (${v.impact}) at «${where}» ${new URL(url).pathname}${new URL(url).search}: ${targets.join(' | ')}${v.nodes.length > 10 ? ` … ${v.nodes.length} nodes` : ''}`;
      if (FATAL.includes(v.impact)) {
        this.problems.push(`${line}\n    ${v.help} (${v.helpUrl})`);
      } else {
        console.log(`axe, not fatal: ${line}`);
      }
    }
    console.log(`axe ${where}: ${result.violations.length} violation(s), ${result.passes.length} rules passed`);
  }

  /** The addresses loaded and never audited (e.g. a hand-over that submits itself). */
  unaudited() {
    return [...new Set(this.documents)].filter((u) => !this.auditedUrls.has(u));
  }

  /** Throws with every serious or critical violation found so far. */
  assertClean() {
    if (this.problems.length) {
      throw new Error(
        `axe-core found ${this.problems.length} serious or critical violation(s):\n  ${this.problems.join('\n  ')}`,
      );
    }
  }
}

/**
 * A context with scripts on for an Auditor's `twin`: the pages' own script
 * (varco.js, which would submit a hand-over) is not loaded in it, nothing else
 * leaves it but the styles and images of the server.
 */
export async function twinContext(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'it-IT' });
  await context.route('**/*.js', (route) => route.abort());
  return context;
}
