// What a person can do on a page, and only that: read what is shown, click what is
// shown. No `force`, no hidden fields: every helper waits for the element to be
// visible, and Playwright's own checks (visible, stable, enabled, not covered by
// something else) apply to every click.

/** Waits until some element showing `text` (a substring) is visible; returns it. */
export async function see(page, text, timeout) {
  const shown = page.getByText(text, { exact: false }).filter({ visible: true }).first();
  await shown.waitFor({ state: 'visible', timeout });
  return shown;
}

/** Waits until a heading with exactly this text is visible; returns it. */
export async function heading(page, name, timeout) {
  const h = page.getByRole('heading', { name, exact: true }).filter({ visible: true }).first();
  await h.waitFor({ state: 'visible', timeout });
  return h;
}

/** The visible text of `locator` (what `innerText` renders), trimmed. */
export async function shownText(locator) {
  await locator.waitFor({ state: 'visible' });
  return (await locator.innerText()).trim();
}

/**
 * Ticks the checkbox or radio button labelled `label` (exact text) as a person
 * does: by clicking its visible `<label for>` (bootstrap-italia draws the box on the
 * label and keeps the input itself transparent). The control must be enabled; if it
 * is not ticked yet, the label is clicked, and afterwards the control must be
 * ticked. A control already ticked (a form shown again after errors) is left as is,
 * but its label must still be visible.
 */
export async function tick(page, label) {
  const control = page.getByLabel(label, { exact: true });
  const id = await control.getAttribute('id');
  if (!id) throw new Error(`the control labelled «${label}» has no id for a <label for>`);
  const visibleLabel = page.locator(`label[for="${id}"]`).filter({ visible: true });
  await visibleLabel.waitFor({ state: 'visible' });
  if (!(await control.isEnabled())) throw new Error(`«${label}» is shown but cannot be ticked (disabled)`);
  if (!(await control.isChecked())) await visibleLabel.click();
  if (!(await control.isChecked())) throw new Error(`clicking «${label}» did not tick it`);
}

/**
 * Ticks the choice labelled `label` inside the group (fieldset) whose legend reads
 * `group` (exact text as shown, e.g. "Accedi a dati personali?*"): the same as
 * `tick`, for forms where several questions offer the same labels ("Sì", "No").
 */
export async function tickIn(page, group, label) {
  const fieldset = page.getByRole('group', { name: group, exact: true }).filter({ visible: true });
  await fieldset.waitFor({ state: 'visible' });
  const control = fieldset.getByLabel(label, { exact: true });
  const id = await control.getAttribute('id');
  if (!id) throw new Error(`the control «${label}» of «${group}» has no id for a <label for>`);
  const visibleLabel = fieldset.locator(`label[for="${id}"]`).filter({ visible: true });
  await visibleLabel.waitFor({ state: 'visible' });
  if (!(await control.isEnabled())) throw new Error(`«${label}» of «${group}» cannot be ticked (disabled)`);
  if (!(await control.isChecked())) await visibleLabel.click();
  if (!(await control.isChecked())) throw new Error(`clicking «${label}» of «${group}» did not tick it`);
}

/** Whether the choice labelled `label` in the group `group` is shown ticked. */
export async function isTickedIn(page, group, label) {
  const fieldset = page.getByRole('group', { name: group, exact: true }).filter({ visible: true });
  await fieldset.waitFor({ state: 'visible' });
  return fieldset.getByLabel(label, { exact: true }).isChecked();
}

/** Clicks the link `name` of the back office's sidebar ("Menu di Interoperabilità"). */
export async function sidebar(page, name) {
  const nav = page.getByRole('navigation', { name: 'Menu di Interoperabilità', exact: true });
  await nav.getByRole('link', { name, exact: true }).click();
}
