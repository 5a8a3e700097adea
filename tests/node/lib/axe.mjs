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
  constructor(page) {
    this.page = page;
    this.problems = [];
    this.audited = 0;
    // Every document the tab loads, in order, and the addresses audited.
    this.documents = [];
    this.auditedUrls = new Set();
    page.on('load', () => this.documents.push(page.url()));
  }

  /** Runs axe on the page as shown now; `where` names the step. */
  async audit(where) {
    const page = this.page;
    await page.waitForLoadState('load');
    if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
      await page.addScriptTag({ path: AXE_PATH });
    }
    const result = await page.evaluate(() => window.axe.run());
    const url = page.url();
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
