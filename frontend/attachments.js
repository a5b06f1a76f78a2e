// Attachments of case-report records: listing and downloading them, and uploading one with a
// progress bar.

import { fetchFile, gql, upload } from './api.js';
import { attempt, field, form, h, saveBlob, shortHash, status, table, when } from './dom.js';

/** A card to attach a file to one of `submissions` (latest versions). */
export function attachmentCard(submissions) {
  const target = h('select', { name: 'submission' }, submissions.map((s) => h('option', { value: s.id }, `${s.form} · ${s.visit}`)));
  const file = h('input', { type: 'file', name: 'file', id: 'attachment-file', required: true });
  const bar = h('progress', { max: 1, value: 0, id: 'upload-progress', 'aria-label': 'Upload progress' });
  const message = status('upload-message');
  return form(
    { class: 'card', id: 'attachment-form' },
    message,
    async () => {
      const chosen = file.files[0];
      const path = `/attachments?submissionId=${encodeURIComponent(target.value)}&fileName=${encodeURIComponent(chosen.name)}`;
      bar.value = 0;
      message.show(`Uploading ${chosen.name}…`);
      const stored = await upload(path, chosen, (share) => {
        bar.value = share;
      });
      bar.value = 1;
      message.show(`Stored ${stored.sizeBytes} bytes, SHA-256 ${stored.sha256} (ledger entry #${stored.ledgerSeq}).`, 'ok');
    },
    h('h3', {}, 'Attach a file'),
    h('p', { class: 'hint' }, 'Only the file’s SHA-256 goes on the ledger.'),
    field('Record', target),
    field('File', file),
    bar,
    h('button', { type: 'submit' }, 'Upload'),
    message,
  );
}

const ATTACHMENTS = `query($s: ID!) { attachments(submissionId: $s) { id fileName sizeBytes sha256 ledgerSeq createdAt } }`;

/** The files attached to each of `submissions`, each downloadable. */
export function attachmentsList(submissions) {
  const message = status('attachments-message');
  const body = h('div', {}, h('p', { class: 'hint' }, 'Loading…'));
  const download = (a) =>
    attempt(message, async () => {
      saveBlob(await fetchFile(`/attachments/${encodeURIComponent(a.id)}`), a.fileName);
      message.show(`Saved ${a.fileName}.`, 'ok');
    });
  Promise.all(submissions.map((s) => gql(ATTACHMENTS, { s: s.id }).then((d) => d.attachments.map((a) => [s, a]))))
    .then((lists) => {
      const rows = lists.flat();
      body.replaceChildren(
        rows.length
          ? table(
              'Files attached to the records',
              ['Record', 'File', 'Size', 'SHA-256', 'Ledger seq', 'Attached', ''],
              rows.map(([s, a]) => [
                `${s.form} · ${s.visit}`,
                a.fileName,
                `${a.sizeBytes} bytes`,
                shortHash(a.sha256),
                `#${a.ledgerSeq}`,
                when(a.createdAt),
                h('button', { type: 'button', class: 'secondary', id: `download-${a.id}`, onclick: () => download(a) }, 'Download'),
              ]),
            )
          : h('p', { class: 'hint' }, 'No files attached yet.'),
      );
    })
    .catch((err) => message.show(err.message, 'error'));
  return h('section', { class: 'card', id: 'attachments' }, h('h3', {}, 'Attached files'), body, message);
}
