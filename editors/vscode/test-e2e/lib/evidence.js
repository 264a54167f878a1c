// What a failing step leaves in the log folder: a screenshot of the
// workbench and a short text dump (the visible text, notifications, notebook
// output frames), named after the step.

'use strict';

const fs = require('node:fs');
const path = require('node:path');

let counter = 0;

function fileName(name) {
  counter += 1;
  return `${String(counter).padStart(2, '0')}-${name.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60)}`;
}

/** Saves `<n>-<name>.png` and `<n>-<name>.txt` into `logs`; never throws. */
async function capture(workbench, logs, name, error) {
  const base = path.join(logs, fileName(name));
  try {
    await workbench.page.screenshot({ path: `${base}.png`, timeout: 10_000 });
  } catch (err) {
    fs.writeFileSync(`${base}.png.error.txt`, String(err));
  }
  const parts = [`step: ${name}`, `error: ${error?.stack ?? error}`, ''];
  try {
    parts.push('== notifications', ...(await workbench.notifications()), '');
    parts.push('== notebook output frames', ...(await workbench.webviewTexts()).map((t) => t.slice(0, 2000)), '');
    const text = await workbench.page.evaluate(() => document.body.innerText);
    parts.push('== workbench text', text.slice(0, 20_000));
  } catch (err) {
    parts.push(`(could not read the page: ${err})`);
  }
  fs.writeFileSync(`${base}.txt`, parts.join('\n') + '\n');
  return base;
}

module.exports = { capture };
