// What a user does in the workbench and what they read there, through
// playwright-core: the command palette, Quick Open, CodeLens links, the text
// drawn after a line, notifications, the Problems panel, the editor title
// bar. Reads come from the DOM a person looks at; every wait has a deadline
// and says what it waited for and what it saw last.

'use strict';

const { until } = require('./wait');

/** The text an `after` decoration draws: a `::after` pseudo-element's CSS `content`. */
function cssContent(value) {
  if (!value || value === 'none' || value === 'normal' || value[0] !== '"') return '';
  return value.slice(1, -1).replace(/\\(.)/g, '$1');
}

class Workbench {
  /** `marks` collects every non-ASCII character read after a line: what the user saw drawn. */
  constructor(page, url, marks = new Set()) {
    this.page = page;
    this.url = url;
    this.marks = marks;
  }

  /** Opens the folder in the workbench and waits for it to be drawn. */
  async openFolder(folder) {
    await this.page.goto(`${this.url}/?folder=${encodeURIComponent(folder)}`);
    await this.page.locator('.monaco-workbench .part.statusbar').waitFor({ timeout: 60_000 });
    await this.page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 30_000 });
  }

  /** Runs a command by its title, through the command palette (F1). */
  async command(title) {
    await this.quickPick('F1', `>${title}`, title, `the command "${title}" in the palette`);
  }

  /**
   * Opens a quick input with `key`, types `text`, clicks the row `label`. A
   * quick input that lost the focus while opening (an editor or a
   * notification took it) closes again: then it is opened anew, three times
   * at most.
   */
  async quickPick(key, text, label, what) {
    const page = this.page;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.closeQuickInput();
        await page.keyboard.press(key);
        await page.locator('.quick-input-widget .quick-input-box input').fill(text, { timeout: 5000 });
        await this.pick(label, what);
        break;
      } catch (err) {
        if (attempt === 3) throw err;
      }
    }
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => undefined);
  }

  /** Clicks the Quick Open / palette row labelled exactly `label`. */
  async pick(label, what) {
    const rows = this.page.locator('.quick-input-list .monaco-list-row');
    const widget = this.page.locator('.quick-input-widget');
    const labels = async () => {
      if (!(await widget.isVisible())) throw new Error(`the quick input closed while waiting for ${what}`);
      return rows.evaluateAll((all) => all.map((r) => r.querySelector('.label-name')?.textContent ?? ''));
    };
    await until(what, labels, (shown) => shown.includes(label), 20_000);
    // The list may still change (more results come): click the row by its label, not its index.
    await rows.filter({ has: this.page.locator('.label-name', { hasText: new RegExp(`^${escape(label)}$`) }) }).first().click();
  }

  async closeQuickInput() {
    if (await this.page.locator('.quick-input-widget').isVisible()) await this.page.keyboard.press('Escape');
  }

  /** Opens a file of the workspace by name with Quick Open (Ctrl+P) and waits for its editor. */
  async openFile(relativePath) {
    const name = relativePath.split('/').pop();
    await this.quickPick('Control+P', relativePath, name, `${relativePath} in Quick Open`);
    await this.page.locator(`.editor-group-container.active .tab.active[data-resource-name="${name}"]`).waitFor({ timeout: 20_000 });
  }

  /** The editor (a `.monaco-editor`) showing the document whose URI ends with `suffix`. */
  editor(suffix) {
    return this.page.locator(`.monaco-editor[data-uri$="${suffix}"]`).first();
  }

  /** The visible lines of an editor: the code, and the text drawn after it. */
  async lines(suffix) {
    return this.editor(suffix).evaluate((root) =>
      [...root.querySelectorAll('.view-lines .view-line')]
        .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
        .map((line) => ({
          text: line.textContent.replace(/\u00a0/g, ' '),
          after: [...line.querySelectorAll('span')].map((span) => getComputedStyle(span, '::after').content),
        })),
    ).then((lines) => lines.map((l) => ({ text: l.text, after: this.noteMarks(l.after.map(cssContent).join('')) })));
  }

  noteMarks(text) {
    for (const ch of text) if (ch.charCodeAt(0) > 0x7f) this.marks.add(ch);
    return text;
  }

  /** Reloads the window (Developer: Reload Window) and waits for the new workbench. */
  async reload() {
    const page = this.page;
    await page.evaluate(() => (window.subcellBeforeReload = true));
    await this.command('Developer: Reload Window');
    await until('the reloaded workbench', () => page.evaluate(() => !window.subcellBeforeReload && !!document.querySelector('.monaco-workbench .part.statusbar')).catch(() => false), (ready) => ready, 60_000);
    await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 30_000 });
  }

  /**
   * Samples, every 10 ms in the page, the text after the line `code` and
   * whether the title bar shows the button `label`; `stop()` returns the
   * changes as { t (ms), text, button }.
   */
  async record(suffix, code, label) {
    await this.editor(suffix).evaluate((root, { code, label }) => {
      const content = (v) => (v && v[0] === '"' ? v.slice(1, -1).replace(/\\(.)/g, '$1') : '');
      const t0 = performance.now();
      const samples = [];
      const sample = () => {
        const line = [...root.querySelectorAll('.view-lines .view-line')].find((l) => l.textContent.replace(/\u00a0/g, ' ').trim() === code);
        const text = line ? [...line.querySelectorAll('span')].map((s) => content(getComputedStyle(s, '::after').content)).join('') : '';
        const button = !!document.querySelector(`.editor-group-container.active .editor-actions a.action-label[aria-label^="${label}"]`);
        const last = samples[samples.length - 1];
        if (!last || last.text !== text || last.button !== button) samples.push({ t: Math.round(performance.now() - t0), text, button });
      };
      window.subcellRecorder = { samples, timer: setInterval(sample, 10) };
    }, { code, label });
    return {
      stop: async () => {
        const samples = await this.page.evaluate(() => {
          clearInterval(window.subcellRecorder.timer);
          return window.subcellRecorder.samples;
        });
        for (const s of samples) this.noteMarks(s.text);
        return samples;
      },
    };
  }

  /**
   * Whether each character has a glyph in the fonts the editor uses: drawn
   * on a canvas in the editor's font, it must differ from U+10FFFD, a
   * private-use code point no font has (drawn as the empty box).
   */
  async glyphs(suffix, chars) {
    return this.editor(suffix).evaluate((root, chars) => {
      const style = getComputedStyle(root.querySelector('.view-lines'));
      const canvas = document.createElement('canvas');
      canvas.width = 64;
      canvas.height = 64;
      const ctx = canvas.getContext('2d', { willReadFrequently: true });
      const draw = (ch) => {
        ctx.clearRect(0, 0, 64, 64);
        ctx.font = `${style.fontSize} ${style.fontFamily}`;
        ctx.fillStyle = '#000';
        ctx.textBaseline = 'top';
        ctx.fillText(ch, 8, 8);
        return ctx.getImageData(0, 0, 64, 64).data.join(',');
      };
      const box = draw('\u{10FFFD}');
      return chars.map((char) => ({ char, missing: draw(char) === box }));
    }, chars);
  }

  /** The text drawn after the line whose code (trimmed) is `code`; '' when none. */
  async after(suffix, code) {
    const line = (await this.lines(suffix)).find((l) => l.text.trim() === code);
    if (!line) throw new Error(`no visible line "${code}" in ${suffix}`);
    return line.after;
  }

  /** Waits until the text after the line `code` matches `pattern`; returns it. */
  async waitForAfter(suffix, code, pattern, timeoutMs = 20_000) {
    return until(`the text after "${code}" to match ${pattern}`, () => this.after(suffix, code).catch(() => ''), (text) => pattern.test(text), timeoutMs);
  }

  /**
   * Clicks a CodeLens (e.g. "Run Cell") of the cell whose marker line is
   * `marker`. VS Code redraws lenses now and then (new ids): a link that went
   * away before the click is looked up again.
   */
  async clickLens(suffix, marker, label) {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const id = await this.lensId(suffix, marker, label, Math.max(1000, deadline - Date.now()));
      try {
        await this.editor(suffix).locator(`.codelens-decoration a[id="${id}"]`).click({ timeout: 2000 });
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
      }
    }
  }

  /** Clicks the lens, then waits for the text after `code` to change and match `pattern`. */
  async runLens(suffix, marker, label, code, pattern, timeoutMs = 20_000) {
    const before = await this.after(suffix, code).catch(() => '');
    await this.clickLens(suffix, marker, label);
    return until(`the text after "${code}" to change from ${JSON.stringify(before)} and match ${pattern}`, () => this.after(suffix, code).catch(() => ''), (t) => t !== before && pattern.test(t), timeoutMs);
  }

  async lensId(suffix, marker, label, timeoutMs) {
    const editor = this.editor(suffix);
    return until(`the "${label}" lens above "${marker}"`, () => editor.evaluate((root, { marker, label }) => {
      const line = [...root.querySelectorAll('.view-lines .view-line')].find((l) => l.textContent.replace(/\u00a0/g, ' ').trim() === marker);
      if (!line) return undefined;
      const top = parseFloat(line.style.top);
      // The lens row is a view zone right above the marker line.
      const lenses = [...root.querySelectorAll('.codelens-decoration')].filter((lens) => parseFloat(lens.style.top) < top);
      lenses.sort((a, b) => parseFloat(b.style.top) - parseFloat(a.style.top));
      const link = lenses[0] && [...lenses[0].querySelectorAll('a')].find((a) => a.textContent.trim() === label);
      return link?.id;
    }, { marker, label }), (found) => !!found, timeoutMs);
  }

  /** Puts the cursor at the end of the line whose code is `code`. */
  async clickLine(suffix, code) {
    const line = this.editor(suffix).locator('.view-lines .view-line').filter({ hasText: new RegExp(`^\\s*${escape(code).replace(/ /g, '\\s')}\\s*$`) }).first();
    await line.click();
    await this.page.keyboard.press('End');
  }

  /**
   * Sets a setting the way a user does: Preferences: Open User Settings, the
   * setting's name in the search box, its input in the User tab. Leaves the
   * Settings editor open.
   */
  async setUserSetting(id, value) {
    await this.command('Preferences: Open User Settings');
    const search = this.page.locator('.settings-editor textarea[aria-label^="Search settings"]').first();
    await search.focus();
    await this.page.keyboard.press('Control+A');
    await this.page.keyboard.type(id);
    const input = this.page.locator(`.settings-editor input[aria-label="${id}"]`).first();
    await input.waitFor({ timeout: 20_000 });
    await input.fill(value);
    await input.press('Tab');
  }

  /** The editor title bar button with this label (e.g. "Interrupt"), as a locator. */
  titleAction(label) {
    return this.page.locator(`.editor-group-container.active .editor-actions a.action-label[aria-label^="${label}"]`);
  }

  /** The text of every notification toast on screen. */
  async notifications() {
    return this.page.locator('.notifications-toasts .notification-toast .notification-list-item-message').allInnerTexts();
  }

  /** Waits for a notification matching `pattern`; returns its toast (a locator). */
  async waitForNotification(pattern, timeoutMs = 20_000) {
    await until(`a notification matching ${pattern}`, () => this.notifications(), (texts) => texts.some((t) => pattern.test(t)), timeoutMs);
    return this.page.locator('.notifications-toasts .notification-toast', { has: this.page.locator('.notification-list-item-message', { hasText: pattern }) }).first();
  }

  /** Clicks a button of a notification (e.g. "Restart Server"). */
  async clickNotificationButton(toast, label) {
    await toast.locator('.monaco-button', { hasText: label }).first().click();
  }

  async clearNotifications() {
    await this.command('Notifications: Clear All Notifications');
  }

  /** The visible notebook's cells, as locators. */
  notebookCells() {
    return this.page.locator('.notebook-editor:visible .monaco-list-row');
  }

  /** Runs the notebook cell `index` with its execute button. */
  async runNotebookCell(index) {
    const cell = this.notebookCells().nth(index);
    await cell.hover();
    await cell.locator('a.codicon-notebook-execute').click();
  }

  /** Opens a notebook and waits for its subcell kernel. */
  async openNotebook(name) {
    await this.openFile(name);
    await this.page.locator('.kernel-label', { hasText: 'subcell' }).first().waitFor();
  }

  /** Moves the mouse over column `column` (0-based) of the line whose code is `code`. */
  async hoverAt(suffix, code, column) {
    const box = await this.editor(suffix).evaluate((root, code) => {
      const line = [...root.querySelectorAll('.view-lines .view-line')].find((l) => l.textContent.replace(/\u00a0/g, ' ').trim() === code);
      const text = line?.firstElementChild;
      if (!text) return undefined;
      const rect = text.getBoundingClientRect();
      return { left: rect.left, top: rect.top, height: rect.height, charWidth: rect.width / text.textContent.length };
    }, code);
    if (!box) throw new Error(`no visible line "${code}" in ${suffix}`);
    await this.page.mouse.move(box.left + box.charWidth * (column + 0.5), box.top + box.height / 2);
  }

  /** The text of the hover widget on screen ('' when none). */
  async hoverText() {
    const hover = this.page.locator('.monaco-hover:not(.hidden)').first();
    return (await hover.isVisible().catch(() => false)) ? hover.innerText() : '';
  }

  /** The rows of the Problems panel, as text (message, source, [Ln N, Col M]). */
  async problems() {
    return this.page.locator('.markers-panel .monaco-list-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('aria-label') || r.textContent));
  }

  /** Text of every frame whose body mentions `pattern` (notebook outputs live in webview frames). */
  async webviewTexts() {
    const texts = [];
    for (const frame of this.page.frames()) {
      if (!/\/webview\/browser\/pre\/fake\.html/.test(frame.url())) continue;
      const text = await frame.evaluate(() => document.body?.innerText ?? '').catch(() => '');
      if (text) texts.push(text);
    }
    return texts;
  }

  /** The pictures in notebook output frames and webview panels: their natural sizes and the start of their source. */
  async webviewImages() {
    const images = [];
    for (const frame of this.page.frames()) {
      if (!/\/webview\/browser\/pre\/fake\.html/.test(frame.url())) continue;
      const found = await frame.evaluate(() => [...document.querySelectorAll('img')].map((img) => ({ width: img.naturalWidth, height: img.naturalHeight, src: img.src.slice(0, 30) }))).catch(() => []);
      images.push(...found);
    }
    return images;
  }

  /** Waits until some notebook output frame shows text matching `pattern`; returns that text. */
  async waitForOutput(pattern, timeoutMs = 20_000) {
    const texts = await until(`a notebook output matching ${pattern}`, () => this.webviewTexts(), (all) => all.some((t) => pattern.test(t)), timeoutMs);
    return texts.find((t) => pattern.test(t));
  }
}

function escape(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

module.exports = { Workbench, escape };
